"""How each layer's weights and gradients are spread, at one moment of training.

The gradients are those of the cross-entropy on a fixed probe of test images (the first
``PROBE_IMAGES``), computed from the weights as they were at that moment: any kept snapshot
(engine.runs.snapshots) can be looked at after the run, and a run pays nothing while it trains.
A layer's gradient is judged against its own weights (the size of the step SGD would take,
relative to the layer) and against the other layers': where it is a thousand times smaller
than the largest layer's the layer has almost stopped learning (vanishing); where one step
at the study's rate (0.1; a training run judges at its own) would move the layer by more
than its own size, it explodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from engine.config import HISTOGRAM_BINS, SETTING
from engine.data import normalise
from engine.errors import UserFacing
from engine.models.layers import weighted

PROBE_IMAGES = 512
VANISHING = 1e-3  # a layer's gradient/weight ratio this far below the largest layer's
STUDY_LR = SETTING["lr"].default  # a step is judged at it when the run's is not known


@dataclass(frozen=True)
class Histogram:
    """Counts of values in ``bins`` equal bins from ``low`` to ``high``."""

    counts: list[int]
    low: float
    high: float

    @classmethod
    def of(cls, values: torch.Tensor, bins: int) -> Histogram:
        values = values.detach().float().flatten().cpu()
        finite = values[torch.isfinite(values)]
        if len(finite) == 0:
            return cls([0] * bins, 0.0, 0.0)
        low, high = float(finite.min()), float(finite.max())
        if high == low:
            high = low + 1e-12
        counts = torch.histc(finite, bins=bins, min=low, max=high)
        return cls([int(c) for c in counts], low, high)

    def to_dict(self) -> dict:
        return {"counts": self.counts, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class LayerSpread:
    """One layer's weights and their gradient on the probe."""

    layer: str
    kind: str  # "conv" or "linear"
    weights: Histogram
    gradients: Histogram
    weight_norm: float
    gradient_norm: float

    @property
    def ratio(self) -> float:
        """The gradient's size relative to the weights' (L2 norms)."""
        return self.gradient_norm / self.weight_norm if self.weight_norm else math.inf

    def to_dict(self) -> dict:
        return {"layer": self.layer, "kind": self.kind, "weights": self.weights.to_dict(),
                "gradients": self.gradients.to_dict(), "weight_norm": self.weight_norm,
                "gradient_norm": self.gradient_norm, "ratio": self.ratio}  # fmt: skip


@dataclass(frozen=True)
class Histograms:
    """Every weighted layer's spread at one moment, in the order the layers are defined."""

    layers: list[LayerSpread]
    images: int  # in the probe
    loss: float  # on the probe

    def warnings(self) -> list[str]:
        """One sentence for each layer whose gradient vanishes or explodes."""
        return judge([s.layer for s in self.layers], [s.weight_norm for s in self.layers],
                     [s.gradient_norm for s in self.layers])  # fmt: skip

    def to_dict(self) -> dict:
        return {"images": self.images, "loss": self.loss, "warnings": self.warnings(),
                "layers": [s.to_dict() for s in self.layers]}  # fmt: skip

    def summary(self) -> str:
        warned = self.warnings()
        sizes = ", ".join(f"{s.layer} {s.ratio:.1e}" for s in self.layers)
        return (f"gradient/weight size per layer on {self.images} test images: {sizes}"
                + (f"; {len(warned)} warning(s): " + "; ".join(warned) if warned else
                   "; no layer vanishes or explodes"))  # fmt: skip


def judge(layers: list[str], weight_norms: list[float], gradient_norms: list[float],
          lr: float = STUDY_LR) -> list[str]:  # fmt: skip
    """A sentence for each layer whose gradient vanishes (its size against its weights a
    thousand times below the most changing layer's) or explodes (a plain SGD step at ``lr``
    would move the layer by more than its own size)."""
    ratios = [g / w if w else math.inf for w, g in zip(weight_norms, gradient_norms, strict=True)]
    # against the most changing layer that does not explode itself
    largest = max((r for r in ratios if math.isfinite(r) and lr * r <= 1), default=0.0)
    said = []
    for layer, weight, gradient, ratio in zip(layers, weight_norms, gradient_norms, ratios,
                                              strict=True):  # fmt: skip
        if not math.isfinite(gradient):
            said.append(f"{layer}: its gradient is not a number (the run diverged)")
        elif lr * ratio > 1:
            said.append(f"{layer}: exploding — its gradient ({gradient:.3g}) is over {1 / lr:g}"
                        f" times its weights ({weight:.3g}): a step at lr {lr:g} would move the"
                        " layer by more than its own size")  # fmt: skip
        elif largest and ratio == 0:
            said.append(f"{layer}: vanishing — its gradient is zero: nothing reaches it (every"
                        " unit after it silent, as dead ReLUs are)")  # fmt: skip
        elif largest and ratio < VANISHING * largest:
            said.append(f"{layer}: vanishing — its gradient is {largest / ratio:,.0f} times"
                        " smaller, for its weights, than the most changing layer's")  # fmt: skip
    return said


def histograms(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
               layer: str | None = None, bins: int = HISTOGRAM_BINS) -> Histograms:  # fmt: skip
    """The spread of each weighted layer of ``model`` (or only ``layer``) at its present
    weights, gradients from the cross-entropy on ``images`` (uint8, n x 28 x 28)."""
    layers = weighted(model)
    if layer is not None:
        names = [name for name, _ in layers]
        if layer not in names:
            raise UserFacing(f"layer {layer!r} is not a weighted layer of this network"
                             f" (it has {', '.join(names)})")  # fmt: skip
        layers = [(name, module) for name, module in layers if name == layer]
    loss, gradients = layer_gradients(model, [module for _, module in layers], images, labels)
    spreads = []
    for (name, module), gradient in zip(layers, gradients, strict=True):
        weight = module.weight
        spreads.append(LayerSpread(
            layer=name, kind="conv" if isinstance(module, nn.Conv2d) else "linear",
            weights=Histogram.of(weight, bins), gradients=Histogram.of(gradient, bins),
            weight_norm=float(weight.detach().norm()), gradient_norm=float(gradient.norm()),
        ))  # fmt: skip
    return Histograms(spreads, len(labels), float(loss.detach()))


def layer_gradients(model: nn.Module, modules: list[nn.Module], images: torch.Tensor,
                    labels: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:  # fmt: skip
    """The cross-entropy on ``images`` (uint8, n x 28 x 28) in eval mode and its gradient
    with respect to each module's weight (zeros where none reaches it)."""
    was_training = model.training
    model.eval()  # dropout off: the same probe gives the same gradient
    try:
        weights = [module.weight for module in modules]
        with torch.enable_grad():
            loss = F.cross_entropy(model(normalise(images)), labels)
            # autograd.grad leaves the parameters' .grad alone: the app's workers share a model
            gradients = torch.autograd.grad(loss, weights, allow_unused=True)
    finally:
        model.train(was_training)
    return loss, [
        torch.zeros_like(w) if g is None else g for w, g in zip(weights, gradients, strict=True)
    ]


def histograms_of(subject, layer: str | None, bins: int, emit=None, cancel=None) -> Histograms:
    """The analysis (engine.analyses): the subject's model on its first test images."""
    probe = min(PROBE_IMAGES, len(subject.test))
    return histograms(subject.model, subject.test.images[:probe], subject.test.labels[:probe],
                      layer, bins)  # fmt: skip
