"""A network of the user's own: ``path/to/file.py:ClassName`` or ``package.module:ClassName``,
built with ``model_args`` (a JSON object of constructor arguments). Any ``nn.Module`` that
maps (n, 1, 28, 28) normalised images to (n, classes) logits works.

Loading a file runs its code, as importing it would. A run records the file: a copy of its
source (``model.py`` in the run folder) and its SHA-256 in ``model.json``; reopened,
resumed or analysed later, the run builds its network from that copy, so the original may
change or move — a changed original is reported, never silently used. Checkpoints stay
weights only.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import SettingError, UserFacing

SPEC = re.compile(r"^(?P<where>[^:]+):(?P<name>[A-Za-z_][A-Za-z0-9_]*)$")
SOURCE_COPY = "model.py"
RECORD = "model.json"


class ModelFileError(UserFacing):
    """A user's model file that cannot be used: one line saying why."""


def is_model_file(spec: str) -> bool:
    return isinstance(spec, str) and SPEC.match(spec) is not None


def spec_problem(spec: str) -> str | None:
    """Why ``spec`` is not a model file spec, or None (the form of it only)."""
    if not SPEC.match(spec):
        return "a file or module, a colon, then the class: net.py:Net or my.models:Net"
    return None


def parse_args(text: str) -> dict[str, Any]:
    """``--model-args``: a JSON object (blank: none)."""
    problem = args_problem(text)
    if problem:
        raise SettingError(f"model_args: {text!r} is not a JSON object ({problem})")
    return json.loads(text) if text.strip() else {}


def args_problem(text: str) -> str | None:
    """Why ``text`` is not a JSON object of constructor arguments, or None."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        return error.msg
    if not isinstance(value, dict):
        return 'such as {"width": 64}'
    return None


@dataclass(frozen=True)
class ModelFile:
    where: str  # a .py file's absolute path, or a module's dotted name
    name: str  # the class

    @classmethod
    def of(cls, spec: str) -> ModelFile:
        match = SPEC.match(spec)
        if match is None:
            raise ModelFileError(f"{spec!r}: {spec_problem(spec)}")
        where = match["where"]
        if where.endswith(".py"):
            where = str(Path(where).expanduser().resolve())
        return cls(where, match["name"])

    @property
    def spec(self) -> str:
        return f"{self.where}:{self.name}"

    @property
    def is_path(self) -> bool:
        return self.where.endswith(".py")

    def source_path(self) -> Path:
        """The file that holds the class (a module's own file)."""
        if self.is_path:
            return Path(self.where)
        try:
            found = importlib.util.find_spec(self.where)
        except (ImportError, ValueError) as error:
            raise ModelFileError(f"{self.where}: cannot be found ({error})") from None
        if found is None or not found.origin or not found.origin.endswith(".py"):
            raise ModelFileError(f"{self.where}: no such module with a .py file")
        return Path(found.origin)

    def load_class(self, source: Path | None = None) -> type:
        """The class, from ``source`` (a run's copy) or from where the spec says."""
        path = source or self.source_path()
        if not path.is_file():
            raise ModelFileError(f"{path}: no such file")
        module_name = f"mnist_tui_user_model_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ModelFileError(f"{path}: cannot be loaded as Python")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        try:
            loader_spec.loader.exec_module(module)
        except Exception as error:  # the user's code: any error is theirs, said in a line
            sys.modules.pop(module_name, None)
            raise ModelFileError(f"{path}: importing it raised {type(error).__name__}:"
                                 f" {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")) from None  # fmt: skip
        found = getattr(module, self.name, None)
        if found is None:
            raise ModelFileError(f"{path}: defines no {self.name}")
        from torch import nn

        if not (isinstance(found, type) and issubclass(found, nn.Module)):
            raise ModelFileError(f"{path}: {self.name} is not a torch.nn.Module class")
        return found

    def build(self, args: dict[str, Any], source: Path | None = None):
        """An instance, checked to map (2, 1, 28, 28) images to (2, classes) logits."""
        import torch

        cls = self.load_class(source)
        try:
            model = cls(**args)
        except Exception as error:
            raise ModelFileError(f"{self.name}({', '.join(f'{k}=' for k in args)}...) raised"
                                 f" {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}") from None  # fmt: skip
        try:
            model.eval()
            with torch.no_grad():
                out = model(torch.zeros(2, 1, 28, 28))
        except Exception as error:
            raise ModelFileError(f"{self.name} cannot take (n, 1, 28, 28) images:"
                                 f" {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}") from None  # fmt: skip
        if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 2:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ModelFileError(
                f"{self.name} returns {shape} for 2 images, not (2, classes) logits"
            )
        if not list(model.parameters()):
            raise ModelFileError(f"{self.name} has no parameters to train")
        model.train()
        return model


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(run_dir: Path, spec: str, args: dict[str, Any]) -> None:
    """Keep the model's source and where it came from in the run folder (written by the
    caller's atomic helpers: here only inside ``run_dir``)."""
    from engine.atomic import write_bytes, write_json

    model_file = ModelFile.of(spec)
    source = model_file.source_path()
    text = source.read_text(encoding="utf-8")
    write_bytes(run_dir / SOURCE_COPY, text.encode("utf-8"))
    write_json(run_dir / RECORD, {"spec": model_file.spec, "source": str(source),
                                  "class": model_file.name, "sha256": sha256(source),
                                  "args": args})  # fmt: skip


def run_source(run_dir: Path) -> Path:
    copy = run_dir / SOURCE_COPY
    if copy.is_symlink() or not copy.is_file():
        raise ModelFileError(
            f"{run_dir.name}: its copy of the model's source ({SOURCE_COPY}) is missing"
        )
    return copy


def changed_since(run_dir: Path) -> str | None:
    """A sentence when the model file the run was trained from has changed or gone since
    (the run keeps using its own copy); None when it is as it was."""
    try:
        kept = json.loads((run_dir / RECORD).read_text(encoding="utf-8"))
        source = Path(kept["source"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not source.is_file():
        return f"{source} is gone; the run uses its own copy ({SOURCE_COPY})"
    if sha256(source) != kept.get("sha256"):
        return f"{source} has changed since the run was trained; the run uses its own copy ({SOURCE_COPY})"
    return None
