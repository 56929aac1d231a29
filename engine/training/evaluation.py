"""Scoring a model on a split: loss, accuracy, predictions, confusion matrix."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from engine.config import SCORING_BATCH
from engine.data import Split, batches


@dataclass(frozen=True)
class Evaluation:
    """What scoring a split gives; ``predictions`` are class indices, on the CPU."""

    loss: float
    accuracy: float
    predictions: torch.Tensor
    seconds: float

    def confusion(self, labels: torch.Tensor, classes: int = 10) -> list[list[int]]:
        """Rows: true class; columns: predicted class."""
        pairs = labels.cpu() * classes + self.predictions
        return torch.bincount(pairs, minlength=classes * classes).view(classes, classes).tolist()


class ShiftedViews(nn.Module):
    """Test-time augmentation by translation: the mean of the logits of each image and of
    its four one-pixel shifts (up, down, left, right; the pixel that leaves one side comes
    back on the other, where MNIST's border is background anyway). Never flips: a flipped
    digit is another digit, or none."""

    SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        views = [self.model(torch.roll(x, shift, dims=(2, 3)) if any(shift) else x)
                 for shift in self.SHIFTS]  # fmt: skip
        return torch.stack(views).mean(0)


def per_class_accuracy(confusion: list[list[int]]) -> list[float]:
    """Fraction right for each true class (0 where a class has no images)."""
    return [row[i] / max(sum(row), 1) for i, row in enumerate(confusion)]


def evaluate(model: nn.Module, split: Split, batch_size: int = SCORING_BATCH) -> Evaluation:
    """Mean cross-entropy and accuracy of ``model`` (put in eval mode) over ``split``."""
    model.eval()
    start = time.perf_counter()
    total_loss = torch.zeros((), device=split.labels.device)
    predictions = []
    with torch.inference_mode():
        for images, labels in batches(split, batch_size):
            logits = model(images).float()
            total_loss += F.cross_entropy(logits, labels, reduction="sum")
            predictions.append(logits.argmax(1))
    predicted = torch.cat(predictions) if predictions else split.labels[:0]
    correct = (predicted == split.labels).sum().item()
    n = max(len(split), 1)
    return Evaluation(
        loss=total_loss.item() / n,
        accuracy=correct / n,
        predictions=predicted.cpu(),
        seconds=time.perf_counter() - start,
    )
