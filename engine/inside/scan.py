"""A split through a network once, keeping what one layer takes in or gives out for every
image (reduced by the caller as it comes, so a whole test set of feature maps is never held)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from engine.data import Split, batches

SCAN_BATCH = 256  # images at once (engine.config's eval batch: measured fastest on a CPU)


def outputs(model: nn.Module, split: Split,
            keep: Callable[[torch.Tensor], torch.Tensor] = lambda logits: logits) -> torch.Tensor:  # fmt: skip
    """``keep(logits)`` of every batch of ``split``, in eval mode, concatenated on the CPU."""
    model.eval()
    with torch.inference_mode():
        return torch.cat([keep(model(images).float()).cpu()
                          for images, _ in batches(split, SCAN_BATCH)])  # fmt: skip


def scan_layer(model: nn.Module, layer: nn.Module, split: Split,
               keep: Callable[[torch.Tensor], torch.Tensor], inputs: bool = False) -> torch.Tensor:  # fmt: skip
    """``keep(output)`` (or ``keep(input)`` with ``inputs``) of ``layer`` for each batch of
    ``split``, in eval mode, concatenated on the CPU."""
    found: list[torch.Tensor] = []
    if inputs:
        handle = layer.register_forward_pre_hook(
            lambda _m, given: found.append(keep(given[0].detach().float()).cpu())
        )
    else:
        handle = layer.register_forward_hook(
            lambda _m, _given, output: found.append(keep(output.detach().float()).cpu())
        )
    model.eval()
    try:
        with torch.inference_mode():
            for images, _ in batches(split, SCAN_BATCH):
                model(images)
    finally:
        handle.remove()
    return torch.cat(found)
