"""MNIST-format data: sources (folder, cache, offline copy, download), idx files, splits."""

from engine.data.sources import Dataset, DataUnavailable, from_arrays, load_dataset, load_folder
from engine.data.splits import (
    MEAN,
    STD,
    Split,
    Splits,
    batch_count,
    batches,
    normalise,
    split_dataset,
)
from engine.errors import DataError

__all__ = [
    "MEAN",
    "STD",
    "DataError",
    "DataUnavailable",
    "Dataset",
    "Split",
    "Splits",
    "batch_count",
    "batches",
    "from_arrays",
    "load_dataset",
    "load_folder",
    "normalise",
    "split_dataset",
]
