"""Confusions as pictures: which digits the network takes for which, most often first, and
the test images of one (true, predicted) pair with the probabilities it gave them."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from engine.data import Split
from engine.errors import UserFacing
from engine.inside.scan import outputs


@dataclass(frozen=True)
class Confusions:
    """The confused pairs, most frequent first, and the images of one of them."""

    pairs: list[tuple[int, int, int]]  # (true, predicted, images), most first
    pair: tuple[int, int] | None  # the pair shown (None: the network confuses nothing)
    indices: list[int]  # its test images, the most confidently wrong first
    predicted_probability: list[float]  # P(predicted) of each
    true_probability: list[float]  # P(true) of each
    classes: list[str]
    test_images: int
    matrix: list[list[int]]  # rows true, columns predicted: every test image once

    def to_dict(self) -> dict:
        return {"pairs": [{"true": t, "predicted": p, "images": n} for t, p, n in self.pairs],
                "matrix": self.matrix,
                "pair": list(self.pair) if self.pair else None, "test_images": self.test_images,
                "images": [{"index": i, "p_predicted": pp, "p_true": pt}
                           for i, pp, pt in zip(self.indices, self.predicted_probability,
                                                self.true_probability, strict=True)]}  # fmt: skip

    def summary(self) -> str:
        if self.pair is None:
            return f"no confusion: all {self.test_images:,} test images are right"
        wrong = sum(n for _, _, n in self.pairs)
        top = "; ".join(f"{self.classes[t]} as {self.classes[p]} {n}" for t, p, n in self.pairs[:5])
        true, predicted = self.pair
        return (f"{wrong:,} of {self.test_images:,} test images wrong; most confused: {top};"
                f" shown: {len(self.indices)} {self.classes[true]}s taken for"
                f" {self.classes[predicted]}s")  # fmt: skip


def probabilities(model: nn.Module, split: Split) -> torch.Tensor:
    """Softmax probabilities of every image of ``split`` (n, classes), on the CPU."""
    return outputs(model, split, lambda logits: F.softmax(logits, dim=1))


def confusions(model: nn.Module, split: Split, classes: list[str],
               pair: tuple[int, int] | None = None, count: int = 16) -> Confusions:  # fmt: skip
    """The pairs ``model`` confuses on ``split`` and the images of ``pair`` (default: the
    most confused one), the most confidently wrong first."""
    probs = probabilities(model, split)
    predicted = probs.argmax(1)
    labels = split.labels.cpu()
    n = len(classes)
    matrix = torch.bincount(labels * n + predicted, minlength=n * n).view(n, n)
    pairs = [(t, p, int(matrix[t, p])) for t in range(n) for p in range(n)
             if t != p and matrix[t, p] > 0]  # fmt: skip
    pairs.sort(key=lambda item: (-item[2], item[0], item[1]))
    if pair is not None:
        true, guess = pair
        if true == guess:
            raise UserFacing(f"pair {true},{guess}: a confusion is a true class taken for"
                             " another; give two different digits")  # fmt: skip
        if not (0 <= true < n and 0 <= guess < n):
            raise UserFacing(f"pair {true},{guess}: the classes are 0-{n - 1}")
    elif pairs:
        pair = pairs[0][:2]
    if pair is None:
        return Confusions([], None, [], [], [], classes, len(labels), matrix.tolist())
    true, guess = pair
    chosen = torch.nonzero((labels == true) & (predicted == guess)).flatten()
    order = torch.argsort(probs[chosen, guess], descending=True)[:count]
    chosen = chosen[order]
    return Confusions(pairs, (true, guess), chosen.tolist(), probs[chosen, guess].tolist(),
                      probs[chosen, true].tolist(), classes, len(labels), matrix.tolist())  # fmt: skip


def confusions_of(subject, pair, count: int, emit=None, cancel=None) -> Confusions:
    """The analysis (engine.analyses): on the subject's test images."""
    if pair is not None and len(pair) != 2:
        raise UserFacing(f"--pair takes two digits, the true one then the predicted one (e.g."
                         f" 4,9), not {len(pair)}")  # fmt: skip
    return confusions(subject.model, subject.test, list(subject.classes),
                      tuple(pair) if pair else None, count)  # fmt: skip
