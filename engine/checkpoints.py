"""Checkpoints: tensors and plain data only, written atomically, read with
``torch.load(weights_only=True)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.atomic import write_with
from engine.models import build_model


class CheckpointError(Exception):
    """A checkpoint that is missing or unreadable; the message says which."""


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (tensors, numbers, strings, lists, dicts) atomically."""
    write_with(Path(path), lambda handle: torch.save(state, handle))


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a checkpoint without unpickling any code."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # torch raises several kinds for a bad file
        raise CheckpointError(f"{path}: cannot be loaded ({error})") from error


def load_model(path: Path, device: torch.device | str = "cpu") -> nn.Module:
    """The model a checkpoint holds, in eval mode, on ``device``."""
    state = load_checkpoint(path, device)
    model = build_model(state["model_name"])
    model.load_state_dict(state["model"])
    return model.to(device).eval()
