"""Occlusion (study §4): a patch of one pixel value slides over the image; at every position
the probabilities of the true and the predicted class say which parts the network needs.

All positions go through the model in batches, not one forward pass per position.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from engine import events as ev
from engine.config import OCCLUSION_FILL, OCCLUSION_PATCH, OCCLUSION_STRIDE
from engine.errors import SettingError
from engine.pixels import PixelModel, to_pixels

PATCH = OCCLUSION_PATCH
STRIDE = OCCLUSION_STRIDE


@dataclass(frozen=True)
class OcclusionResult:
    """Maps indexed by patch position (row, column); ``offsets`` are the patch's top-left
    pixel coordinates along either axis."""

    label: int
    predicted: int  # on the whole image
    probability: float  # of ``predicted`` on the whole image
    offsets: list[int]
    patch: int  # the patch's side in pixels
    stride: int
    fill: float  # the patch's pixel value
    true_probability: torch.Tensor  # (P, P): probability of the true class
    predicted_class: torch.Tensor  # (P, P): the class predicted with the patch there
    predicted_probability: torch.Tensor  # (P, P): that class's probability
    index: int | None = None  # the test image's index, where it is one

    @property
    def changed_positions(self) -> int:
        """Positions where the patch changes the prediction from the unoccluded one."""
        return int((self.predicted_class != self.predicted).sum())

    def summary(self) -> str:
        low = float(self.true_probability.min())
        return (f"a {self.patch}x{self.patch} patch changes the answer at"
                f" {self.changed_positions} of {self.true_probability.numel()} positions;"
                f" P(true class {self.label}) falls as low as {low:.3f}")  # fmt: skip

    def to_dict(self) -> dict:
        return {
            **({} if self.index is None else {"index": self.index}),
            "label": self.label,
            "predicted": self.predicted,
            "probability": self.probability,
            "offsets": self.offsets,
            "patch": self.patch,
            "stride": self.stride,
            "fill": self.fill,
            "changed_positions": self.changed_positions,
            "true_probability": self.true_probability.tolist(),
            "predicted_class": self.predicted_class.tolist(),
            "predicted_probability": self.predicted_probability.tolist(),
        }


def patch_offsets(size: int, patch: int, stride: int) -> list[int]:
    """Every valid top-left offset: 0, stride, ... up to size - patch."""
    if stride < 1:
        raise SettingError(f"stride must be at least 1, not {stride}")
    if not 1 <= patch <= size:
        raise SettingError(f"patch must be between 1 and the image size {size}, not {patch}")
    return list(range(0, size - patch + 1, stride))


def occluded_images(
    pixels: torch.Tensor, offsets: list[int], patch: int, fill: float
) -> torch.Tensor:
    """(P*P, 1, H, W): ``pixels`` (1, H, W) with the patch at each position, row-major."""
    count = len(offsets)
    batch = pixels.unsqueeze(0).repeat(count * count, 1, 1, 1)
    for i, top in enumerate(offsets):
        for j, left in enumerate(offsets):
            batch[i * count + j, :, top : top + patch, left : left + patch] = fill
    return batch


def occlusion_map(
    model: nn.Module,
    image: torch.Tensor,
    label: int,
    patch: int = PATCH,
    stride: int = STRIDE,
    fill: float = OCCLUSION_FILL,
    batch_size: int = 256,
    emit: ev.Emit = ev.ignore,
    cancel=None,
) -> OcclusionResult:
    """Occlusion maps for one uint8 image (28, 28); ``fill`` is a pixel value in [0, 1]."""
    if not 0.0 <= fill <= 1.0:
        raise SettingError(f"fill is a pixel value in [0, 1], not {fill}")
    offsets = patch_offsets(image.shape[-1], patch, stride)
    pixel_model = PixelModel(model)
    pixels = to_pixels(image.unsqueeze(0))[0]
    images = occluded_images(pixels, offsets, patch, fill)
    probabilities = []
    with torch.inference_mode():
        whole = F.softmax(pixel_model(pixels.unsqueeze(0)).float(), dim=1)[0]
        for start in range(0, len(images), batch_size):
            if cancel is not None and cancel.is_set():
                raise InterruptedError("occlusion cancelled")
            chunk = images[start : start + batch_size]
            probabilities.append(F.softmax(pixel_model(chunk).float(), dim=1))
            emit(ev.ProgressMade("occlusion", min(start + batch_size, len(images)), len(images)))
    probs = torch.cat(probabilities).view(len(offsets), len(offsets), -1)
    best_probability, best_class = probs.max(-1)
    return OcclusionResult(
        label=int(label),
        predicted=int(whole.argmax()),
        probability=float(whole.max()),
        offsets=offsets,
        patch=patch,
        stride=stride,
        fill=fill,
        true_probability=probs[..., label].clone(),
        predicted_class=best_class,
        predicted_probability=best_probability,
    )


def occlusion_of(subject, image: int, patch: int, stride: int, fill: float,
                 emit: ev.Emit = ev.ignore, cancel=None) -> OcclusionResult:  # fmt: skip
    """``occlusion_map`` of the subject's test image ``image``."""
    subject.check_index(image)
    label = int(subject.test.labels[image])
    result = occlusion_map(subject.model, subject.test.images[image], label, patch, stride,
                           fill, emit=emit, cancel=cancel)  # fmt: skip
    return dataclasses.replace(result, index=image)
