"""The curve of test accuracy against epsilon under one attack, or under the worst of
several (an image counts as robust only if it survives every one: AutoAttack's idea).

Attacks: ``fgsm``; ``pgd`` (cross-entropy, optionally from random starts); ``apgd-ce``,
``apgd-dlr`` (untargeted, Croce & Hein 2020) and ``apgd-t`` (targeted DLR against each of
the ``APGD_TARGETS`` classes the model ranks highest after the true one); ``square`` (the
Square Attack, black-box: it needs no gradient, so a network that hides its gradients does
not escape it); ``worst`` runs ``WORST`` in turn, each on the images that survived the ones
before (AutoAttack runs APGD-CE, APGD-T, FAB-T and Square the same way).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

from engine import events as ev
from engine.attacks.apgd import apgd
from engine.attacks.pgd import projected_steps
from engine.attacks.square import square_attack
from engine.attacks.start import check_cancel, device_of, frozen
from engine.config import (
    APGD_STEPS,
    APGD_TARGETS,
    PGD_ALPHA,
    PGD_STEPS,
    ROBUSTNESS_ATTACKS,
    SQUARE_QUERIES,
)
from engine.data import Split
from engine.errors import SettingError
from engine.pixels import PixelModel, to_pixels

ATTACKS = ROBUSTNESS_ATTACKS
WORST = ("fgsm", "pgd", "apgd-ce", "apgd-dlr", "apgd-t", "square")


def image_noise(indices: torch.Tensor, restart: int, device: torch.device) -> torch.Tensor:
    """Uniform noise in [0, 1) of shape (n, 1, 28, 28), a function of each image's index in
    the split and the restart only — the same for an image in any batch."""
    rows = []
    for index in indices.tolist():
        generator = torch.Generator().manual_seed(index * 1_009 + restart)
        rows.append(torch.rand(1, 28, 28, generator=generator))
    return torch.stack(rows).to(device)


class Survival:
    """Runs one attack on a batch and says which images it failed to fool."""

    def __init__(self, model: nn.Module, eps: float, steps: int, alpha: float,
                 random_start: bool, restarts: int, targets: int = APGD_TARGETS,
                 queries: int = SQUARE_QUERIES) -> None:  # fmt: skip
        self.forward = PixelModel(model)
        self.eps, self.steps, self.alpha = eps, steps, alpha
        self.random_start, self.restarts, self.targets = random_start, restarts, targets
        self.queries = queries
        self.image_steps = 0  # forward-backward passes per image, summed: the work done

    def __call__(self, attack: str, pixels, labels, indices) -> torch.Tensor:
        right = torch.ones(len(labels), dtype=torch.bool, device=labels.device)
        if self.eps == 0 or len(labels) == 0:
            return self._right(pixels, labels)
        with frozen(self.forward) as forward:
            if attack == "fgsm":
                x = projected_steps(forward, pixels, labels, self.eps, self.eps, 1)
                self.image_steps += len(labels)
                return self._right(x, labels)
            tries = self.restarts if attack != "pgd" or self.random_start else 1
            for restart in range(tries):
                alive = right.nonzero()[:, 0]
                if len(alive) == 0:
                    break
                right[alive] = self._one(attack, forward, pixels[alive], labels[alive],
                                         indices[alive.cpu()], restart)  # fmt: skip
        return right

    def clean(self, pixels, labels) -> torch.Tensor:
        return self._right(pixels, labels)

    def _right(self, x, labels) -> torch.Tensor:
        with torch.no_grad():  # not inference mode: the answer is updated in place
            return self.forward(x).argmax(1) == labels

    def _one(self, attack, forward, pixels, labels, indices, restart) -> torch.Tensor:
        noise = image_noise(indices, restart, pixels.device)
        if attack == "pgd":
            start = noise if self.random_start else None
            x = projected_steps(forward, pixels, labels, self.eps, self.alpha, self.steps, start)
            self.image_steps += len(labels) * self.steps
            return self._right(x, labels)
        if attack == "square":
            self.image_steps += len(labels) * self.queries
            seed = int(indices[0]) * 1_009 + restart if len(indices) else restart
            return square_attack(forward, pixels, labels, self.eps, self.queries, seed=seed)
        if attack in ("apgd-ce", "apgd-dlr"):
            loss = "ce" if attack == "apgd-ce" else "dlr"
            self.image_steps += len(labels) * (APGD_STEPS + 1)
            return apgd(forward, pixels, labels, self.eps, APGD_STEPS, loss, start=noise)[0]
        # apgd-t: one run per target class, on the images that are still right
        with torch.inference_mode():
            ranking = forward(pixels).sort(dim=1, descending=True).indices
        right = torch.ones(len(labels), dtype=torch.bool, device=labels.device)
        for rank in range(1, min(self.targets, ranking.shape[1] - 1) + 1):
            alive = right.nonzero()[:, 0]
            if len(alive) == 0:
                break
            targets = ranking[alive, rank]
            # the true class may be ranked below the top: skip it as a target
            targets = torch.where(targets == labels[alive], ranking[alive, 0], targets)
            self.image_steps += len(alive) * (APGD_STEPS + 1)
            right[alive] = apgd(forward, pixels[alive], labels[alive], self.eps, APGD_STEPS,
                                "dlr-targeted", targets, noise[alive])[0]  # fmt: skip
        return right


def robustness_curve(
    model: nn.Module,
    split: Split,
    eps_values: list[float],
    attack: str = "fgsm",
    limit: int | None = None,
    steps: int = PGD_STEPS,
    alpha: float = PGD_ALPHA,
    random_start: bool = False,
    batch_size: int = 500,
    emit: ev.Emit = ev.ignore,
    cancel=None,
    restarts: int = 1,
    targets: int = APGD_TARGETS,
    queries: int = SQUARE_QUERIES,
) -> list[ev.RobustnessMeasured]:
    """Accuracy of ``model`` on the first ``limit`` images of ``split`` at each eps, one
    ``RobustnessMeasured`` per eps (emitted as it is measured, and returned). ``accuracy``:
    images still right under the attack at that eps; ``robust_accuracy``: right under the
    attack at every eps up to it (an attacker with budget eps may use any smaller one), so
    it never rises with eps. ``restarts``: random restarts of pgd (with ``random_start``)
    and of the APGD attacks; ``targets``: how many classes apgd-t aims at (the most likely
    first; 9, AutoAttack's, is every other class); ``queries``: the Square Attack's budget
    per image (0 leaves it out of ``worst``: faster, and blind to hidden gradients)."""
    if attack not in ATTACKS:
        raise SettingError(f"attack must be one of {', '.join(ATTACKS)}, not {attack!r}")
    eps_values = sorted(eps_values)
    if any(e < 0 for e in eps_values):
        raise SettingError("eps values must not be negative")
    if restarts < 1:
        raise SettingError("restarts must be at least 1")
    if not 1 <= targets <= 9:
        raise SettingError(f"targets must be from 1 to 9, not {targets}")
    if queries < 0:
        raise SettingError(
            f"queries must be 0 or more (0 leaves square out of worst), not {queries}"
        )
    if attack == "square" and queries == 0:
        raise SettingError("the square attack needs queries of at least 1")
    count = len(split) if limit is None else min(limit, len(split))
    device = device_of(model)
    still_right = torch.ones(count, dtype=torch.bool)
    parts = WORST if attack == "worst" else (attack,)
    if attack == "worst" and queries == 0:
        parts = tuple(p for p in parts if p != "square")
    points = []
    for n, eps in enumerate(eps_values):
        survival = Survival(model, eps, steps, alpha, random_start, restarts, targets, queries)
        right = torch.zeros(count, dtype=torch.bool)
        standing = dict.fromkeys(("clean", *parts), 0)  # images right after each part
        start = time.perf_counter()
        for first in range(0, count, batch_size):
            last = min(first + batch_size, count)
            pixels = to_pixels(split.images[first:last]).to(device)
            labels = split.labels[first:last].to(device)
            indices = torch.arange(first, last)
            alive = survival.clean(pixels, labels)  # a wrong image is not robust, whatever
            standing["clean"] += int(alive.sum())
            for part in parts:
                check_cancel(cancel, "robustness")
                keep = alive.nonzero()[:, 0]
                if len(keep):
                    alive[keep] = survival(part, pixels[keep], labels[keep], indices[keep.cpu()])
                standing[part] += int(alive.sum())
            right[first:last] = alive.cpu()
            task = f"{attack} eps {eps:g}"
            emit(ev.ProgressMade(task, n * count + last, len(eps_values) * count))
        seconds = time.perf_counter() - start
        still_right &= right
        point = ev.RobustnessMeasured(
            attack=attack,
            eps=eps,
            accuracy=right.float().mean().item(),
            robust_accuracy=still_right.float().mean().item(),
            images=count,
            seconds=seconds,
            images_per_s_per_step=survival.image_steps / max(seconds, 1e-9),
            after_each={part: n / max(count, 1) for part, n in standing.items()},
        )
        points.append(point)
        emit(point)
    return points


@dataclass(frozen=True)
class RobustnessCurve:
    """The curve of one attack: a ``RobustnessMeasured`` per eps, smallest first."""

    points: list[ev.RobustnessMeasured]

    def to_dict(self) -> dict:
        return {"points": [ev.event_to_dict(p) for p in self.points]}

    def summary(self) -> str:
        first, last = self.points[0], self.points[-1]
        return (f"{first.attack}: {first.accuracy:.2%} at eps {first.eps:g}, {last.accuracy:.2%}"
                f" at eps {last.eps:g} ({last.robust_accuracy:.2%} robust at every eps up to"
                f" it), {first.images:,} test images")  # fmt: skip


def robustness_of(subject, eps: tuple[float, ...], attack: str, restarts: int, queries: int,
                  targets: int, limit: int | None, steps: int, alpha: float,
                  random_start: bool, batch_size: int, emit: ev.Emit = ev.ignore,
                  cancel=None) -> RobustnessCurve:  # fmt: skip
    """``robustness_curve`` on the subject's test images."""
    points = robustness_curve(subject.model, subject.test, list(eps), attack, limit, steps,
                              alpha, random_start, batch_size, emit, cancel, restarts,
                              targets, queries)  # fmt: skip
    return RobustnessCurve(points)
