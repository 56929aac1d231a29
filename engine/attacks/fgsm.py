"""FGSM — Goodfellow, Shlens and Szegedy, "Explaining and Harnessing Adversarial Examples"
(2015). One signed-gradient step of size eps that raises the loss; L-infinity norm.

``FGSM(model, eps)(images, labels)``: images (n, 1, 28, 28) pixels in [0, 1], labels (n,);
returns adversarial images of the same shape, in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from engine.attacks.start import frozen
from engine.errors import SettingError
from engine.pixels import PixelModel


class FGSM:
    """Fast gradient sign method, untargeted, L-infinity ball of radius ``eps``."""

    def __init__(self, model: nn.Module, eps: float = 0.1) -> None:
        if eps < 0:
            raise SettingError("eps must not be negative")
        self.model = PixelModel(model)
        self.eps = eps

    def __call__(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.eps == 0:
            return images.clone()
        x = images.clone().requires_grad_(True)
        with frozen(self.model) as model:
            loss = F.cross_entropy(model(x), labels)
            (grad,) = torch.autograd.grad(loss, x)
        return (images + self.eps * grad.sign()).clamp(0, 1).detach()
