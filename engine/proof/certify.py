"""Certified accuracy: the share of test images whose prediction is right and proven not to
change for any perturbation within eps (L-infinity, pixels of 0-1) — a lower bound on the
network's true robust accuracy, where an attack's accuracy is an upper bound (what the
strongest attack tried left standing). Bounds by interval propagation (engine.proof.intervals).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from engine import events as ev
from engine.attacks.start import check_cancel
from engine.pixels import to_pixels
from engine.proof.intervals import IntervalNetwork, certified

BATCH = 128  # images bounded together (larger batches were slower on 2 CPU cores: 1,000
# took 2.5x as long, in page faults on the temporaries)


@dataclass(frozen=True)
class CertifiedPoint:
    eps: float
    certified: int  # images proven (and right)
    images: int
    accuracy: float  # clean accuracy on the same images
    seconds: float

    @property
    def certified_accuracy(self) -> float:
        return self.certified / max(self.images, 1)


@dataclass(frozen=True)
class Certification:
    """Certified accuracy at each eps, smallest first."""

    points: list[CertifiedPoint] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"method": "interval bound propagation (IBP)",
                "points": [{"eps": p.eps, "certified_accuracy": p.certified_accuracy,
                            "certified": p.certified, "images": p.images,
                            "accuracy": p.accuracy, "seconds": round(p.seconds, 3)}
                           for p in self.points]}  # fmt: skip

    def summary(self) -> str:
        shown = ", ".join(f"{p.certified_accuracy:.2%} at eps {p.eps:g}" for p in self.points)
        first = self.points[0]
        return (f"proven by interval bounds: {shown} (of {first.images:,} test images; clean"
                f" accuracy {first.accuracy:.2%}); an attack can only find less robust")  # fmt: skip


def certify(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
            eps: list[float], emit: ev.Emit = ev.ignore, cancel=None,
            batch_size: int = BATCH) -> Certification:  # fmt: skip
    """Certified accuracy of ``model`` (eval mode; taking normalised images) on uint8
    ``images`` at each eps."""
    network = IntervalNetwork(model)  # refuses an unsupported layer before any work
    points = []
    total = len(eps) * len(images)
    done, right = 0, None
    with torch.inference_mode():
        for radius in sorted(eps):
            start, proven, counted = time.perf_counter(), 0, 0
            for first in range(0, len(images), batch_size):
                check_cancel(cancel, "certification")
                pixels = to_pixels(images[first : first + batch_size])
                batch_labels = labels[first : first + batch_size]
                proven += int(certified(network, pixels, batch_labels, radius).sum())
                if right is None:  # the clean accuracy, once
                    clean = model(_normalised(pixels))
                    counted += int((clean.argmax(1) == batch_labels).sum())
                done += len(pixels)
                emit(ev.ProgressMade(task=f"certifying at eps {radius:g}", done=done,
                                     total=total))  # fmt: skip
            right = counted if right is None else right
            points.append(CertifiedPoint(radius, proven, len(images), right / max(len(images), 1),
                                         time.perf_counter() - start))  # fmt: skip
    return Certification(points)


def _normalised(pixels: torch.Tensor) -> torch.Tensor:
    from engine.data import MEAN, STD

    return (pixels - MEAN) / STD


def certify_of(subject, eps: tuple[float, ...], limit: int | None, emit: ev.Emit = ev.ignore,
               cancel=None) -> Certification:  # fmt: skip
    """``certify`` on the subject's test images (the first ``limit``)."""
    images, labels = subject.test.images, subject.test.labels
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return certify(subject.model, images, labels, list(eps), emit, cancel)
