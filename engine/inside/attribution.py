"""Attribution: which pixels made the network say what it said — by the methods of
engine.inside.attribution_methods (saliency, input x gradient, integrated gradients,
SmoothGrad, Grad-CAM and DeepLIFT from Captum, occlusion from the project's own batched
implementation) — and how faithful each map is (the deletion curve), kept apart from the
methods as Captum keeps its metrics apart.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from engine import events as ev
from engine.errors import SettingError, UserFacing
from engine.inside.attribution_methods import METHODS, AttributionSettings
from engine.inside.attribution_methods import method as method_class
from engine.models.layers import convolutions, last_convolution
from engine.models.layers import layer as find_layer
from engine.pixels import PixelModel, to_pixels

# The class view averages thousands of maps: 20 integrated-gradient steps (not 50) keep it
# near a minute on a 2-core CPU; the mean of many maps hides the extra path error.
CLASS_VIEW_SETTINGS = AttributionSettings(ig_steps=20)


@dataclass(frozen=True)
class Attribution:
    """One method's map for one image and class, with its faithfulness."""

    method: str
    target: int
    attribution: np.ndarray  # (28, 28)
    settings: dict
    deletion_fraction: list[float] = field(default_factory=list)  # share of pixels removed
    deletion_probability: list[float] = field(default_factory=list)  # P(target) after it
    deletion_area: float = float("nan")  # mean of the curve: the lower, the more faithful

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "target": self.target,
            "attribution": self.attribution.tolist(),
            "settings": self.settings,
            "deletion": {
                "fraction": self.deletion_fraction,
                "probability": self.deletion_probability,
                "area": self.deletion_area,
            },  # fmt: skip
        }


def attribute(
    model: nn.Module,
    image: torch.Tensor,
    target: int,
    method: str,
    settings: AttributionSettings | None = None,
) -> np.ndarray:
    """One method's (28, 28) map for one uint8 image (28, 28) and class ``target``."""
    settings = settings or AttributionSettings()
    chosen = method_class(method)
    if not 0 <= target <= 9:
        raise SettingError(f"target must be a class 0-9, not {target}")
    pixel_model = PixelModel(model)
    x = to_pixels(image.unsqueeze(0)).to(next(model.parameters()).device)
    # DeepLIFT says, every call, that it hooks the ReLUs for the call: known, and harmless
    warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
    target_tensor = torch.tensor([target], device=x.device)
    return chosen.maps(pixel_model, x, target_tensor, settings)[0].astype(np.float32)


def deletion_curve(
    model: nn.Module,
    image: torch.Tensor,
    target: int,
    order_by: np.ndarray,
    steps: int = AttributionSettings.deletion_steps,
    baseline: float = AttributionSettings.baseline,
) -> tuple[list[float], list[float]]:
    """Remove pixels (set them to ``baseline``) most-attributed first, ``steps`` equal
    chunks; (fraction removed, P(target)) from none to all. All steps form one batch."""
    pixel_model = PixelModel(model)
    x = to_pixels(image.unsqueeze(0))[0, 0].to(next(model.parameters()).device)
    order = np.argsort(-order_by.reshape(-1), kind="stable")
    cuts = np.linspace(0, order.size, steps + 1).round().astype(int)
    batch = x.reshape(-1).repeat(steps + 1, 1)
    for row, cut in enumerate(cuts):
        batch[row, torch.as_tensor(order[:cut], device=batch.device)] = baseline
    with torch.inference_mode():
        probs = F.softmax(pixel_model(batch.view(-1, 1, 28, 28)).float(), 1)[:, target]
    return (cuts / order.size).tolist(), probs.cpu().tolist()


def curve_area(fractions: list[float], probabilities: list[float]) -> float:
    """Area under the deletion curve, on [0, 1] x [0, 1] (trapezoids)."""
    f, p = np.asarray(fractions, dtype=np.float64), np.asarray(probabilities, dtype=np.float64)
    return float(((p[1:] + p[:-1]) / 2 * np.diff(f)).sum())


def explain(
    model: nn.Module,
    image: torch.Tensor,
    target: int | None = None,
    methods: tuple[str, ...] = tuple(METHODS),
    settings: AttributionSettings | None = None,
    emit: ev.Emit = ev.ignore,
) -> tuple[int, list[Attribution], tuple[list[float], list[float]]]:
    """Every method's map for one image, each with its deletion curve; (target, maps, the
    random-order deletion curve). ``target`` defaults to the predicted class."""
    settings = settings or AttributionSettings()
    model.eval()
    if target is None:
        with torch.inference_mode():
            target = int(PixelModel(model)(to_pixels(image.unsqueeze(0))).argmax())
    results = []
    for done, method in enumerate(methods):
        emit(ev.ProgressMade(f"attribution: {method}", done, len(methods)))
        heat = attribute(model, image, target, method, settings)
        fractions, probabilities = deletion_curve(
            model, image, target, heat, settings.deletion_steps, settings.baseline
        )
        results.append(Attribution(method, target, heat, METHODS[method].made_with(settings),
                                   fractions, probabilities, curve_area(fractions, probabilities)))  # fmt: skip
    rng = np.random.default_rng(settings.seed)
    random_curves = [
        deletion_curve(model, image, target, rng.random((28, 28)), settings.deletion_steps,
                       settings.baseline)[1]
        for _ in range(5)
    ]  # fmt: skip
    fractions = results[0].deletion_fraction if results else []
    random_curve = (fractions, np.mean(random_curves, axis=0).tolist())
    emit(ev.ProgressMade("attribution", len(methods), len(methods)))
    return target, results, random_curve


