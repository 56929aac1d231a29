"""APGD — Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
diverse parameter-free attacks" (ICML 2020), L-infinity: PGD with momentum whose step size
starts at 2 eps and halves (returning to the best point) whenever progress stalls, at
checkpoints that come closer together as the budget runs out. Losses: cross-entropy, the
difference-of-logits ratio (DLR, invariant to the logits' scale, so a network that merely
saturates its softmax does not hide its gradient), and targeted DLR.

Written here rather than taken from a library so that it works on this project's pixel
models, reports progress and stops on request between steps, and draws each image's random
start from the image's own index (an image meets the same start alone or in any batch, so
running an attack on the images that survived the previous one — as ``worst`` does — gives
each image what it would have met in the full run). torchattacks' implementation checks it
in the tests and in ``bench/robust_eval.py``.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from engine.config import APGD_STEPS

MOMENTUM = 0.75  # the weight of the new step against the last move
RHO = 0.75  # a stretch between checkpoints succeeds if the loss rose in this share of steps


def checkpoints(steps: int) -> list[int]:
    """The iterations at which the step size is reconsidered (the paper's w_j)."""
    points, p_prev, p = [0], 0.0, 0.22
    while True:
        w = int(round(p * steps))
        if w >= steps:
            return points
        if w > points[-1]:
            points.append(w)
        p_prev, p = p, p + max(p - p_prev - 0.03, 0.06)


def margin(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """True class's logit minus the largest other one: negative once the image is fooled
    (the DLR loss's numerator, and the Square Attack's loss)."""
    true = logits.gather(1, labels[:, None])[:, 0]
    others = logits.scatter(1, labels[:, None], float("-inf"))
    return true - others.max(1).values


def dlr_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per image: -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3), logits sorted descending."""
    ordered = logits.sort(dim=1).values
    return -margin(logits, labels) / (ordered[:, -1] - ordered[:, -3] + 1e-12)


def targeted_dlr_loss(
    logits: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Per image: -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2)."""
    ordered = logits.sort(dim=1).values
    z_y = logits.gather(1, labels[:, None])[:, 0]
    z_t = logits.gather(1, targets[:, None])[:, 0]
    return -(z_y - z_t) / (ordered[:, -1] - 0.5 * (ordered[:, -3] + ordered[:, -4]) + 1e-12)


def apgd(
    forward,
    images: torch.Tensor,
    labels: torch.Tensor,
    eps: float,
    steps: int = APGD_STEPS,
    loss: str = "ce",
    targets: torch.Tensor | None = None,
    start: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One run of APGD on a batch. ``forward`` maps pixels to logits; ``loss`` is ``ce``,
    ``dlr``, or ``dlr-targeted`` (with ``targets``); ``start`` is uniform noise in [0, 1)
    of the images' shape (the random start in the ball). Returns (still_right, adversarial):
    whether each image was classified correctly at every point the attack visited, and for
    the others an image that fooled the model."""
    if loss == "ce":

        def losses(logits):
            return F.cross_entropy(logits, labels, reduction="none")
    elif loss == "dlr":

        def losses(logits):
            return dlr_loss(logits, labels)
    else:

        def losses(logits):
            return targeted_dlr_loss(logits, labels, targets)

    def probe(x):
        x = x.detach().requires_grad_(True)
        logits = forward(x)
        values = losses(logits)
        (grad,) = torch.autograd.grad(values.sum(), x)
        return logits.detach(), values.detach(), grad.detach()

    def project(x):
        return torch.min(torch.max(x, images - eps), images + eps).clamp(0, 1)

    n = len(images)
    if start is None:
        start = torch.rand_like(images)
    x = project(images + (2 * start - 1) * eps)
    logits, value, grad = probe(x)
    still_right = logits.argmax(1) == labels
    adversarial = images.clone()
    adversarial[~still_right] = x[~still_right]
    best_value, best_x, best_grad = value.clone(), x.clone(), grad.clone()
    step = torch.full((n, 1, 1, 1), 2.0 * eps, device=images.device)
    history = [value]
    marks = set(checkpoints(steps)[1:])
    last_mark, best_at_mark = 0, best_value.clone()
    halved_at_mark = torch.ones(n, dtype=torch.bool, device=images.device)
    previous = x.clone()
    for i in range(steps):
        with torch.no_grad():
            move = x - previous
            previous = x
            weight = MOMENTUM if i > 0 else 1.0
            z = project(x + step * grad.sign())
            x = project(x + weight * (z - x) + (1 - weight) * move)
        logits, value, grad = probe(x)
        right = logits.argmax(1) == labels
        newly_fooled = still_right & ~right
        adversarial[newly_fooled] = x[newly_fooled]
        still_right &= right
        history.append(value)
        better = value > best_value
        best_value = torch.where(better, value, best_value)
        best_x[better], best_grad[better] = x[better], grad[better]
        if i + 1 in marks:
            span = i + 1 - last_mark
            rises = sum(
                (history[j] > history[j - 1]).float()
                for j in range(len(history) - span, len(history))
            )
            stalled = rises <= RHO * span
            unimproved = ~halved_at_mark & (best_value <= best_at_mark)
            halve = stalled | unimproved
            halved_at_mark, best_at_mark, last_mark = halve, best_value.clone(), i + 1
            if halve.any():
                step[halve] /= 2
                x = torch.where(halve[:, None, None, None], best_x, x)
                grad = torch.where(halve[:, None, None, None], best_grad, grad)
    return still_right, adversarial
