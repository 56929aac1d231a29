"""The curve of test accuracy against epsilon under FGSM or PGD."""

from __future__ import annotations

import time

import torch
from torch import nn

from engine import events as ev
from engine.attacks.fgsm import FGSM
from engine.attacks.pgd import PGD
from engine.attacks.start import check_cancel, device_of
from engine.data import Split
from engine.errors import SettingError
from engine.pixels import PixelModel, to_pixels

ATTACKS = ("fgsm", "pgd")


def make_attack(model: nn.Module, attack: str, eps: float, steps: int, alpha: float,
                random_start: bool):  # fmt: skip
    if attack == "fgsm":
        return FGSM(model, eps)
    if attack == "pgd":
        return PGD(model, eps, alpha, steps, random_start)
    raise SettingError(f"attack must be one of {', '.join(ATTACKS)}, not {attack!r}")


def robustness_curve(
    model: nn.Module,
    split: Split,
    eps_values: list[float],
    attack: str = "fgsm",
    limit: int | None = None,
    steps: int = 40,
    alpha: float = 0.01,
    random_start: bool = False,
    batch_size: int = 500,
    emit: ev.Emit = ev.ignore,
    cancel=None,
) -> list[ev.RobustnessMeasured]:
    """Accuracy of ``model`` on the first ``limit`` images of ``split`` at each eps, one
    ``RobustnessMeasured`` per eps (emitted as it is measured, and returned). ``accuracy``:
    images still right under the attack at that eps; ``robust_accuracy``: right under the
    attack at every eps up to it (an attacker with budget eps may use any smaller one), so
    it never rises with eps."""
    eps_values = sorted(eps_values)
    if any(e < 0 for e in eps_values):
        raise SettingError("eps values must not be negative")
    count = len(split) if limit is None else min(limit, len(split))
    device = device_of(model)
    pixel_model = PixelModel(model)
    still_right = torch.ones(count, dtype=torch.bool)
    attack_steps = 1 if attack == "fgsm" else steps
    points = []
    for n, eps in enumerate(eps_values):
        adversary = make_attack(model, attack, eps, steps, alpha, random_start)
        right = torch.zeros(count, dtype=torch.bool)
        start = time.perf_counter()
        for first in range(0, count, batch_size):
            check_cancel(cancel, "robustness")
            last = min(first + batch_size, count)
            images = to_pixels(split.images[first:last]).to(device)
            labels = split.labels[first:last].to(device)
            adversarial = adversary(images, labels)
            with torch.inference_mode():
                right[first:last] = (pixel_model(adversarial).argmax(1) == labels).cpu()
            emit(
                ev.ProgressMade(f"{attack} eps {eps:g}", n * count + last, len(eps_values) * count)
            )
        seconds = time.perf_counter() - start
        still_right &= right
        point = ev.RobustnessMeasured(
            attack=attack,
            eps=eps,
            accuracy=right.float().mean().item(),
            robust_accuracy=still_right.float().mean().item(),
            images=count,
            seconds=seconds,
            images_per_s_per_step=count * attack_steps / max(seconds, 1e-9),
        )
        points.append(point)
        emit(point)
    return points
