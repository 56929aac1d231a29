"""Several trained networks as one (Lakshminarayanan et al. 2017, "Simple and scalable
predictive uncertainty estimation using deep ensembles"): the members' probabilities
averaged. Judged beside each member and the members' mean on the clean test set (accuracy,
ECE, NLL), rotated by 45 and 90 degrees (Ovadia et al. 2019 found ensembles the most
trustworthy under shift) and under MNIST-C's corruptions (their mean accuracy, on the first
``corrupted_images`` test images: engine.beyond.corruptions). A study's seeds are an ensemble
for free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from engine import events as ev
from engine.analyses.beyond import CORRUPTED_IMAGES
from engine.beyond.calibration import calibration, logits_of
from engine.beyond.shift import rotated
from engine.errors import UserFacing

ANGLES = (45.0, 90.0)  # the rotations each network is judged at, beside the clean set


@dataclass(frozen=True)
class Judged:
    name: str
    accuracy: float
    ece: float
    nll: float
    rotated_accuracy: dict[float, float]  # angle -> accuracy
    corruption_accuracy: float | None = None  # the mean over MNIST-C's corruptions
    by_corruption: dict[str, float] = field(default_factory=dict)  # each one's accuracy


@dataclass(frozen=True)
class EnsembleResult:
    members: list[Judged]
    mean: Judged  # the members' figures averaged
    ensemble: Judged

    def to_dict(self) -> dict:
        shown = lambda j: {**j.__dict__, "rotated_accuracy": {f"{a:g}": v for a, v in  # noqa: E731
                                                             j.rotated_accuracy.items()}}  # fmt: skip
        return {"members": [shown(m) for m in self.members], "mean_of_members": shown(self.mean),
                "ensemble": shown(self.ensemble)}  # fmt: skip

    def summary(self) -> str:
        e, m = self.ensemble, self.mean
        return (f"{len(self.members)} networks as one: accuracy {e.accuracy:.2%} (members"
                f" {m.accuracy:.2%} on average), ECE {e.ece:.2%} ({m.ece:.2%}), NLL"
                f" {e.nll:.4f} ({m.nll:.4f})"
                + (f", MNIST-C mean {e.corruption_accuracy:.2%} ({m.corruption_accuracy:.2%})"
                   if e.corruption_accuracy is not None else ""))  # fmt: skip


def _right(probabilities: torch.Tensor, labels: torch.Tensor) -> float:
    return float((probabilities.argmax(1) == labels).double().mean())


def _judge(name: str, probabilities: dict, labels: torch.Tensor,
           corrupted_labels: torch.Tensor) -> Judged:  # fmt: skip
    clean = calibration(probabilities[0.0].clamp_min(1e-12).log(), labels)
    turned = {a: _right(probabilities[a], labels) for a in ANGLES}
    corrupted = {key: _right(p, corrupted_labels) for key, p in probabilities.items()
                 if isinstance(key, str)}  # fmt: skip
    mean = sum(corrupted.values()) / len(corrupted) if corrupted else None
    return Judged(name, clean.accuracy, clean.ece, clean.nll, turned, mean, corrupted)


def ensemble_of(subjects: list, corrupted_images: int = CORRUPTED_IMAGES, emit: ev.Emit = ev.ignore,
                cancel=None) -> EnsembleResult:  # fmt: skip
    """The ensemble of ``subjects`` (engine.subject.Subject, on one test set) judged beside
    each of them; UserFacing when fewer than two or their test sets differ. MNIST-C's
    corruptions of the first ``corrupted_images`` test images (0: none; they need
    scikit-image, and are left out without it)."""
    if len(subjects) < 2:
        raise UserFacing("an ensemble needs at least two runs")
    labels = subjects[0].test.labels
    for other in subjects[1:]:
        if not torch.equal(other.test.labels, labels):
            raise UserFacing(f"runs {subjects[0].run_id} and {other.run_id} were trained on"
                             " different data: their test sets differ")  # fmt: skip
    angles = (0.0, *ANGLES)
    images = {a: rotated(subjects[0].test.images, a) for a in angles}
    count = min(corrupted_images, len(labels))
    if count:
        from engine.beyond import corruptions

        try:
            corruptions.check_available()
        except UserFacing:
            count = 0
        clean = subjects[0].test.images[:count].numpy()
        for name in corruptions.CORRUPTIONS if count else ():
            emit(ev.ProgressMade(task=f"corrupting: {name}", done=0, total=len(subjects)))
            images[name] = torch.from_numpy(
                corruptions.cached_corrupted(clean, name, 0, subjects[0].cache)
            )
    corrupted_labels = labels[:count]
    each: list[dict[float, torch.Tensor]] = []
    for done, subject in enumerate(subjects):
        emit(ev.ProgressMade(task=f"network {subject.run_id}", done=done, total=len(subjects)))
        each.append({a: logits_of(subject.model, images[a], cancel).double().softmax(1)
                     for a in images})  # fmt: skip
    members = [_judge(s.run_id, p, labels, corrupted_labels)
               for s, p in zip(subjects, each, strict=True)]  # fmt: skip
    averaged = {a: torch.stack([p[a] for p in each]).mean(0) for a in images}
    n = len(members)
    corrupted = [m.corruption_accuracy for m in members if m.corruption_accuracy is not None]
    mean = Judged("mean of the members", sum(m.accuracy for m in members) / n,
                  sum(m.ece for m in members) / n, sum(m.nll for m in members) / n,
                  {a: sum(m.rotated_accuracy[a] for m in members) / n for a in ANGLES},
                  sum(corrupted) / n if corrupted else None)  # fmt: skip
    emit(ev.ProgressMade(task="done", done=len(subjects), total=len(subjects)))
    return EnsembleResult(members, mean, _judge("ensemble", averaged, labels, corrupted_labels))
