"""PGD — Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks"
(2018). ``steps`` signed-gradient steps of size ``alpha``, each projected back into the
L-infinity ball of radius ``eps`` around the image and into [0, 1]; optionally from a
uniformly random start in the ball.

``PGD(model, eps, alpha, steps)(images, labels)``: images (n, 1, 28, 28) pixels in [0, 1],
labels (n,); returns adversarial images of the same shape, in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from engine.attacks.start import frozen
from engine.config import PGD_ALPHA, PGD_STEPS
from engine.errors import SettingError
from engine.pixels import PixelModel


class PGD:
    """Projected gradient descent, untargeted, L-infinity."""

    def __init__(
        self,
        model: nn.Module,
        eps: float = 0.3,
        alpha: float = PGD_ALPHA,
        steps: int = PGD_STEPS,
        random_start: bool = False,
        seed: int = 0,
    ) -> None:
        if eps < 0 or alpha <= 0 or steps < 1:
            raise SettingError("PGD needs eps >= 0, alpha > 0 and steps >= 1")
        self.model = PixelModel(model)
        self.eps, self.alpha, self.steps = eps, alpha, steps
        self.random_start, self.seed = random_start, seed

    def __call__(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.eps == 0:
            return images.clone()
        start = None
        if self.random_start:
            generator = torch.Generator().manual_seed(self.seed)
            start = torch.rand(images.shape, generator=generator).to(images.device)
        with frozen(self.model) as model:
            return projected_steps(model, images, labels, self.eps, self.alpha, self.steps, start)


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
