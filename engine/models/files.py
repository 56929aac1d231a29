"""A network of the user's own: ``path/to/file.py:ClassName`` or ``package.module:ClassName``,
built with ``model_args`` (a JSON object of constructor arguments). Any ``nn.Module`` that
maps (n, 1, 28, 28) normalised images to (n, classes) logits works.

Loading a file runs its code, as importing it would. A run records the file: a copy of its
source (``model.py`` in the run folder) and its SHA-256 in ``model.json``; reopened,
resumed or analysed later, the run builds its network from that copy, so the original may
change or move — a changed original is reported, never silently used. Checkpoints stay
weights only.

Code is trusted the way Jupyter trusts notebooks: a file the user named on this machine
(``train --model``, ``import --model``) has the SHA-256 of the run's copy written to the
home's ``trusted-code.json``; a run's copy whose hash is not there (a folder copied from a
colleague, unpacked from an archive, or edited) is never run until the user says so —
``mnist-tui trust RUN``, the app's dialog, or ``--trust-code`` for one command (which sets
``MNIST_TUI_TRUST_CODE=1`` for it and the processes it starts). The copy is hashed, then
imported by its path: whoever can rewrite files in the user's home between the two already
acts as the user, so that window is not guarded. Runs trained before trust was recorded ask
once.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.errors import SettingError, UserFacing

# After this long importing a model file, each listener is told its path once (the CLI says
# "importing FILE...", the app shows it): an import that never returns is not silent.
SLOW_IMPORT_SECONDS = 1.0
SLOW_IMPORT_LISTENERS: list[Callable[[Path], None]] = []

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
        # a file whose import does not return (a loop, a wait at import) is said, not silent
        timer = threading.Timer(SLOW_IMPORT_SECONDS, lambda: [tell(path) for tell in SLOW_IMPORT_LISTENERS])  # fmt: skip
        timer.daemon = True
        timer.start()
        try:
            loader_spec.loader.exec_module(module)
        except KeyboardInterrupt:  # Ctrl-C while it imports: nothing of it is kept
            sys.modules.pop(module_name, None)
            raise
        except (Exception, SystemExit) as error:  # the user's code: said in a line
            sys.modules.pop(module_name, None)
            raise ModelFileError(f"{path}: importing it raised {type(error).__name__}:"
                                 f" {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")) from None  # fmt: skip
        finally:
            timer.cancel()
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
    trust(home_of(run_dir), run_dir / SOURCE_COPY)  # the user named it here: it is theirs


def run_source_unchecked(run_dir: Path) -> Path:
    """The run's copy of its network's source, to read (not to run: see run_source)."""
    copy = run_dir / SOURCE_COPY
    if copy.is_symlink():
        why = "is a link, not the run's own copy (a link is never followed)"
    elif not copy.exists():
        why = "is missing"
    elif not copy.is_file():
        why = "is not a file"
    else:
        return copy
    raise ModelFileError(f"{run_dir.name}: its copy of the model's source ({SOURCE_COPY}) {why}")


def run_source(run_dir: Path) -> Path:
    """The run's copy of its network's source, once it is trusted (UntrustedCode if not:
    nothing of it has run)."""
    copy = run_source_unchecked(run_dir)
    digest = sha256(copy)
    if os.environ.get(TRUST_ENV) != "1" and not is_trusted(home_of(run_dir), digest):
        raise UntrustedCode(run_dir, copy, digest)
    return copy


# --- trust -------------------------------------------------------------------------------

TRUST_FILE = (
    "trusted-code.json"  # in the home: {sha256: {"file": where it was trusted, "at": when}}
)
TRUST_ENV = "MNIST_TUI_TRUST_CODE"  # "1": trust every run's code, for one command (--trust-code)


class UntrustedCode(ModelFileError):
    """A run's network is code that was not named on this machine; it is not run until the
    user trusts it. Carries the file and its first lines for a front end to show."""

    def __init__(self, run_dir: Path, path: Path, digest: str) -> None:
        self.run_id, self.path, self.digest = run_dir.name, path, digest
        super().__init__(
            f"run {run_dir.name} builds its network from code not written on this machine"
            f" ({path}); read it, then `mnist-tui trust {run_dir.name}` (or --trust-code for"
            " one command)"
        )

    def first_lines(self, count: int = 12) -> list[str]:
        try:
            with self.path.open(encoding="utf-8", errors="replace") as handle:
                return [line.rstrip("\n") for _, line in zip(range(count), handle, strict=False)]
        except OSError:
            return []


def untrusted(run_dir: Path, model: str) -> bool:
    """Whether the run's network (``model``, from its config) is code not yet trusted here
    (checked without running any of it)."""
    if not is_model_file(model):
        return False
    try:
        run_source(run_dir)
    except UntrustedCode:
        return True
    except ModelFileError:
        return False  # missing: said where it is loaded
    return False


def home_of(run_dir: Path) -> Path:
    """The home a run folder lives in (runs live in HOME/runs/ID)."""
    return run_dir.parent.parent


def _trusted_hashes(home: Path) -> dict:
    from engine.atomic import read_text_nofollow

    try:
        data = json.loads(read_text_nofollow(home / TRUST_FILE))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def is_trusted(home: Path, digest: str) -> bool:
    return digest in _trusted_hashes(home)


def trust(home: Path, path: Path) -> str:
    """Trust the code in ``path`` (its exact bytes) from now on in ``home``; its SHA-256."""
    from engine.atomic import write_json

    digest = sha256(path)
    hashes = _trusted_hashes(home)
    hashes[digest] = {
        "file": str(path.resolve()),
        "at": datetime.now().isoformat(timespec="seconds"),
    }
    write_json(home / TRUST_FILE, hashes)
    return digest


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
