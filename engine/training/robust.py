"""Adversarial training: the loss of one batch under a defence, and the robust validation
that tells an adversarial run's epochs apart.

The defences, each as its paper gives it (eps is an L-infinity radius in pixels of [0, 1]):
- ``fgsm-rs`` (Wong, Rice & Kolter 2020, "Fast is better than free"): a uniformly random
  start in the eps ball, one signed-gradient step of ``1.25 eps``, projected; train on it.
- ``pgd`` (Madry et al. 2018): PGD from a random start in the ball; train on the result.
- ``trades`` (Zhang et al. 2019): cross-entropy on the clean image plus ``beta`` times the
  KL divergence between the model's outputs on the clean image and on an image found by PGD
  to maximise that divergence.
- ``ibp`` (Gowal et al. 2018): no attack; ``kappa`` times the cross-entropy of the clean
  logits plus ``1 - kappa`` times that of the worst-case logits the interval bounds allow
  (engine.proof.intervals: ``-`` the lower bounds of ``z_y - z_j``). As the paper: the
  training eps is the target's plus 0.1 (0.2 for 0.1, 0.4 for 0.3), ramped up from 0 (here
  over --eps-warmup), and kappa goes from 1 to 0.5 with it. The bounds need each layer's
  eval-mode rule, so the loss is computed with the network in eval mode (Dropout off) and
  in float32; a network with BatchNorm is refused (its batch statistics would move the
  bounds).

The model here takes normalised images (as training feeds it); the attacks work in pixels.
"""

from __future__ import annotations

import weakref

import torch
from torch import nn
from torch.nn import functional as F

from engine.attacks.pgd import projected_steps
from engine.config import ATTACK_BATCH, ROBUST_VAL_IMAGES, ROBUST_VAL_STEPS, TrainConfig
from engine.data import MEAN, STD, Split
from engine.pixels import to_pixels


def on_pixels(model: nn.Module):
    """``model`` (normalised input) as a function of pixels."""
    return lambda pixels: model((pixels - MEAN) / STD).float()


def _kl(adversarial_logits: torch.Tensor, clean_logits: torch.Tensor) -> torch.Tensor:
    """KL(clean || adversarial) per batch, as TRADES writes it; from log-probabilities on
    both sides, so that a class the clean output rounds to probability 0 gives a finite
    gradient (a softmax target gives log 0 = -inf, and a NaN loss a few epochs in)."""
    return F.kl_div(
        F.log_softmax(adversarial_logits, 1),
        F.log_softmax(clean_logits, 1),
        reduction="batchmean",
        log_target=True,
    )


def adversarial_loss(
    model: nn.Module,
    pixels: torch.Tensor,
    labels: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    eps: float | None = None,
) -> torch.Tensor:
    """The training loss of one batch under ``config.adversarial`` (a plain cross-entropy
    when the run has no defence). ``model`` is in train mode and stays so; the attack runs
    with BatchNorm in eval mode, as the papers' code does, so that it does not move the
    running statistics. ``eps``: the radius now (below the setting's during the warm-up)."""
    forward = on_pixels(model)
    eps = config.eps if eps is None else eps
    if config.adversarial == "ibp":
        return ibp_loss(model, pixels, labels, config, eps)
    if not config.defended or eps <= 0:
        return F.cross_entropy(forward(pixels), labels)
    alpha = config.attack_step_size(eps)
    start = torch.rand(pixels.shape, generator=generator, device=pixels.device)
    model.eval()
    try:
        if config.adversarial == "fgsm-rs":
            attacked = projected_steps(forward, pixels, labels, eps, alpha, 1, start)
        elif config.adversarial == "pgd":
            attacked = projected_steps(forward, pixels, labels, eps, alpha, config.adv_steps, start)
        else:  # trades: a small Gaussian start, then steps that raise the KL divergence
            with torch.no_grad():
                clean = forward(pixels)
            noise = 0.001 * torch.randn(pixels.shape, generator=generator, device=pixels.device)
            attacked = projected_steps(
                forward, (pixels + noise).clamp(0, 1), clean, eps, alpha, config.adv_steps,
                loss=lambda logits, target: _kl(logits, target),
            )  # fmt: skip
            attacked = torch.min(torch.max(attacked, pixels - eps), pixels + eps)
    finally:
        model.train()
    if config.adversarial == "trades":
        clean_logits = forward(pixels)
        return F.cross_entropy(clean_logits, labels) + config.trades_beta * _kl(
            forward(attacked), clean_logits
        )
    return F.cross_entropy(forward(attacked), labels)


