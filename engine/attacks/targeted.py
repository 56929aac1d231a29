"""Targeted image (study §5): from Gaussian noise, signed-gradient steps on
logit(target) − beta·MSE(x, image) give a picture near a real digit that the network calls
``target``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from engine import events as ev
from engine.attacks.start import check_cancel, check_class, device_of, frozen, gaussian_pixels
from engine.config import TARGETED_BETA, TARGETED_STEP_SIZE, TARGETED_STEPS
from engine.errors import SettingError
from engine.pixels import PixelModel, to_pixels


@dataclass(frozen=True)
class TargetedResult:
    """The image formed (1, 28, 28) in pixels, and how the target's probability grew."""

    target: int
    image: torch.Tensor
    reference: torch.Tensor  # the real image it was held near
    crossed_at: int | None  # first step whose target probability passed 0.5
    probability: float  # final target probability
    predicted: int
    mse: float  # final mean squared error to the reference, in pixel units
    curve_steps: list[int]
    probability_curve: list[float]
    logit_curve: list[float]

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "crossed_at": self.crossed_at,
            "probability": self.probability,
            "predicted": self.predicted,
            "mse": self.mse,
            "curve_steps": self.curve_steps,
            "probability_curve": self.probability_curve,
            "logit_curve": self.logit_curve,
            "image": self.image[0].tolist(),
        }

    def summary(self) -> str:
        crossed = (f"passed 0.5 at step {self.crossed_at:,}" if self.crossed_at is not None
                   else "never passed 0.5")  # fmt: skip
        return (f"called {self.predicted}; P({self.target}) {crossed}, final"
                f" {self.probability:.4f}; MSE to the real image {self.mse:.4f}")  # fmt: skip


def targeted_of(subject, image: int, target: int, beta: float, steps: int, step_size: float,
                seed: int, clamp: bool, emit: ev.Emit = ev.ignore,
                cancel=None) -> TargetedResult:  # fmt: skip
    """The targeted image near the subject's test image ``image`` (see ``targeted_image``)."""
    subject.check_index(image)
    return targeted_image(subject.model, subject.test.images[image], target, beta, steps,
                          step_size, seed, clamp=clamp, emit=emit, cancel=cancel,
                          snapshot_every=max(1, steps // 60))  # fmt: skip


def targeted_image(
    model: nn.Module,
    image: torch.Tensor,
    target: int,
    beta: float = TARGETED_BETA,
    steps: int = TARGETED_STEPS,
    step_size: float = TARGETED_STEP_SIZE,
    seed: int = 0,
    clamp: bool = True,
    emit: ev.Emit = ev.ignore,
    cancel=None,
    record_every: int = 10,
    snapshot_every: int = 0,
) -> TargetedResult:
    """Maximise logit(target) − beta·MSE(x, image) from noise; ``image`` is uint8 (28, 28)."""
    check_class(target, "target")
    if steps < 1:
        raise SettingError("steps must be at least 1")
    if beta < 0:
        raise SettingError("beta must not be negative")
    device = device_of(model)
    reference = to_pixels(image.unsqueeze(0)).to(device)
    x = gaussian_pixels(1, seed, clamp).to(device).requires_grad_(True)
    crossed_at = None
    curve_steps: list[int] = []
    probability_curve: list[float] = []
    logit_curve: list[float] = []
    with frozen(PixelModel(model)) as pixel_model:
        # ``done`` counts the updates the image has had (0: the starting noise); each point
        # of the curves is the image after that many steps, the last one the final image
        for done in range(steps + 1):
            logits = pixel_model(x)
            probability = F.softmax(logits.detach(), 1)[0, target].item()
            if crossed_at is None and probability > 0.5:
                crossed_at = done
            if done % record_every == 0 or done == steps:
                curve_steps.append(done)
                probability_curve.append(probability)
                logit_curve.append(logits[0, target].item())
                emit(ev.AttackStepped("targeted", done, steps, [logit_curve[-1]], [probability]))
                check_cancel(cancel, "targeted attack")
            if snapshot_every and (done % snapshot_every == 0 or done == steps):
                emit(ev.InputsSnapshotted("targeted", done, x.detach()[:, 0].cpu().tolist()))
            if done == steps:
                break
            objective = logits[0, target] - beta * F.mse_loss(x, reference)
            (grad,) = torch.autograd.grad(objective, x)
            with torch.no_grad():
                x += step_size * grad.sign()
                if clamp:
                    x.clamp_(0, 1)
        logits = logits.detach()
    return TargetedResult(
        target=target,
        image=x.detach()[0].cpu(),
        reference=reference[0].cpu(),
        crossed_at=crossed_at,
        probability=probability,
        predicted=int(logits.argmax(1)),
        mse=F.mse_loss(x.detach(), reference).item(),
        curve_steps=curve_steps,
        probability_curve=probability_curve,
        logit_curve=logit_curve,
    )
