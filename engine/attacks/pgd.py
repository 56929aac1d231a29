"""The projected-gradient iteration that PGD (engine.attacks.catalogue), FGSM (one step of
eps), robust validation and adversarial training share."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def projected_steps(
    forward,
    images: torch.Tensor,
    labels: torch.Tensor,
    eps: float,
    alpha: float,
    steps: int,
    start: torch.Tensor | None = None,
    loss=None,
) -> torch.Tensor:
    """The PGD iteration itself, for evaluation and for adversarial training alike:
    ``forward`` maps pixels to logits; ``start``, if given, is uniform noise in [0, 1) of the
    images' shape that places the first point at random in the eps ball; ``loss(logits,
    labels)`` is what the steps raise (cross-entropy by default). Returns detached pixels."""
    loss = loss or F.cross_entropy
    x = images.detach().clone()
    if start is not None:
        x = (x + (2 * start - 1) * eps).clamp(0, 1)
    for _ in range(steps):
        x.requires_grad_(True)
        (grad,) = torch.autograd.grad(loss(forward(x), labels), x)
        with torch.no_grad():
            x = x + alpha * grad.sign()
            x = torch.min(torch.max(x, images - eps), images + eps).clamp(0, 1)
    return x.detach()
