"""Attribution: which pixels made the network say what it said — saliency, input x gradient,
integrated gradients, SmoothGrad, Grad-CAM and DeepLIFT from Captum, occlusion from the
project's own batched implementation — and how faithful each map is (the deletion curve).

Everything works in pixel space ([0, 1], normalisation inside the model, as the attacks do),
so "black" is a real baseline: the pixel value 0, like occlusion's default patch.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from engine import events as ev
from engine.config import ATTRIBUTION_METHODS, OCCLUSION_PATCH, OCCLUSION_STRIDE
from engine.errors import SettingError
from engine.models.layers import convolutions, last_convolution
from engine.models.layers import layer as find_layer
from engine.pixels import PixelModel, to_pixels

METHODS = ATTRIBUTION_METHODS


@dataclass(frozen=True)
class AttributionSettings:
    """The settings of the methods; the defaults are Captum's usual ones for MNIST-size input."""

    ig_steps: int = 50  # integrated gradients: points on the path from the baseline
    smoothgrad_samples: int = 25  # SmoothGrad: noisy copies averaged
    smoothgrad_stdev: float = 0.15  # their noise, in pixel units
    seed: int = 0  # SmoothGrad's noise and the random deletion order
    gradcam_layer: str | None = None  # None: the network's last convolution
    patch: int = OCCLUSION_PATCH
    stride: int = OCCLUSION_STRIDE
    baseline: float = 0.0  # the black image, for IG, DeepLIFT and occlusion
    deletion_steps: int = 28  # the deletion curve removes 784/28 = 28 pixels a step


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


def _method_settings(method: str, s: AttributionSettings) -> dict:
    base = {"baseline": f"pixel value {s.baseline:g}"}
    return {
        "saliency": {"abs": True},
        "input-x-gradient": {},
        "integrated-gradients": {**base, "steps": s.ig_steps},
        "smoothgrad": {
            "samples": s.smoothgrad_samples,
            "stdev": s.smoothgrad_stdev,
            "seed": s.seed,
            "of": "saliency",
        },  # fmt: skip
        "gradcam": {
            "layer": s.gradcam_layer or "the last convolution",
            "upsampled": "bilinear to 28x28",
        },
        "deeplift": {**base},
        "occlusion": {**base, "patch": s.patch, "stride": s.stride, "of": "P(target)"},
    }[method]


def attribute(
    model: nn.Module,
    image: torch.Tensor,
    target: int,
    method: str,
    settings: AttributionSettings | None = None,
) -> np.ndarray:
    """One method's (28, 28) map for one uint8 image (28, 28) and class ``target``."""
    from captum import attr

    settings = settings or AttributionSettings()
    if method not in METHODS:
        raise SettingError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if not 0 <= target <= 9:
        raise SettingError(f"target must be a class 0-9, not {target}")
    pixel_model = PixelModel(model)
    x = to_pixels(image.unsqueeze(0)).to(next(model.parameters()).device)
    # DeepLIFT says, every call, that it hooks the ReLUs for the call: known, and harmless
    warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
    if method == "occlusion":
        return occlusion_attribution(pixel_model, x, target, settings)
    target_tensor = torch.tensor([target], device=x.device)
    return _batch_attribution(attr, pixel_model, x, target_tensor, method, settings)[0].astype(
        np.float32
    )


def occlusion_attribution(
    pixel_model: nn.Module, x: torch.Tensor, target: int, settings: AttributionSettings
) -> np.ndarray:
    """Occlusion as a per-pixel map: for each pixel, the mean drop of P(target) over the
    patch positions that cover it (what Captum's Occlusion computes), from the project's
    batched occlusion maps."""
    from engine.inside.occlusion import occluded_images, patch_offsets

    offsets = patch_offsets(28, settings.patch, settings.stride)
    pixels = x[0].detach()
    batch = occluded_images(pixels, offsets, settings.patch, settings.baseline)
    with torch.inference_mode():
        whole = F.softmax(pixel_model(pixels.unsqueeze(0)).float(), 1)[0, target]
        covered = F.softmax(pixel_model(batch).float(), 1)[:, target]
    drops = (whole - covered).view(len(offsets), len(offsets)).cpu().numpy()
    total = np.zeros((28, 28), dtype=np.float64)
    count = np.zeros((28, 28), dtype=np.float64)
    for i, top in enumerate(offsets):
        for j, left in enumerate(offsets):
            total[top : top + settings.patch, left : left + settings.patch] += drops[i, j]
            count[top : top + settings.patch, left : left + settings.patch] += 1
    return (total / np.maximum(count, 1)).astype(np.float32)


def deletion_curve(
    model: nn.Module,
    image: torch.Tensor,
    target: int,
    order_by: np.ndarray,
    steps: int = 28,
    baseline: float = 0.0,
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
    methods: tuple[str, ...] = METHODS,
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
        results.append(Attribution(method, target, heat, _method_settings(method, settings),
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
    from captum import attr

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
        maps = _batch_attribution(attr, pixel_model, x, y, method, settings)
        for k in range(10):
            chosen = maps[(y == k).cpu().numpy()]
            sums[k] += chosen.sum(0)
            counts[k] += len(chosen)
        emit(ev.ProgressMade(f"class view: {method}", min(start + batch_size, n), n))
    return {k: (sums[k] / counts[k]).astype(np.float32) for k in range(10) if counts[k]}


def _batch_attribution(attr, pixel_model, x, y, method: str, s: AttributionSettings) -> np.ndarray:
    """(n, 28, 28) maps for a batch of pixel images and their classes."""
    if method == "occlusion":
        return np.stack([occlusion_attribution(pixel_model, x[i : i + 1], int(y[i]), s)
                         for i in range(len(x))])  # fmt: skip
    x = x.requires_grad_(True)
    baseline = torch.full_like(x, s.baseline)
    # as many inputs a pass as make a batch of a few thousand images: one pass for one image
    path_batch = min(len(x) * s.ig_steps, 2500)
    noisy_batch = max(1, min(s.smoothgrad_samples, 1250 // len(x)))
    if method == "saliency":
        out = attr.Saliency(pixel_model).attribute(x, target=y, abs=True)
    elif method == "input-x-gradient":
        out = attr.InputXGradient(pixel_model).attribute(x, target=y)
    elif method == "integrated-gradients":
        out = attr.IntegratedGradients(pixel_model).attribute(
            x, baselines=baseline, target=y, n_steps=s.ig_steps, internal_batch_size=path_batch
        )
    elif method == "smoothgrad":
        torch.manual_seed(s.seed)
        out = attr.NoiseTunnel(attr.Saliency(pixel_model)).attribute(
            x, nt_type="smoothgrad", nt_samples=s.smoothgrad_samples, stdevs=s.smoothgrad_stdev,
            target=y, abs=True, nt_samples_batch_size=noisy_batch,
        )  # fmt: skip
    elif method == "gradcam":
        network = pixel_model.model
        name = s.gradcam_layer or last_convolution(network)
        coarse = attr.LayerGradCam(pixel_model, find_layer(network, name)).attribute(x, target=y)
        out = attr.LayerAttribution.interpolate(coarse, (28, 28), "bilinear")
    elif method == "deeplift":
        out = attr.DeepLift(pixel_model).attribute(x, baselines=baseline, target=y)
    else:
        raise SettingError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return out.detach()[:, 0].cpu().numpy()


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
    return tuple(m for m in METHODS if m != "gradcam" or convolutions(model))


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
