"""Train/validation/test splits held as uint8 tensors, and batches cut from them by index and
normalised on the fly — no per-sample Python anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from engine.data.sources import Dataset
from engine.errors import DataError, SettingError

MEAN = 0.1307  # of MNIST pixels scaled to [0, 1] (study §1)
STD = 0.3081
VAL_FRACTION = 0.1


@dataclass(frozen=True)
class Split:
    """Images (n, 28, 28) uint8 and labels (n,) int64, on one device."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device | str) -> Split:
        return Split(self.images.to(device), self.labels.to(device))

    def class_counts(self, classes: int = 10) -> list[int]:
        return torch.bincount(self.labels.cpu(), minlength=classes).tolist()


@dataclass(frozen=True)
class Splits:
    """The three splits a run uses."""

    train: Split
    val: Split
    test: Split

    def to(self, device: torch.device | str) -> Splits:
        return Splits(self.train.to(device), self.val.to(device), self.test.to(device))


def _stratified_pick(labels: np.ndarray, size: int | float, seed: int) -> tuple[np.ndarray, ...]:
    """Indices (kept, picked), with ``picked`` holding ``size`` images, class-balanced."""
    # Imported here: scikit-learn brings `rich` with it, which the engine must not load.
    from sklearn.model_selection import train_test_split

    order = np.arange(len(labels))
    kept, picked = train_test_split(order, test_size=size, stratify=labels, random_state=seed)
    return np.sort(kept), np.sort(picked)


def split_dataset(
    dataset: Dataset,
    seed: int = 0,
    val_fraction: float = VAL_FRACTION,
    subset: int | None = None,
) -> Splits:
    """Stratified, seeded train/validation split of the training set (scikit-learn), the test
    set as published; ``subset`` keeps a stratified ``subset``-image training part."""
    labels = dataset.train_labels.numpy()
    present = np.unique(labels)
    if len(present) < 2:
        raise DataError(f"{dataset.source}: every training image is labelled"
                        f" {', '.join(map(str, present)) or 'nothing'}; a classifier needs at"
                        " least two classes")  # fmt: skip
    try:
        train_idx, val_idx = _stratified_pick(labels, val_fraction, seed)
    except ValueError:  # scikit-learn's stratified split needs a few images of each class
        counts = np.bincount(labels)
        raise DataError(f"{dataset.source}: {len(labels):,} training images ({counts.min()} of the"
                        " rarest class) are too few to split into training and validation; each"
                        " class needs at least 10") from None  # fmt: skip
    if subset is not None and subset < len(train_idx):
        if subset < len(dataset.classes):
            raise SettingError(f"--subset must be at least {len(dataset.classes)} (one per class)")
        _, picked = _stratified_pick(labels[train_idx], subset, seed)
        train_idx = train_idx[picked]
    train_idx_t, val_idx_t = torch.from_numpy(train_idx), torch.from_numpy(val_idx)
    return Splits(
        train=Split(dataset.train_images[train_idx_t], dataset.train_labels[train_idx_t]),
        val=Split(dataset.train_images[val_idx_t], dataset.train_labels[val_idx_t]),
        test=Split(dataset.test_images, dataset.test_labels),
    )


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (n, 28, 28) to float (n, 1, 28, 28), scaled to [0, 1] and standardised."""
    x = images.unsqueeze(1).float()
    return x.mul_(1.0 / (255.0 * STD)).sub_(MEAN / STD)


def batches(
    split: Split,
    batch_size: int,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Normalised (images, labels) batches; the last one may be smaller."""
    n = len(split)
    if shuffle:
        order = torch.randperm(n, generator=generator).to(split.labels.device)
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            yield normalise(split.images[index]), split.labels[index]
    else:
        for start in range(0, n, batch_size):
            end = start + batch_size
            yield normalise(split.images[start:end]), split.labels[start:end]


def batch_count(size: int, batch_size: int) -> int:
    """Number of batches ``batches`` yields for ``size`` images."""
    return -(-size // batch_size)
