"""The test set shifted away from what the network was trained on, step by step — rotated by
an angle, or moved sideways by some pixels — and at each step its accuracy, mean confidence,
ECE and NLL (Ovadia et al. 2019, "Can you trust your model's uncertainty?", whose MNIST
figures rotate by 0-180 degrees and translate by 0-14 pixels). A network whose confidence
can be trusted grows less sure as it grows less right.

Rotation: about the image's centre, bilinear, the corners filled with black
(torchvision.transforms.functional.rotate). Translation: to the right, the pixels pushed
out dropped and black let in (Ovadia et al.'s translated MNIST shifts the digits the same way).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine import events as ev
from engine.attacks.start import check_cancel
from engine.beyond.calibration import BINS, calibration, logits_of
from engine.errors import SettingError

ROTATE_STEP, TRANSLATE_STEP = 15.0, 2.0


@dataclass(frozen=True)
class ShiftPoint:
    amount: float  # degrees or pixels
    accuracy: float
    mean_confidence: float
    ece: float
    nll: float


@dataclass(frozen=True)
class ShiftCurve:
    kind: str  # "rotate" or "translate"
    unit: str  # "degrees" or "pixels"
    points: list[ShiftPoint]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "unit": self.unit, "points": [p.__dict__ for p in self.points]}

    def summary(self) -> str:
        first, last = self.points[0], self.points[-1]
        return (f"{self.kind}d by {first.amount:g}-{last.amount:g} {self.unit}: accuracy"
                f" {first.accuracy:.2%} -> {last.accuracy:.2%}, mean confidence"
                f" {first.mean_confidence:.2%} -> {last.mean_confidence:.2%}, ECE"
                f" {first.ece:.2%} -> {last.ece:.2%}")  # fmt: skip


def rotated(images: torch.Tensor, degrees: float) -> torch.Tensor:
    """uint8 images (N, 28, 28) turned anticlockwise by ``degrees`` (still uint8)."""
    from torchvision.transforms.functional import InterpolationMode, rotate

    if degrees % 360 == 0:
        return images
    turned = rotate(images.unsqueeze(1).float(), float(degrees),
                    interpolation=InterpolationMode.BILINEAR, fill=0.0)  # fmt: skip
    return turned.squeeze(1).round().clamp(0, 255).to(torch.uint8)


def translated(images: torch.Tensor, pixels: int) -> torch.Tensor:
    """uint8 images moved ``pixels`` to the right, black coming in from the left."""
    pixels = int(pixels)
    if pixels == 0:
        return images
    moved = torch.zeros_like(images)
    if pixels < images.shape[-1]:
        moved[..., pixels:] = images[..., : images.shape[-1] - pixels]
    return moved


def amounts(most: float, step: float) -> list[float]:
    """0, step, 2 step ... up to ``most`` (included)."""
    count = int(np.floor(most / step + 1e-9))
    values = [round(i * step, 6) for i in range(count + 1)]
    return values if values[-1] == most else [*values, most]


def shift_of(subject, rotate: float | None, translate: int | None, step: float | None,
             emit: ev.Emit = ev.ignore, cancel=None) -> ShiftCurve:  # fmt: skip
    """The curve of the subject's test set rotated (the default, 0-180 degrees) or
    translated; SettingError when both are asked."""
    if rotate is not None and translate is not None:
        raise SettingError("shift: give --rotate or --translate, not both")
    kind = "translate" if translate is not None else "rotate"
    most = float(translate if translate is not None else 180.0 if rotate is None else rotate)
    step = step or (TRANSLATE_STEP if kind == "translate" else ROTATE_STEP)
    if kind == "translate" and step != int(step):
        raise SettingError(f"shift: --step must be whole pixels for --translate, not {step:g}")
    points = []
    values = amounts(most, step)
    for done, amount in enumerate(values):
        check_cancel(cancel, "shift")
        emit(ev.ProgressMade(task=f"{kind} {amount:g}", done=done, total=len(values)))
        images = (translated(subject.test.images, int(amount)) if kind == "translate"
                  else rotated(subject.test.images, amount))  # fmt: skip
        figures = calibration(logits_of(subject.model, images, cancel), subject.test.labels, BINS)
        points.append(ShiftPoint(amount, figures.accuracy, figures.mean_confidence, figures.ece,
                                 figures.nll))  # fmt: skip
    return ShiftCurve(kind, "pixels" if kind == "translate" else "degrees", points)
