"""FGSM or PGD on the first test images: how many it fools, and the pictures of some."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine import events as ev
from engine.attacks.catalogue import make_attack
from engine.attacks.start import check_cancel
from engine.config import ATTACK_BATCH
from engine.pixels import PixelModel, to_pixels

BATCH = ATTACK_BATCH


@dataclass(frozen=True)
class LpAttackResult:
    attack: str
    eps: float
    images: torch.Tensor  # (n, 1, 28, 28) pixels
    adversarial: torch.Tensor
    labels: torch.Tensor
    clean_predicted: torch.Tensor
    predicted: torch.Tensor  # under the attack

    @property
    def clean_accuracy(self) -> float:
        return (self.clean_predicted == self.labels).float().mean().item()

    @property
    def accuracy(self) -> float:
        return (self.predicted == self.labels).float().mean().item()

    @property
    def max_linf(self) -> float:
        return (self.adversarial - self.images).abs().max().item()

    def flipped(self, most: int) -> list[int]:
        """The first ``most`` images that were right and that the attack made wrong."""
        right = self.clean_predicted == self.labels
        return (right & (self.predicted != self.labels)).nonzero().flatten()[:most].tolist()

    def to_dict(self) -> dict:
        return {"attack": self.attack, "eps": self.eps, "images": len(self.labels),
                "clean_accuracy": self.clean_accuracy, "adversarial_accuracy": self.accuracy,
                "max_linf": self.max_linf}  # fmt: skip

    def summary(self) -> str:
        return (f"accuracy: clean {self.clean_accuracy:.2%} -> adversarial {self.accuracy:.2%}"
                f" (largest change of a pixel {self.max_linf:.3f})")  # fmt: skip


def lp_attack_of(subject, attack: str, eps: float, limit: int, steps: int = 1,
                 alpha: float = 0.0, random_start: bool = False, emit: ev.Emit = ev.ignore,
                 cancel=None) -> LpAttackResult:  # fmt: skip
    """``attack`` (fgsm or pgd) at radius ``eps`` on the subject's first ``limit`` test images."""
    count = min(limit, len(subject.test))
    images = to_pixels(subject.test.images[:count])
    labels = subject.test.labels[:count]
    adversary = make_attack(attack, subject.model, eps, steps=steps, alpha=alpha,
                            random_start=random_start)  # fmt: skip
    parts = []
    for first in range(0, count, BATCH):
        check_cancel(cancel, attack)
        indices = torch.arange(first, min(first + BATCH, count))
        parts.append(adversary(images[indices], labels[indices], indices))
        emit(ev.ProgressMade(attack, min(first + BATCH, count), count))
    adversarial = torch.cat(parts)
    forward = PixelModel(subject.model)
    with torch.inference_mode():
        clean, attacked = forward(images).argmax(1), forward(adversarial).argmax(1)
    return LpAttackResult(attack, eps, images, adversarial, labels, clean, attacked)


def fgsm_of(subject, eps: float, limit: int, emit: ev.Emit = ev.ignore, cancel=None):
    return lp_attack_of(subject, "fgsm", eps, limit, emit=emit, cancel=cancel)


def pgd_of(subject, eps: float, limit: int, steps: int, alpha: float, random_start: bool,
           emit: ev.Emit = ev.ignore, cancel=None):  # fmt: skip
    return lp_attack_of(subject, "pgd", eps, limit, steps, alpha, random_start, emit, cancel)
