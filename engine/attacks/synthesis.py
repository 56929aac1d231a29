"""Class synthesis ("non-targeted" in the original study): steps that raise the logit of
class k, until the network is sure. Two methods:

- ``sign``, the study's: from Gaussian noise, signed-gradient steps (L-infinity steepest
  ascent). A standard network ends at noise it is sure of.
- ``l2``: from mid-grey, steps along the gradient's direction (L2 steepest ascent, as
  Santurkar et al. 2019 synthesise with robust models). A robust network's gradients point
  towards digit strokes, so its images start to look like digits; the grey start matters
  because an MNIST network made robust at eps 0.3 learns to ignore dim pixels, so from a
  dark start it gives almost no gradient.

All requested classes form one batch: the logits are independent per image, so the sum's
gradient is each image's own gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from engine import events as ev
from engine.attacks.start import check_cancel, check_class, device_of, frozen, gaussian_pixels
from engine.config import SYNTHESIS_METHOD, SYNTHESIS_METHODS, synthesis_budget
from engine.errors import SettingError
from engine.pixels import PixelModel


def grey_pixels(count: int, seed: int) -> torch.Tensor:
    """(count, 1, 28, 28) mid-grey with a little noise (sd 0.05), in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    return (0.5 + 0.05 * torch.randn(count, 1, 28, 28, generator=generator)).clamp_(0, 1)


@dataclass(frozen=True)
class SynthesisResult:
    """Images (n, 1, 28, 28) in pixel units; ``curve_steps`` and ``logit_curve``
    (len(curve_steps), n) record the target logits along the way."""

    classes: list[int]
    images: torch.Tensor
    logits: list[float]  # final target logit of each image
    probabilities: list[float]  # final target probability
    predicted: list[int]
    curve_steps: list[int]
    logit_curve: list[list[float]]

    def to_dict(self) -> dict:
        return {
            "classes": self.classes,
            "logits": self.logits,
            "probabilities": self.probabilities,
            "predicted": self.predicted,
            "curve_steps": self.curve_steps,
            "logit_curve": self.logit_curve,
            "images": self.images[:, 0].tolist(),
        }

    def summary(self) -> str:
        sure = sum(p >= 0.99 and k == c for p, k, c in
                   zip(self.probabilities, self.predicted, self.classes, strict=True))  # fmt: skip
        return (f"{sure} of {len(self.classes)} images called their class with P >= 0.99;"
                f" lowest P {min(self.probabilities):.3f}")  # fmt: skip


def synthesis_of(subject, classes: tuple[int, ...], method: str, steps: int | None,
                 step_size: float | None, seed: int, clamp: bool, emit: ev.Emit = ev.ignore,
                 cancel=None) -> SynthesisResult:  # fmt: skip
    """``synthesize_classes`` of the subject's model (steps and step size: the method's)."""
    steps = synthesis_budget(method, steps)[0]
    return synthesize_classes(subject.model, list(classes), steps, step_size, seed, clamp=clamp,
                              emit=emit, cancel=cancel, method=method,
                              snapshot_every=max(1, steps // 50))  # fmt: skip


def synthesize_classes(
    model: nn.Module,
    classes: list[int],
    steps: int | None = None,
    step_size: float | None = None,
    seed: int = 0,
    clamp: bool = True,
    emit: ev.Emit = ev.ignore,
    cancel=None,
    record_every: int = 10,
    snapshot_every: int = 0,
    method: str = SYNTHESIS_METHOD,
) -> SynthesisResult:
    """Raise logit k of each image by ``steps`` steps of ``method`` (see
    ``SYNTHESIS_METHODS``; steps and step size default to the method's); with ``clamp`` the
    image stays a valid picture (pixels in [0, 1]). Every ``snapshot_every`` steps (0: never)
    the images go out as an ``InputsSnapshotted`` event."""
    for k in classes:
        check_class(k)
    if method not in SYNTHESIS_METHODS:
        raise SettingError(f"method must be one of {', '.join(SYNTHESIS_METHODS)}, not {method!r}")
    steps, step_size = synthesis_budget(method, steps, step_size)
    if steps < 1:
        raise SettingError("steps must be at least 1")
    target = torch.tensor(classes)
    rows = torch.arange(len(classes))
    device = device_of(model)
    target, rows = target.to(device), rows.to(device)
    start = (
        gaussian_pixels(len(classes), seed, clamp)
        if method == "sign"
        else grey_pixels(len(classes), seed)
    )
    x = start.to(device).requires_grad_(True)
    curve_steps, curve = [], []
    with frozen(PixelModel(model)) as pixel_model:
        # ``done`` counts the updates the images have had: logits are recorded under the
        # step that made them (0: the starting noise), and the last point is the final one
        for done in range(steps + 1):
            logits = pixel_model(x)
            chosen = logits[rows, target]
            if done % record_every == 0 or done == steps:
                values = chosen.detach().tolist()
                probs = F.softmax(logits.detach(), 1)[rows, target].tolist()
                curve_steps.append(done)
                curve.append(values)
                emit(ev.AttackStepped("synthesis", done, steps, values, probs))
                check_cancel(cancel, "synthesis")
            if snapshot_every and (done % snapshot_every == 0 or done == steps):
                emit(ev.InputsSnapshotted("synthesis", done, x.detach()[:, 0].cpu().tolist()))
            if done == steps:
                break
            (grad,) = torch.autograd.grad(chosen.sum(), x)
            with torch.no_grad():
                if method == "sign":
                    x += step_size * grad.sign()
                else:
                    norms = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
                    x += step_size * grad / norms.view(-1, 1, 1, 1)
                if clamp:
                    x.clamp_(0, 1)
        logits = logits.detach()
        probs = F.softmax(logits, 1)
    return SynthesisResult(
        classes=list(classes),
        images=x.detach(),
        logits=logits[rows, target].tolist(),
        probabilities=probs[rows, target].tolist(),
        predicted=logits.argmax(1).tolist(),
        curve_steps=curve_steps,
        logit_curve=curve,
    )
