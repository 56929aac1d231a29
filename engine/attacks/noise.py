"""Adding noise (study §5): find noise n so that the real image + n is classified as the
target, by signed-gradient steps on image + n (the original optimised n alone and added the
image afterwards — a mistake). Each image stops as soon as its prediction flips."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from engine import events as ev
from engine.attacks.start import check_cancel, check_class, device_of, frozen
from engine.config import NOISE_STEP_SIZE, NOISE_STEPS
from engine.data import Split
from engine.errors import SettingError
from engine.pixels import PixelModel, to_pixels


@dataclass(frozen=True)
class NoiseResult:
    """One row per (image, target) pair; ``steps`` is None where the target was not reached."""

    sources: list[int]  # the true label of each image
    targets: list[int]
    indices: list[int]  # test-set index of each image (-1 when given directly)
    steps: list[int | None]
    linf: list[float]  # size of the noise actually added (after clipping to [0, 1])
    l2: list[float]
    predicted: list[int]
    images: torch.Tensor  # (n, 1, 28, 28) the originals, pixels
    adversarial: torch.Tensor  # (n, 1, 28, 28) image + noise

    def pair(self, source: int, target: int) -> int | None:
        """Row of the (source, target) pair, if present."""
        for row, pair in enumerate(zip(self.sources, self.targets, strict=True)):
            if pair == (source, target):
                return row
        return None

    def to_dict(self) -> dict:
        columns = {
            "source": self.sources,
            "target": self.targets,
            "index": self.indices,
            "steps": self.steps,
            "linf": self.linf,
            "l2": self.l2,
            "predicted": self.predicted,
        }
        return {
            "rows": [
                dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)
            ]
        }

    def summary(self) -> str:
        reached = sorted(s for s in self.steps if s is not None)
        if not reached:
            return f"none of {len(self.steps)} pairs reached its target"
        return (f"{len(reached)} of {len(self.steps)} pairs reached their target; steps median"
                f" {reached[len(reached) // 2]:,}, most {reached[-1]:,}")  # fmt: skip


def noise_attack(
    model: nn.Module,
    images: torch.Tensor,
    labels: list[int],
    targets: list[int],
    max_steps: int = NOISE_STEPS,
    step_size: float = NOISE_STEP_SIZE,
    noise_std: float = 0.01,
    seed: int = 0,
    emit: ev.Emit = ev.ignore,
    cancel=None,
    indices: list[int] | None = None,
) -> NoiseResult:
    """Noise for each uint8 image (n, 28, 28) towards its target, all in one batch."""
    for t in targets:
        check_class(t, "target")
    if max_steps < 1:
        raise SettingError("max-steps must be at least 1")
    device = device_of(model)
    clean = to_pixels(images).to(device)
    target = torch.tensor(targets, device=device)
    generator = torch.Generator().manual_seed(seed)
    noise = (noise_std * torch.randn(clean.shape, generator=generator)).to(device)
    active = torch.ones(len(targets), dtype=torch.bool, device=device)
    steps = torch.full((len(targets),), -1, dtype=torch.long)
    with frozen(PixelModel(model)) as pixel_model:
        for step in range(0, max_steps + 1):
            noise.requires_grad_(True)
            adversarial = (clean + noise).clamp(0, 1)
            logits = pixel_model(adversarial)
            hit = (logits.argmax(1) == target) & active
            steps[hit.cpu()] = step
            active &= ~hit
            probs = F.softmax(logits.detach(), 1)[torch.arange(len(targets)), target]
            if step % 10 == 0:
                emit(ev.AttackStepped("noise", step, max_steps, [], probs.tolist()))
                check_cancel(cancel, "noise attack")
            if not active.any() or step == max_steps:
                break
            loss = F.cross_entropy(logits, target, reduction="sum")
            (grad,) = torch.autograd.grad(loss, noise)
            with torch.no_grad():
                # only images not yet fooled keep moving
                noise = noise - step_size * grad.sign() * active.view(-1, 1, 1, 1)
    with torch.no_grad():
        adversarial = (clean + noise.detach()).clamp(0, 1)
        added = (adversarial - clean).flatten(1)
        predicted = PixelModel(model)(adversarial).argmax(1)
    return NoiseResult(
        sources=list(labels),
        targets=list(targets),
        indices=indices or [-1] * len(targets),
        steps=[None if s < 0 else int(s) for s in steps.tolist()],
        linf=added.abs().max(1).values.tolist(),
        l2=added.norm(dim=1).tolist(),
        predicted=predicted.tolist(),
        images=clean.cpu(),
        adversarial=adversarial.cpu(),
    )


def first_correct(model: nn.Module, split: Split, digit: int) -> int:
    """Index of the first test image of ``digit`` that the model classifies right."""
    with torch.inference_mode():
        for index in (split.labels == digit).nonzero().flatten().tolist():
            logits = PixelModel(model)(to_pixels(split.images[index : index + 1]))
            if int(logits.argmax()) == digit:
                return index
    raise SettingError(f"no test image of {digit} is classified right")


def noise_table(
    model: nn.Module,
    split: Split,
    sources: list[int],
    targets: list[int],
    max_steps: int = NOISE_STEPS,
    **options,
) -> NoiseResult:
    """Every source digit (one correctly classified test image each) against every other
    target, in one batch."""
    for s in sources:
        check_class(s, "source")
    pairs = [(s, t) for s in sources for t in targets if s != t]
    if not pairs:
        raise SettingError("no (source, target) pair with different digits")
    chosen = {s: first_correct(model, split, s) for s in sources}
    indices = [chosen[s] for s, _ in pairs]
    images = split.images[torch.tensor(indices)]
    return noise_attack(
        model,
        images,
        [s for s, _ in pairs],
        [t for _, t in pairs],
        max_steps=max_steps,
        indices=indices,
        **options,
    )


def noise_of(subject, sources: tuple[int, ...], targets: tuple[int, ...], max_steps: int,
             step_size: float, seed: int, emit: ev.Emit = ev.ignore, cancel=None) -> NoiseResult:  # fmt: skip
    """``noise_table`` on the subject's test images."""
    return noise_table(subject.model, subject.test, list(sources), list(targets), max_steps,
                       step_size=step_size, seed=seed, emit=emit, cancel=cancel)  # fmt: skip