def class_view(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    method: str,
    settings: AttributionSettings | None = None,
    batch_size: int = 250,
    limit: int | None = None,
    emit: ev.Emit = ev.ignore,
    cancel=None,
) -> dict[int, np.ndarray]:
    """The mean map of ``method`` over the correctly classified images of each class."""
    chosen = method_class(method)
    settings = settings or CLASS_VIEW_SETTINGS
    warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
    pixel_model = PixelModel(model.eval())
    n = len(images) if limit is None else min(limit, len(images))
    sums = {k: np.zeros((28, 28), dtype=np.float64) for k in range(10)}
    counts = dict.fromkeys(range(10), 0)
    device = next(model.parameters()).device
    for start in range(0, n, batch_size):
        if cancel is not None and cancel.is_set():
            raise InterruptedError("class view cancelled")
        x = to_pixels(images[start : start + batch_size]).to(device)
        y = labels[start : start + batch_size].to(device)
        with torch.inference_mode():
            right = pixel_model(x).argmax(1) == y
        x, y = x[right].clone(), y[right]
        if len(x) == 0:
            continue
        maps = chosen.maps(pixel_model, x, y, settings)
        for k in range(10):
            of_k = maps[(y == k).cpu().numpy()]
            sums[k] += of_k.sum(0)
            counts[k] += len(of_k)
        emit(ev.ProgressMade(f"class view: {method}", min(start + batch_size, n), n))
    return {k: (sums[k] / counts[k]).astype(np.float32) for k in range(10) if counts[k]}


@dataclass(frozen=True)
class Explanation:
    """Every method's map of one test image, and the random-order deletion curve beside."""

    index: int
    label: int
    target: int
    maps: list[Attribution]
    random_curve: tuple[list[float], list[float]]

    @property
    def random_area(self) -> float:
        return curve_area(*self.random_curve) if self.random_curve[0] else float("nan")

    def ranking(self) -> list[Attribution]:
        """The maps, most faithful (smallest deletion area) first."""
        return sorted(self.maps, key=lambda m: m.deletion_area)

    def to_dict(self) -> dict:
        return {"index": self.index, "label": self.label, "target": self.target,
                "methods": [m.to_dict() for m in self.maps],
                "random_deletion": {"fraction": self.random_curve[0],
                                    "probability": self.random_curve[1]}}  # fmt: skip

    def summary(self) -> str:
        ranked = ", ".join(f"{m.method} {m.deletion_area:.3f}" for m in self.ranking())
        return (f"faithfulness (area under the deletion curve, lower is better): {ranked};"
                f" random order {self.random_area:.3f}")  # fmt: skip


def usable_methods(model: nn.Module) -> tuple[str, ...]:
    """The methods that apply to ``model``: Grad-CAM needs a convolution."""
    return tuple(
        name for name, m in METHODS.items() if not m.needs_convolution or convolutions(model)
    )


@dataclass(frozen=True)
class ClassView:
    """Each method's mean map over the correctly classified test images of each digit."""

    maps: dict[str, dict[int, np.ndarray]]  # method -> digit -> (28, 28) mean map
    images: int  # the test images looked at (the first ones)

    def to_dict(self) -> dict:
        return {"images": self.images, "methods": {m: {str(k): v.tolist() for k, v in by.items()}
                                                   for m, by in self.maps.items()}}  # fmt: skip

    def summary(self) -> str:
        digits = max((len(by) for by in self.maps.values()), default=0)
        return (
            f"{', '.join(self.maps)}: the mean map of {digits} digits over the correctly"
            f" classified ones of the first {self.images:,} test images"
        )


def class_view_of(subject, method: str, limit: int | None, emit: ev.Emit = ev.ignore,
                  cancel=None) -> ClassView:  # fmt: skip
    """The class view by ``method``, or by every method that applies to the network but
    occlusion (64 passes an image: too slow for thousands), of the first ``limit`` test
    images (all where None)."""
    every = [m for m in usable_methods(subject.model) if m != "occlusion"]
    methods = every if method == "all" else [method]
    maps = {m: class_view(subject.model, subject.test.images, subject.test.labels, m,
                          limit=limit, emit=emit, cancel=cancel) for m in methods}  # fmt: skip
    if not any(maps.values()):
        raise UserFacing("no correctly classified image among those looked at")
    n = len(subject.test) if limit is None else min(limit, len(subject.test))
    return ClassView(maps, n)


def explanation_of(subject, image: int, method: str, target: int | None,
                   layer: str | None = None, emit: ev.Emit = ev.ignore,
                   cancel=None) -> Explanation:  # fmt: skip
    """``explain`` of the subject's test image ``image`` by ``method`` (or every method
    that applies to the network)."""
    subject.check_index(image)
    methods = usable_methods(subject.model) if method == "all" else (method,)
    if layer is not None:
        find_layer(subject.model, layer)  # a convolution of this network, or one line
    elif convolutions(subject.model):
        layer = last_convolution(subject.model)  # named in the result's settings
    settings = AttributionSettings(gradcam_layer=layer)
    target, maps, random_curve = explain(subject.model, subject.test.images[image], target,
                                         methods, settings, emit=emit)  # fmt: skip
    return Explanation(image, int(subject.test.labels[image]), target, maps, random_curve)
