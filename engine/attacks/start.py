"""The common start of the input optimisations: Gaussian noise, and a cancel check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from engine.data import MEAN, STD
from engine.errors import SettingError


def gaussian_pixels(count: int, seed: int, clamp: bool = True) -> torch.Tensor:
    """(count, 1, 28, 28) noise that is standard normal in the model's normalised input space
    (pixel mean MEAN, std STD), as ``torch.randn`` fed to the model was in the original."""
    generator = torch.Generator().manual_seed(seed)
    pixels = MEAN + STD * torch.randn(count, 1, 28, 28, generator=generator)
    return pixels.clamp_(0, 1) if clamp else pixels


def check_cancel(cancel, what: str) -> None:
    if cancel is not None and cancel.is_set():
        raise InterruptedError(f"{what} cancelled")


def check_class(value: int, name: str = "class") -> None:
    if not 0 <= value <= 9:
        raise SettingError(f"{name} must be a digit 0-9, not {value}")


@contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """The model with its weights out of autograd, so that backward passes compute input
    gradients only (about a third less work); restored afterwards."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for parameter, _ in flags:
        parameter.requires_grad_(False)
    try:
        yield model
    finally:
        for parameter, flag in flags:
            parameter.requires_grad_(flag)


def device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device
