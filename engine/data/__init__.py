"""MNIST-format data: sources (folder, cache, offline copy, download), idx files, splits,
and your own pictures brought to MNIST's form (``engine.data.own_digits``).

A table of contents read on first use (PEP 562): the sources and splits need torch, whose
import takes one to two seconds, and ``own_digits`` does not — ``predict --image`` on a run's
ONNX copy must not wait for it.
"""

import importlib

_HOME = {
    "DataError": "engine.errors",
    "DataUnavailable": "engine.data.sources",
    "Dataset": "engine.data.sources",
    "from_arrays": "engine.data.sources",
    "load_dataset": "engine.data.sources",
    "load_folder": "engine.data.sources",
    "MEAN": "engine.data.splits",
    "STD": "engine.data.splits",
    "Split": "engine.data.splits",
    "Splits": "engine.data.splits",
    "batch_count": "engine.data.splits",
    "batches": "engine.data.splits",
    "normalise": "engine.data.splits",
    "split_dataset": "engine.data.splits",
}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'engine.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
