"""Several trained networks as one (Lakshminarayanan et al. 2017, "Simple and scalable
predictive uncertainty estimation using deep ensembles"): the members' probabilities
averaged. Judged beside each member and the members' mean on the clean test set (accuracy,
ECE, NLL) and rotated by 45 and 90 degrees (Ovadia et al. 2019 found ensembles the most
trustworthy under shift). A study's seeds are an ensemble for free.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine import events as ev
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
                f" {e.nll:.4f} ({m.nll:.4f})")  # fmt: skip


def _judge(name: str, probabilities: dict[float, torch.Tensor], labels: torch.Tensor) -> Judged:
    clean = calibration(probabilities[0.0].clamp_min(1e-12).log(), labels)
    turned = {a: float((probabilities[a].argmax(1) == labels).double().mean()) for a in ANGLES}
    return Judged(name, clean.accuracy, clean.ece, clean.nll, turned)


def ensemble_of(subjects: list, emit: ev.Emit = ev.ignore, cancel=None) -> EnsembleResult:
    """The ensemble of ``subjects`` (engine.subject.Subject, on one test set) judged beside
    each of them; UserFacing when fewer than two or their test sets differ."""
    if len(subjects) < 2:
        raise UserFacing("an ensemble needs at least two runs")
    labels = subjects[0].test.labels
    for other in subjects[1:]:
        if not torch.equal(other.test.labels, labels):
            raise UserFacing(f"runs {subjects[0].run_id} and {other.run_id} were trained on"
                             " different data: their test sets differ")  # fmt: skip
    angles = (0.0, *ANGLES)
    images = {a: rotated(subjects[0].test.images, a) for a in angles}
    each: list[dict[float, torch.Tensor]] = []
    for done, subject in enumerate(subjects):
        emit(ev.ProgressMade(task=f"network {subject.run_id}", done=done, total=len(subjects)))
        each.append({a: logits_of(subject.model, images[a], cancel).double().softmax(1)
                     for a in angles})  # fmt: skip
    members = [_judge(s.run_id, p, labels) for s, p in zip(subjects, each, strict=True)]
    averaged = {a: torch.stack([p[a] for p in each]).mean(0) for a in angles}
    count = len(members)
    mean = Judged("mean of the members", sum(m.accuracy for m in members) / count,
                  sum(m.ece for m in members) / count, sum(m.nll for m in members) / count,
                  {a: sum(m.rotated_accuracy[a] for m in members) / count for a in ANGLES})  # fmt: skip
    emit(ev.ProgressMade(task="done", done=len(subjects), total=len(subjects)))
    return EnsembleResult(members, mean, _judge("ensemble", averaged, labels))
