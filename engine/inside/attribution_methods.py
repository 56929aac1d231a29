"""The attribution methods, each a class registered by name that says what it is (``about``),
what its map was made with (``made_with``) and makes the maps of a batch (``maps``), in
Captum's shape: one class a method, the scoring of maps (the deletion curve,
engine.inside.attribution) apart, as Captum keeps ``metrics`` apart from ``attr``. Read
without importing torch or Captum (the CLI's help lists the methods); they are imported
when a map is made.

Everything works in pixel space ([0, 1], normalisation inside the model, as the attacks do),
so "black" is a real baseline: the pixel value 0, like occlusion's default patch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from engine.config import OCCLUSION_PATCH, OCCLUSION_STRIDE

if TYPE_CHECKING:
    import numpy as np
    import torch


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


class Method:
    """One attribution method: ``maps(pixel_model, x, y, settings)`` gives (n, 28, 28)
    maps for a batch of pixel images ``x`` and their classes ``y``."""

    name: ClassVar[str] = ""
    about: ClassVar[str] = ""  # what it is, in a line
    needs_convolution: ClassVar[bool] = False

    @classmethod
    def made_with(cls, s: AttributionSettings) -> dict:
        """The settings its map was made with, as the output shows them."""
        return {}

    @classmethod
    def maps(cls, pixel_model, x: torch.Tensor, y: torch.Tensor,
             s: AttributionSettings) -> np.ndarray:  # fmt: skip
        raise NotImplementedError


METHODS: dict[str, type[Method]] = {}


def registered(cls: type[Method]) -> type[Method]:
    METHODS[cls.name] = cls
    return cls


def _gradients_ready(x: torch.Tensor) -> torch.Tensor:
    return x.requires_grad_(True)


def _numpy(out: torch.Tensor) -> np.ndarray:
    return out.detach()[:, 0].cpu().numpy()


def _baseline(s: AttributionSettings) -> dict:
    return {"baseline": f"pixel value {s.baseline:g}"}


@registered
class Saliency(Method):
    name = "saliency"
    about = "the gradient's size at each pixel (Simonyan et al. 2014)"

    @classmethod
    def made_with(cls, s):
        return {"abs": True}

    @classmethod
    def maps(cls, pixel_model, x, y, s):
        from captum import attr

        return _numpy(attr.Saliency(pixel_model).attribute(_gradients_ready(x), target=y,
                                                            abs=True))  # fmt: skip


@registered
class InputXGradient(Method):
    name = "input-x-gradient"
    about = "the gradient times the pixel"

    @classmethod
    def maps(cls, pixel_model, x, y, s):
        from captum import attr

        return _numpy(attr.InputXGradient(pixel_model).attribute(_gradients_ready(x), target=y))


@registered
class IntegratedGradients(Method):
    name = "integrated-gradients"
    about = "gradients summed along the path from a black image (Sundararajan et al. 2017)"

    @classmethod
    def made_with(cls, s):
        return {**_baseline(s), "steps": s.ig_steps}

    @classmethod
    def maps(cls, pixel_model, x, y, s):
        import torch
        from captum import attr

        x = _gradients_ready(x)
        # as many inputs a pass as make a batch of a few thousand: one pass for one image
        out = attr.IntegratedGradients(pixel_model).attribute(
            x, baselines=torch.full_like(x, s.baseline), target=y, n_steps=s.ig_steps,
            internal_batch_size=min(len(x) * s.ig_steps, 2500),
        )  # fmt: skip
        return _numpy(out)


@registered
class SmoothGrad(Method):
    name = "smoothgrad"
    about = "saliency averaged over noisy copies of the image (Smilkov et al. 2017)"

    @classmethod
    def made_with(cls, s):
        return {"samples": s.smoothgrad_samples, "stdev": s.smoothgrad_stdev, "seed": s.seed,
                "of": "saliency"}  # fmt: skip

    @classmethod
    def maps(cls, pixel_model, x, y, s):
        import torch
        from captum import attr

        torch.manual_seed(s.seed)
        out = attr.NoiseTunnel(attr.Saliency(pixel_model)).attribute(
            _gradients_ready(x), nt_type="smoothgrad", nt_samples=s.smoothgrad_samples,
            stdevs=s.smoothgrad_stdev, target=y, abs=True,
            nt_samples_batch_size=max(1, min(s.smoothgrad_samples, 1250 // len(x))),
        )  # fmt: skip
        return _numpy(out)


@registered
class GradCAM(Method):
    name = "gradcam"
    about = "a convolution's channels weighted by their gradient, upsampled (Selvaraju et al. 2017)"
    needs_convolution = True

    @classmethod
    def made_with(cls, s):
        return {"layer": s.gradcam_layer or "the last convolution",
                "upsampled": "bilinear to 28x28"}  # fmt: skip

    @classmethod
    def maps(cls, pixel_model, x, y, s):
        from captum import attr

        from engine.models.layers import last_convolution
        from engine.models.layers import layer as find_layer

        network = pixel_model.model
        name = s.gradcam_layer or last_convolution(network)
        coarse = attr.LayerGradCam(pixel_model, find_layer(network, name)).attribute(
            _gradients_ready(x), target=y
        )
        return _numpy(attr.LayerAttribution.interpolate(coarse, (28, 28), "bilinear"))


@registered
class DeepLIFT(Method):
    name = "deeplift"
    about = "each pixel's share of the change from a black image (Shrikumar et al. 2017)"

    @classmethod
    def made_with(cls, s):
        return _baseline(s)

    @classmethod
    def maps(cls, pixel_model, x, y, s):
        import torch
        from captum import attr

        x = _gradients_ready(x)
        return _numpy(attr.DeepLift(pixel_model).attribute(
            x, baselines=torch.full_like(x, s.baseline), target=y))  # fmt: skip


@registered
class Occlusion(Method):
    name = "occlusion"
    about = "the drop of P(class) when a patch covering the pixel is blacked out"

    @classmethod
    def made_with(cls, s):
        return {**_baseline(s), "patch": s.patch, "stride": s.stride, "of": "P(target)"}

    @classmethod
    def maps(cls, pixel_model, x, y, s):
        import numpy as np

        return np.stack([occlusion_attribution(pixel_model, x[i : i + 1], int(y[i]), s)
                         for i in range(len(x))])  # fmt: skip


def occlusion_attribution(
    pixel_model, x: torch.Tensor, target: int, settings: AttributionSettings
) -> np.ndarray:
    """Occlusion as a per-pixel map: for each pixel, the mean drop of P(target) over the
    patch positions that cover it (what Captum's Occlusion computes), from the project's
    batched occlusion maps."""
    import numpy as np
    import torch
    from torch.nn import functional as F

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


def method(name: str) -> type[Method]:
    """The method called ``name``; SettingError naming the others."""
    from engine.errors import SettingError

    if name not in METHODS:
        raise SettingError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[name]
