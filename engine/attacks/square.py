"""Square Attack — Andriushchenko, Croce, Flammarion & Hein, "Square Attack: a
query-efficient black-box adversarial attack via random search" (ECCV 2020), L-infinity,
untargeted, on the margin loss. It uses no gradient at all: a network whose gradients
point nowhere useful ("gradient masking") fools every gradient attack but not this one, which
is why AutoAttack includes it.

From vertical stripes of +-eps, each query changes one random square window of the
perturbation to a new sign and keeps the change if the margin (true logit minus the best
other) fell; the window shrinks on the paper's schedule as the queries run out.
"""

from __future__ import annotations

import math

import torch

from engine.attacks.apgd import margin
from engine.config import SQUARE_QUERIES


def window_share(p_init: float, query: int, queries: int) -> float:
    """The paper's schedule of the window's share of the image (as if 10,000 queries)."""
    at = int(query / queries * 10_000)
    halvings = [(10, 0), (50, 1), (200, 2), (500, 3), (1000, 4), (2000, 5), (4000, 6),
                (6000, 7), (8000, 8), (10_000, 9)]  # fmt: skip
    for bound, n in halvings:
        if at <= bound:
            return p_init / 2**n
    return p_init / 2**10


@torch.no_grad()
def square_attack(
    forward,
    images: torch.Tensor,
    labels: torch.Tensor,
    eps: float,
    queries: int = SQUARE_QUERIES,
    p_init: float = 0.8,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(still right, best images): which images (n, 1, H, W pixels in [0, 1]) are still
    classified right after ``queries`` queries each, and the image of the lowest margin
    found for each (for a fooled image, one that fools the model)."""
    n, channels, height, width = images.shape
    device = images.device
    generator = torch.Generator().manual_seed(seed)

    def signs(*shape) -> torch.Tensor:
        return (torch.randint(0, 2, shape, generator=generator) * 2 - 1).float().to(device)

    best = (images + eps * signs(n, channels, 1, width)).clamp(0, 1)
    best_margin = margin(forward(best), labels)
    rows = torch.arange(height, device=device).view(1, 1, height, 1)
    cols = torch.arange(width, device=device).view(1, 1, 1, width)
    for query in range(1, queries):
        left = (best_margin > 0).nonzero()[:, 0]
        if len(left) == 0:
            break
        x, current = images[left], best[left]
        share = window_share(p_init, query, queries)
        side = min(max(int(round(math.sqrt(share * height * width / channels))), 1), height - 1)
        top = torch.randint(0, height - side, (len(left),), generator=generator).to(device)
        start = torch.randint(0, width - side, (len(left),), generator=generator).to(device)
        window = ((rows >= top.view(-1, 1, 1, 1)) & (rows < top.view(-1, 1, 1, 1) + side)
                  & (cols >= start.view(-1, 1, 1, 1)) & (cols < start.view(-1, 1, 1, 1) + side))  # fmt: skip
        sign = signs(len(left), channels, 1, 1)
        candidate = torch.where(window, (x + eps * sign).clamp(0, 1), current)
        # a window that changes nothing is a wasted query: take the other sign there
        same = ((candidate - current).abs() < 1e-7).flatten(1).all(1)
        if same.any():
            flipped = torch.where(window, (x - eps * sign).clamp(0, 1), current)
            candidate[same] = flipped[same]
        value = margin(forward(candidate), labels[left])
        better = value < best_margin[left]
        best[left[better]] = candidate[better]
        best_margin[left[better]] = value[better]
    return best_margin > 0, best
