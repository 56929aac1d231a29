"""Checkpoints: tensors and plain data only, written atomically, read with
``torch.load(weights_only=True)`` and checked against the model they claim to hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.atomic import write_with
from engine.errors import CheckpointError
from engine.models.files import is_model_file, run_source
from engine.models.zoo import MODELS, build_model

__all__ = ["CheckpointError", "load_checkpoint", "load_model", "save_checkpoint"]


def weights_record(model_name: str, weights: dict, model_args: dict, **more: Any) -> dict:
    """What every checkpoint of a run holds (best.pt, last.pt, a snapshot, imported
    weights): the network's name, its weights and its arguments, then ``more``."""
    return {"model_name": model_name, "model": weights, "model_args": model_args, **more}


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (tensors, numbers, strings, lists, dicts) atomically. A write that
    fails (a full disk, the run folder deleted) leaves the file as it was and is one line:
    CheckpointError naming the file and the reason."""
    path = Path(path)
    if not path.parent.is_dir():
        raise CheckpointError(f"{path.parent} is gone (deleted while the run trained): stopping")
    try:
        write_with(path, lambda handle: torch.save(state, handle))
    except (OSError, RuntimeError) as error:  # torch wraps a failed write in a RuntimeError
        text = getattr(error, "strerror", None) or str(error).splitlines()[0]
        full = any(m in text.lower() for m in ("no space", "file write failed", "unexpected pos"))
        hint = " (is the disk full?)" if full else ""
        raise CheckpointError(
            f"cannot write {path.name}: {text[:120]}{hint}; the last one written is kept"
        ) from None


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a checkpoint without unpickling any code."""
    path = Path(path)
    if path.is_symlink():
        raise CheckpointError(f"{path}: is a symlink; run files are not followed outside the run")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        state = load_weights_only(path, device)
    except Exception as error:  # torch raises several kinds for a bad file
        raise CheckpointError(f"{path}: cannot be loaded ({load_problem(error)})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a checkpoint (holds a {type(state).__name__})")
    return state


def load_weights_only(path: Path, device: torch.device | str = "cpu"):
    """``torch.load(weights_only=True)``, without torch's warnings about the pickle protocol
    (a file it refuses is said once, by the caller, through load_problem)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.load(path, map_location=device, weights_only=True)


def load_problem(error: BaseException) -> str:
    """Why torch.load(weights_only=True) refused a file, in a few words (torch's own message
    is several sentences about its defaults)."""
    text = str(error)
    if "Weights only load failed" in text:
        return ("it holds Python objects, not only tensors; weights-only loading refuses them,"
                " so none of it ran")  # fmt: skip
    if isinstance(error, IsADirectoryError):
        return "a folder, not a file"
    return "not a file saved with torch.save (expected a dict of tensors, a state dict)"


def check_weights(path: Path, state: dict[str, Any], expected: str | None = None,
                  source: Path | None = None) -> nn.Module:  # fmt: skip
    """A fresh model of the checkpoint's architecture with its weights loaded; every
    mismatch (model name, missing or extra keys, shapes) is a CheckpointError naming ``path``."""
    name = state.get("model_name")
    if not isinstance(name, str) or not (name in MODELS or is_model_file(name)):
        raise CheckpointError(
            f"{path}: names no known model ({name!r}; known: {', '.join(MODELS)})"
        )
    if expected is not None and name != expected:
        raise CheckpointError(f"{path}: holds a {name}, but the run trains a {expected}")
    weights = state.get("model")
    if not isinstance(weights, dict):
        raise CheckpointError(f"{path}: holds no model weights")
    args = state.get("model_args") or {}
    if not isinstance(args, dict):
        raise CheckpointError(f"{path}: its model_args are not an object")
    # a user's network is built from the run's own copy of its source, beside the checkpoint
    if source is None and is_model_file(name):
        source = run_source(path.parent)
    model = build_model(name, args, source)
    wanted = model.state_dict()
    missing = sorted(set(wanted) - set(weights))
    extra = sorted(set(weights) - set(wanted))
    if missing or extra:
        parts = ([f"missing {', '.join(missing[:3])}"] if missing else []) + (
            [f"unexpected {', '.join(extra[:3])}"] if extra else []
        )
        raise CheckpointError(f"{path}: not {name}'s weights ({'; '.join(parts)})")
    for key, tensor in wanted.items():
        got = weights[key]
        if not isinstance(got, torch.Tensor) or got.shape != tensor.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise CheckpointError(
                f"{path}: {key} has shape {shape}, {name} needs {tuple(tensor.shape)}"
            )
        if got.is_floating_point() and not bool(torch.isfinite(got).all()):
            raise CheckpointError(f"{path}: {key} holds NaN or infinite weights; nothing it"
                                  " computes would mean anything")  # fmt: skip
    model.load_state_dict(weights)
    return model


def load_model(
    path: Path,
    device: torch.device | str = "cpu",
    expected: str | None = None,
    run_dir: Path | None = None,
) -> nn.Module:
    """The model a checkpoint holds, in eval mode, on ``device`` (a user's network built
    from ``run_dir``'s copy of its source: by default the checkpoint's own folder)."""
    path = Path(path)
    state = load_checkpoint(path, device)
    name = state.get("model_name")
    source = run_source(run_dir) if run_dir is not None and is_model_file(name) else None
    return check_weights(path, state, expected, source).to(device).eval()
