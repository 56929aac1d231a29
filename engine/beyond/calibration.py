"""Whether the confidence a network shows can be trusted (Guo et al. 2017, "On calibration of
modern neural networks"): of the test images shown at about 95%, are about 95% right?

- The reliability diagram: the images in ten bins of confidence (the largest probability),
  each bin's accuracy against its mean confidence, with its count.
- ECE, the expected calibration error: the bins' |accuracy - confidence|, weighted by their
  share of the images; MCE, the largest of them; NLL, the mean negative log-probability of
  the true class; Brier, the mean squared distance of the probabilities from the one-hot
  truth (summed over the classes, as Brier 1950).
- Temperature scaling: the logits divided by one number T, fitted on the run's validation
  split by NLL (SciPy's bounded scalar minimiser over log T), then applied to the test set.
  Dividing by T > 0 never changes which class is largest, so no prediction changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine import events as ev
from engine.attacks.start import check_cancel
from engine.config import SCORING_BATCH
from engine.pixels import PixelModel, to_pixels

BINS = 10
TEMPERATURES = (0.05, 20.0)  # the range T is looked for in


@dataclass(frozen=True)
class Reliability:
    """One confidence bin: [low, high), its count, accuracy and mean confidence."""

    low: float
    high: float
    count: int
    accuracy: float
    confidence: float


@dataclass(frozen=True)
class Calibration:
    """The figures of one set of probabilities."""

    accuracy: float
    ece: float
    mce: float
    nll: float
    brier: float
    mean_confidence: float
    bins: list[Reliability]

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "ece": self.ece, "mce": self.mce, "nll": self.nll,
                "brier": self.brier, "mean_confidence": self.mean_confidence,
                "bins": [b.__dict__ for b in self.bins]}  # fmt: skip


def calibration(logits: torch.Tensor, labels: torch.Tensor, bins: int = BINS) -> Calibration:
    """The calibration figures of ``logits`` (N, classes) against ``labels``."""
    logits, labels = logits.double(), labels.long()
    probabilities = logits.softmax(1)
    confidence, predicted = probabilities.max(1)
    right = (predicted == labels).double()
    edges = torch.linspace(0, 1, bins + 1, dtype=torch.float64)
    which = torch.bucketize(confidence, edges[1:-1], right=True)  # bin i: [edge i, edge i+1)
    shown, ece, mce = [], 0.0, 0.0
    for i in range(bins):
        member = which == i
        count = int(member.sum())
        accuracy = float(right[member].mean()) if count else 0.0
        mean = float(confidence[member].mean()) if count else 0.0
        shown.append(Reliability(float(edges[i]), float(edges[i + 1]), count, accuracy, mean))
        if count:
            gap = abs(accuracy - mean)
            ece += count / len(labels) * gap
            mce = max(mce, gap)
    nll = float(F.cross_entropy(logits, labels))
    onehot = F.one_hot(labels, probabilities.shape[1]).double()
    brier = float(((probabilities - onehot) ** 2).sum(1).mean())
    return Calibration(float(right.mean()), ece, mce, nll, brier, float(confidence.mean()), shown)


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The T > 0 that minimises the NLL of ``logits / T`` (one number: a bounded search)."""
    from scipy.optimize import minimize_scalar

    logits, labels = logits.double(), labels.long()

    def nll(log_t: float) -> float:
        return float(F.cross_entropy(logits / math.exp(log_t), labels))

    low, high = (math.log(t) for t in TEMPERATURES)
    found = minimize_scalar(nll, bounds=(low, high), method="bounded",
                            options={"xatol": 1e-4})  # fmt: skip
    return float(math.exp(found.x))


def temperature_of(subject, asked: str | float | None) -> float:
    """The temperature a front end asked for: none (1), a number above 0, or ``fit`` (fitted
    on the subject's validation split, as `mnist-tui calibration` does); SettingError else."""
    from engine.errors import SettingError

    if asked is None or asked == "":
        return 1.0
    if str(asked).strip().lower() == "fit":
        return fit_temperature(logits_of(subject.model, subject.val.images), subject.val.labels)
    try:
        value = float(asked)
    except ValueError:
        raise SettingError(f"temperature: {asked!r} is not a number above 0 or 'fit'") from None
    if not (value > 0 and math.isfinite(value)):
        raise SettingError(f"temperature: {asked!r} is not a number above 0 or 'fit'")
    return value


@dataclass(frozen=True)
class CalibrationResult:
    """Before and after temperature scaling, on the test set; the fit on validation."""

    temperature: float
    before: Calibration
    after: Calibration
    val_nll_before: float
    val_nll_after: float
    images: int

    def to_dict(self) -> dict:
        return {"temperature": self.temperature, "images": self.images,
                "before": self.before.to_dict(), "after": self.after.to_dict(),
                "val_nll_before": self.val_nll_before, "val_nll_after": self.val_nll_after}  # fmt: skip

    def summary(self) -> str:
        b, a = self.before, self.after
        return (f"ECE {b.ece:.2%} (mean confidence {b.mean_confidence:.2%} for accuracy"
                f" {b.accuracy:.2%}); temperature {self.temperature:.3g} fitted on validation:"
                f" ECE {a.ece:.2%}, NLL {b.nll:.4f} -> {a.nll:.4f}")  # fmt: skip


def logits_of(model: torch.nn.Module, images: torch.Tensor, cancel=None,
              batch: int = SCORING_BATCH) -> torch.Tensor:  # fmt: skip
    """The network's logits (float32) for uint8 images, in batches: on a channels-last copy
    with any BatchNorm folded into the layer before it (``PixelModel``, ``fold_batchnorm``),
    about twice as fast on the CPU as the network as trained, in exact float32 (bfloat16
    autocast was 3-6 times slower here on an AVX-512 CPU), and the shared network untouched.
    Batches of 256 rather than 1,000 keep a layer's activations in the CPU's cache: about
    twice as fast again for the study's convnet."""
    from engine.models.zoo import fold_batchnorm

    scorer = PixelModel(fold_batchnorm(model))
    parts = []
    with torch.inference_mode():
        for first in range(0, len(images), batch):
            check_cancel(cancel, "calibration")
            parts.append(scorer(to_pixels(images[first : first + batch])).float())
    return torch.cat(parts)


def calibration_of(subject, bins: int, emit: ev.Emit = ev.ignore, cancel=None) -> CalibrationResult:
    """The subject's calibration on the test set, before and after a temperature fitted on
    its run's validation split."""
    emit(ev.ProgressMade(task="validation logits", done=0, total=2))
    val = subject.val
    val_logits = logits_of(subject.model, val.images, cancel)
    temperature = fit_temperature(val_logits, val.labels)
    emit(ev.ProgressMade(task="test logits", done=1, total=2))
    test_logits = logits_of(subject.model, subject.test.images, cancel)
    labels = subject.test.labels
    emit(ev.ProgressMade(task="done", done=2, total=2))
    return CalibrationResult(
        temperature=temperature,
        before=calibration(test_logits, labels, bins),
        after=calibration(test_logits / temperature, labels, bins),
        val_nll_before=float(F.cross_entropy(val_logits.double(), val.labels)),
        val_nll_after=float(F.cross_entropy(val_logits.double() / temperature, val.labels)),
        images=len(labels),
    )
