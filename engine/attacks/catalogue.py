"""The attacks of the robustness curve as classes with one call shape, registered by name,
each saying what it is (``about``) and how its settings read (``words``): the CLI's help, the
robustness declaration, the app and the report take both from here. Imports no torch until
an attack is made, so listing them costs nothing.

``make_attack(name, model, eps, **params)(images, labels)`` gives adversarial images (pixels in
[0, 1]), as torchattacks' attacks do; ``right_after(images, labels, indices)`` says which
images every try of the attack failed to fool — what the robustness curve counts. Each
class takes the parameters it uses from the robustness analysis's declaration (steps, alpha,
random_start, restarts, targets, queries) and ignores the others.

Random starts are drawn per image from its index in the split and the restart
(``image_noise``): an image meets the same start alone or in any batch, so ``Worst`` — each
attack on the survivors of the ones before — gives each image what it would have met alone.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, ClassVar

from engine.config import (
    APGD_STEPS,
    APGD_TARGETS,
    PGD_ALPHA,
    PGD_STEPS,
    SQUARE_QUERIES,
)
from engine.errors import SettingError

if TYPE_CHECKING:
    import torch
    from torch import nn


def image_noise(indices: torch.Tensor, restart: int, device: torch.device) -> torch.Tensor:
    """Uniform noise in [0, 1) of shape (n, 1, 28, 28), a function of each image's index in
    the split and the restart only — the same for an image in any batch."""
    import torch

    rows = []
    for index in indices.tolist():
        generator = torch.Generator().manual_seed(index * 1_009 + restart)
        rows.append(torch.rand(1, 28, 28, generator=generator))
    return torch.stack(rows).to(device)


class Attack:
    """An L-infinity attack of radius ``eps`` on a model of normalised images."""

    name: ClassVar[str] = ""
    about: ClassVar[str] = ""  # what it is, in a line (the help and the report say it)
    restartable: ClassVar[bool] = True  # random tries differ, so restarts are worth running

    @classmethod
    def words(cls, values: dict) -> str:
        """The attack as output names it, with the settings it uses from the robustness
        analysis's ``values``: 'PGD (40 steps of 0.01, 2 restarts)'."""
        return f"{cls.name.upper()}{restarts_words(values)}"

    def __init__(self, model: nn.Module, eps: float, restarts: int = 1) -> None:
        from engine.pixels import PixelModel

        if eps < 0:
            raise SettingError("eps must not be negative")
        if restarts < 1:
            raise SettingError("restarts must be at least 1")
        self.forward = PixelModel(model)
        self.eps, self.restarts = eps, restarts
        self.work = 0  # forward-backward passes per image, summed over images

    @property
    def parts(self) -> tuple[Attack, ...]:
        """The attacks an image must survive in turn (one, except for ``Worst``)."""
        return (self,)

    def __call__(self, images, labels, indices=None) -> torch.Tensor:
        """Adversarial images: for each image, the first try's that fooled the model (or the
        last try's)."""
        import torch

        from engine.attacks.start import frozen

        indices = torch.arange(len(labels)) if indices is None else indices
        result = images.clone()
        alive = torch.ones(len(labels), dtype=torch.bool, device=labels.device)
        with frozen(self.forward):
            for restart in range(self.tries):
                keep = alive.nonzero()[:, 0]
                if len(keep) == 0 or self.eps == 0:
                    break
                right, x = self.attempt(images[keep], labels[keep], indices[keep.cpu()], restart)
                result[keep] = x
                alive[keep] = right
        return result

    def right_after(self, images, labels, indices) -> torch.Tensor:
        """Whether each image is still classified right after every try of the attack."""
        import torch

        from engine.attacks.start import frozen

        if self.eps == 0 or len(labels) == 0:
            return self.right(images, labels)
        right = torch.ones(len(labels), dtype=torch.bool, device=labels.device)
        with frozen(self.forward):
            for restart in range(self.tries):
                alive = right.nonzero()[:, 0]
                if len(alive) == 0:
                    break
                right[alive] = self.attempt(images[alive], labels[alive],
                                            indices[alive.cpu()], restart)[0]  # fmt: skip
        return right

    @property
    def tries(self) -> int:
        return self.restarts if self.restartable else 1

    def right(self, x, labels) -> torch.Tensor:
        import torch

        with torch.no_grad():  # not inference mode: the answer is updated in place
            return self.forward(x).argmax(1) == labels

    def attempt(self, images, labels, indices, restart: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One try: (still right, adversarial images)."""
        raise NotImplementedError


def restarts_words(values: dict, before: str = " (", after: str = ")") -> str:
    restarts = values.get("restarts", 1)
    return f"{before}{restarts} restarts{after}" if restarts > 1 else ""


ATTACKS: dict[str, type[Attack]] = {}


def registered(cls: type[Attack]) -> type[Attack]:
    ATTACKS[cls.name] = cls
    return cls


@registered
class FGSM(Attack):
    """FGSM — Goodfellow, Shlens and Szegedy, "Explaining and Harnessing Adversarial
    Examples" (2015): one signed-gradient step of size eps that raises the loss."""

    name = "fgsm"
    about = "one signed step of eps (Goodfellow et al. 2015)"
    restartable = False

    @classmethod
    def words(cls, values: dict) -> str:
        return "FGSM"

    def attempt(self, images, labels, indices, restart):
        from engine.attacks.pgd import projected_steps

        x = projected_steps(self.forward, images, labels, self.eps, self.eps, 1)
        self.work += len(labels)
        return self.right(x, labels), x


@registered
class PGD(Attack):
    """PGD — Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks"
    (2018): ``steps`` signed-gradient steps of ``alpha``, each projected back into the ball
    and into [0, 1]; from the image or from a random point in the ball. The arguments in
    torchattacks' order."""

    name = "pgd"
    about = "projected signed steps from the image or a random point (Madry et al. 2018)"

    @classmethod
    def words(cls, values: dict) -> str:
        start = ", random start" if values.get("random_start") else ""
        return (f"PGD ({values.get('steps', PGD_STEPS)} steps of"
                f" {values.get('alpha', PGD_ALPHA):g}{start}{restarts_words(values, ', ', '')})")  # fmt: skip

    def __init__(self, model, eps, alpha: float = PGD_ALPHA, steps: int = PGD_STEPS,
                 random_start: bool = False, restarts: int = 1) -> None:  # fmt: skip
        super().__init__(model, eps, restarts)
        if alpha <= 0 or steps < 1:
            raise SettingError("PGD needs alpha > 0 and steps >= 1")
        self.steps, self.alpha, self.random_start = steps, alpha, random_start

    @property
    def restartable(self) -> bool:  # from the image itself every try is the same
        return self.random_start

    def attempt(self, images, labels, indices, restart):
        from engine.attacks.pgd import projected_steps

        start = image_noise(indices, restart, images.device) if self.random_start else None
        x = projected_steps(self.forward, images, labels, self.eps, self.alpha, self.steps, start)
        self.work += len(labels) * self.steps
        return self.right(x, labels), x


@registered
class APGDCrossEntropy(Attack):
    """APGD (Croce & Hein 2020) raising the cross-entropy."""

    name = "apgd-ce"
    about = ("APGD (Croce & Hein 2020): PGD with momentum and a step size that adapts, on the"
             " cross-entropy")  # fmt: skip
    loss = "ce"

    @classmethod
    def words(cls, values: dict) -> str:
        return f"{cls.name.upper()} ({APGD_STEPS} steps{restarts_words(values, ', ', '')})"

    def attempt(self, images, labels, indices, restart):
        from engine.attacks.apgd import apgd

        noise = image_noise(indices, restart, images.device)
        self.work += len(labels) * (APGD_STEPS + 1)
        return apgd(self.forward, images, labels, self.eps, APGD_STEPS, self.loss, start=noise)


@registered
class APGDDifferenceOfLogitsRatio(APGDCrossEntropy):
    """APGD on the scale-free difference-of-logits ratio."""

    name = "apgd-dlr"
    about = "APGD on the scale-free difference-of-logits ratio"
    loss = "dlr"


@registered
class APGDTargeted(Attack):
    """APGD with the targeted DLR loss, against each of the ``targets`` classes the model
    ranks highest after the true one, on the images still right."""

    name = "apgd-t"
    about = "APGD with the targeted DLR loss against the other classes, most likely first"

    @classmethod
    def words(cls, values: dict) -> str:
        targets = values.get("targets", APGD_TARGETS)
        return (f"APGD-T ({APGD_STEPS} steps, {targets} target{'s' if targets != 1 else ''}"
                f"{restarts_words(values, ', ', '')})")  # fmt: skip

    def __init__(self, model, eps, targets: int = APGD_TARGETS, restarts: int = 1) -> None:
        super().__init__(model, eps, restarts)
        if not 1 <= targets <= 9:
            raise SettingError(f"targets must be from 1 to 9, not {targets}")
        self.targets = targets

    def attempt(self, images, labels, indices, restart):
        import torch

        from engine.attacks.apgd import apgd

        noise = image_noise(indices, restart, images.device)
        with torch.inference_mode():
            ranking = self.forward(images).sort(dim=1, descending=True).indices
        right = torch.ones(len(labels), dtype=torch.bool, device=labels.device)
        adversarial = images.clone()
        for rank in range(1, min(self.targets, ranking.shape[1] - 1) + 1):
            alive = right.nonzero()[:, 0]
            if len(alive) == 0:
                break
            targets = ranking[alive, rank]
            # the true class may be ranked below the top: skip it as a target
            targets = torch.where(targets == labels[alive], ranking[alive, 0], targets)
            self.work += len(alive) * (APGD_STEPS + 1)
            right[alive], adversarial[alive] = apgd(self.forward, images[alive], labels[alive],
                                                    self.eps, APGD_STEPS, "dlr-targeted",
                                                    targets, noise[alive])  # fmt: skip
        return right, adversarial


@registered
class SquareAttack(Attack):
    """The Square Attack (Andriushchenko et al. 2020): black-box random search."""

    name = "square"
    about = "the Square Attack: black-box random search, blind to hidden gradients"

    @classmethod
    def words(cls, values: dict) -> str:
        queries = values.get("queries", SQUARE_QUERIES)
        return f"Square ({queries:,} queries{restarts_words(values, ', ', '')})"

    def __init__(self, model, eps, queries: int = SQUARE_QUERIES, restarts: int = 1) -> None:
        super().__init__(model, eps, restarts)
        if queries < 1:
            raise SettingError("the square attack needs queries of at least 1")
        self.queries = queries

    def attempt(self, images, labels, indices, restart):
        from engine.attacks.square import square_attack

        self.work += len(labels) * self.queries
        seed = int(indices[0]) * 1_009 + restart if len(indices) else restart
        return square_attack(self.forward, images, labels, self.eps, self.queries, seed=seed)


# What `worst` runs, in this order, each on the images the ones before did not fool: the
# cheap ones first (most images fall to them), the gradient-free Square last (it catches a
# masked gradient). Named here, not taken from the order of the classes above, so that a new
# attack joins it by a decision, not by where it was written; checked against the registry.
WORST = ("fgsm", "pgd", "apgd-ce", "apgd-dlr", "apgd-t", "square")
if unknown := set(WORST) - set(ATTACKS):
    raise RuntimeError(f"worst names attacks that are not registered: {sorted(unknown)}")


@registered
class Worst(Attack):
    """Every attack of ``WORST`` in turn, each on the images the ones before did not fool:
    an image counts as robust only if it survives all (AutoAttack's idea). ``queries`` 0
    leaves the Square Attack out."""

    name = "worst"
    about = ("all of the above in turn, each on the images the ones before did not fool: an"
             " image counts as robust only if it survives every one, as in AutoAttack — the"
             " evaluation to trust for a defended network")  # fmt: skip

    @classmethod
    def words(cls, values: dict) -> str:
        queries = values.get("queries", SQUARE_QUERIES)
        parts = [ATTACKS[n].words(values) for n in WORST if n != "square" or queries > 0]
        return "the worst of " + ", ".join(parts)

    def __init__(self, model, eps, queries: int = SQUARE_QUERIES, **params) -> None:
        super().__init__(model, eps, params.get("restarts", 1))
        names = [n for n in WORST if n != "square" or queries > 0]
        self._parts = tuple(make_attack(n, model, eps, queries=queries, **params) for n in names)

    @property
    def parts(self) -> tuple[Attack, ...]:
        return self._parts

    def right_after(self, images, labels, indices) -> torch.Tensor:
        alive = self.right(images, labels)
        for part in self._parts:
            keep = alive.nonzero()[:, 0]
            if len(keep):
                alive[keep] = part.right_after(images[keep], labels[keep], indices[keep.cpu()])
        return alive

    def __call__(self, images, labels, indices=None) -> torch.Tensor:
        import torch

        indices = torch.arange(len(labels)) if indices is None else indices
        result = images.clone()
        alive = self.right(images, labels)
        for part in self._parts:
            keep = alive.nonzero()[:, 0]
            if len(keep) == 0:
                break
            x = part(images[keep], labels[keep], indices[keep.cpu()])
            result[keep] = x
            alive[keep] = self.right(x, labels[keep])
        return result


def make_attack(name: str, model: nn.Module, eps: float, **params) -> Attack:
    """The attack ``name`` at radius ``eps`` with the ``params`` its class takes."""
    if name not in ATTACKS:
        raise SettingError(f"attack must be one of {', '.join(ATTACKS)}, not {name!r}")
    cls = ATTACKS[name]
    accepted = set(inspect.signature(cls.__init__).parameters)
    if "params" in accepted:  # Worst hands everything on to its parts
        return cls(model, eps, **params)
    return cls(model, eps, **{k: v for k, v in params.items() if k in accepted})