IBP_EPS_MARGIN = 0.1  # Gowal et al. train at 0.2 for eps 0.1 and at 0.4 for eps 0.3
_INTERVALS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def interval_network(model: nn.Module):
    """The network's IntervalNetwork, read once per network (its layers are the network's
    own, so the bounds follow the weights as they train)."""
    from engine.proof.intervals import IntervalNetwork, UnsupportedLayer

    plain = getattr(model, "model", model)  # the training loop's FastModel wraps it
    if plain not in _INTERVALS:
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in plain.modules()):
            raise UnsupportedLayer("--adversarial ibp needs a network without BatchNorm (its"
                                   " batch statistics move the bounds): try"
                                   f" {', '.join(without_batchnorm())}")  # fmt: skip
        _INTERVALS[plain] = IntervalNetwork(plain)
    return _INTERVALS[plain]


def without_batchnorm() -> list[str]:
    """The zoo's networks that interval bound training can take (none of their layers is a
    BatchNorm), read from the zoo rather than listed."""
    from engine.models.zoo import MODELS

    return [name for name, cls in MODELS.items()
            if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in cls().modules())]  # fmt: skip


def ibp_loss(model: nn.Module, pixels: torch.Tensor, labels: torch.Tensor,
             config: TrainConfig, eps: float) -> torch.Tensor:  # fmt: skip
    """Gowal et al.'s loss at ``eps`` (this moment's share of the training eps, see the
    module): kappa x clean cross-entropy + (1 - kappa) x worst-case cross-entropy."""
    from engine.proof.intervals import margins, pixel_box

    network = interval_network(model)
    target = min(1.0, config.eps + IBP_EPS_MARGIN)
    share = eps / config.eps if config.eps > 0 else 1.0  # 0 -> 1 over the warm-up
    kappa = 1.0 - 0.5 * share
    plain = network.model
    plain.eval()
    try:
        clean = plain((pixels - MEAN) / STD).float()
        loss = kappa * F.cross_entropy(clean, labels)
        if share > 0:
            worst = -margins(network.bounds(*pixel_box(pixels, share * target)), labels)
            loss = loss + (1 - kappa) * F.cross_entropy(worst, labels)
    finally:
        plain.train()
    return loss


def certified_accuracy(model: nn.Module, split: Split, eps: float) -> float:
    """Share of the first ``ROBUST_VAL_IMAGES`` images of ``split`` proven at ``eps``."""
    from engine.proof.certify import certify

    plain = getattr(model, "model", model)
    count = min(ROBUST_VAL_IMAGES, len(split))
    result = certify(plain.eval(), split.images[:count], split.labels[:count], [eps])
    return result.points[0].certified_accuracy


def robust_accuracy(model: nn.Module, split: Split, eps: float,
                    batch_size: int = ATTACK_BATCH) -> float:  # fmt: skip
    """Accuracy of ``model`` (eval mode, normalised input) under PGD with
    ``ROBUST_VAL_STEPS`` steps of 2.5 eps / steps from a random start (seeded, so every
    epoch meets the same start) on the first ``ROBUST_VAL_IMAGES`` images of ``split``."""
    model.eval()
    count = min(ROBUST_VAL_IMAGES, len(split))
    forward = on_pixels(model)
    alpha = 2.5 * eps / ROBUST_VAL_STEPS
    generator = torch.Generator(device=split.images.device).manual_seed(0)
    right = 0
    for first in range(0, count, batch_size):
        pixels = to_pixels(split.images[first : min(first + batch_size, count)])
        labels = split.labels[first : first + len(pixels)]
        start = torch.rand(pixels.shape, generator=generator, device=pixels.device)
        attacked = projected_steps(forward, pixels, labels, eps, alpha, ROBUST_VAL_STEPS, start)
        with torch.no_grad():
            right += (forward(attacked).argmax(1) == labels).sum().item()
    return right / max(count, 1)
