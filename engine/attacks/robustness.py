"""The curve of test accuracy against epsilon under one attack, or under the worst of
several (an image counts as robust only if it survives every one: AutoAttack's idea). The
attacks themselves are the registered classes of ``engine.attacks.catalogue``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

from engine import events as ev
from engine.attacks.catalogue import ATTACKS, make_attack
from engine.attacks.start import check_cancel, device_of
from engine.config import (
    APGD_TARGETS,
    ATTACK_BATCH,
    ATTACK_RESTARTS,
    PGD_ALPHA,
    PGD_STEPS,
    ROBUSTNESS_ATTACK,
    SQUARE_QUERIES,
)
from engine.data import Split
from engine.errors import SettingError
from engine.pixels import to_pixels


def robustness_curve(
    model: nn.Module,
    split: Split,
    eps_values: list[float],
    attack: str = ROBUSTNESS_ATTACK,
    limit: int | None = None,
    steps: int = PGD_STEPS,
    alpha: float = PGD_ALPHA,
    random_start: bool = False,
    batch_size: int = ATTACK_BATCH,
    emit: ev.Emit = ev.ignore,
    cancel=None,
    restarts: int = ATTACK_RESTARTS,
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
    if queries < 0:
        raise SettingError(
            f"queries must be 0 or more (0 leaves square out of worst), not {queries}"
        )
    params = dict(steps=steps, alpha=alpha, random_start=random_start, restarts=restarts,
                  targets=targets, queries=queries)  # fmt: skip
    make_attack(attack, model, 0.0, **params)  # the settings checked before any work
    count = len(split) if limit is None else min(limit, len(split))
    device = device_of(model)
    still_right = torch.ones(count, dtype=torch.bool)
    points = []
    for n, eps in enumerate(eps_values):
        adversary = make_attack(attack, model, eps, **params)
        parts = adversary.parts  # an image must survive each in turn
        right = torch.zeros(count, dtype=torch.bool)
        standing = dict.fromkeys(("clean", *(p.name for p in parts)), 0)  # right after each
        start = time.perf_counter()
        for first in range(0, count, batch_size):
            last = min(first + batch_size, count)
            pixels = to_pixels(split.images[first:last]).to(device)
            labels = split.labels[first:last].to(device)
            indices = torch.arange(first, last)
            alive = adversary.right(pixels, labels)  # a wrong image is not robust, whatever
            standing["clean"] += int(alive.sum())
            for part in parts:
                check_cancel(cancel, "robustness")
                keep = alive.nonzero()[:, 0]
                if len(keep):
                    alive[keep] = part.right_after(pixels[keep], labels[keep], indices[keep.cpu()])
                standing[part.name] += int(alive.sum())
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
            images_per_s_per_step=sum(p.work for p in parts) / max(seconds, 1e-9),
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
                  random_start: bool, batch_size: int, certify: bool = False,
                  emit: ev.Emit = ev.ignore, cancel=None) -> RobustnessCurve:  # fmt: skip
    """``robustness_curve`` on the subject's test images; with ``certify``, each point also
    says what interval bounds prove on the same images (engine.proof)."""
    points = robustness_curve(subject.model, subject.test, list(eps), attack, limit, steps,
                              alpha, random_start, batch_size, emit, cancel, restarts,
                              targets, queries)  # fmt: skip
    if certify:
        import dataclasses

        from engine.proof.certify import certify as prove

        count = points[0].images
        proven = prove(subject.model, subject.test.images[:count], subject.test.labels[:count],
                       [p.eps for p in points], emit, cancel)  # fmt: skip
        share = {p.eps: p.certified_accuracy for p in proven.points}
        points = [dataclasses.replace(p, certified_accuracy=share[p.eps]) for p in points]
    return RobustnessCurve(points)
