"""Shared fixtures: a tiny synthetic MNIST-format dataset that a network learns in seconds."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from engine.data import from_arrays, split_dataset
from engine.data.idx import FILE_NAMES, encode

# The tests pass wherever they are run: inside tmux, with NO_COLOR, on TERM=dumb, with a home
# of the caller's own. What the caller's shell says about its terminal and home is dropped
# here, for the tests and every process they start; a test that needs one sets it itself.
CALLER_ENVIRONMENT = ("TMUX", "TMUX_PANE", "STY", "TERM_PROGRAM", "TERM_PROGRAM_VERSION",
                      "COLORTERM", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "COLUMNS",
                      "LINES", "KITTY_WINDOW_ID", "WT_SESSION", "TEXTUAL", "TEXTUAL_DRIVER",
                      "MNIST_TUI_HOME")  # fmt: skip
for _name in CALLER_ENVIRONMENT:
    os.environ.pop(_name, None)
os.environ["TERM"] = "xterm-256color"


def synthetic_arrays(n_train: int = 400, n_test: int = 100, seed: int = 0):
    """Images whose class is written as a bright 6x6 block at one of ten places, plus noise."""
    rng = np.random.default_rng(seed)

    def make(n: int):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            row, col = 2 + 12 * (label // 5), 1 + 5 * (label % 5)
            images[i, row : row + 6, col : col + 6] = 250
        return images, labels.astype(np.uint8)

    return (*make(n_train), *make(n_test))


def write_idx_folder(folder: Path, arrays, gz: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    train_x, train_y, test_x, test_y = arrays
    for role, array in zip(FILE_NAMES, (train_x, train_y, test_x, test_y), strict=True):
        raw = encode(array)
        name = FILE_NAMES[role]
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return folder


@pytest.fixture(scope="session")
def tiny_arrays():
    return synthetic_arrays()


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory, tiny_arrays) -> Path:
    return write_idx_folder(tmp_path_factory.mktemp("tiny") / "mnist", tiny_arrays)


@pytest.fixture()
def tiny_dataset(tiny_arrays):
    return from_arrays(*tiny_arrays)


@pytest.fixture()
def tiny_splits(tiny_dataset):
    return split_dataset(tiny_dataset, seed=0)


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    """An empty app home, also set in the environment for subprocesses."""
    path = tmp_path / "home"
    monkeypatch.setenv("MNIST_TUI_HOME", str(path))
    return path


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory, tiny_folder) -> Path:
    """An app home holding one finished run of convnet on the tiny dataset."""
    from tui.cli.main import main

    home = tmp_path_factory.mktemp("trained") / "home"
    code = main(["--home", str(home), "train", "--data", str(tiny_folder), "--epochs", "3",
                 "--batch-size", "20", "--lr", "0.05", "--device", "cpu", "--json"])  # fmt: skip
    assert code == 0
    return home


@pytest.fixture()
def tiny_model(trained_home):
    from engine import runs

    return runs.load_run_model(runs.find_run(trained_home, "latest"))


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "long: minutes-long variants, run where MNIST_TUI_LONG_TESTS=1 (CI sets it)"
    )


def pytest_collection_modifyitems(config, items) -> None:
    if os.environ.get("MNIST_TUI_LONG_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="long variant: set MNIST_TUI_LONG_TESTS=1 (CI does)")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)
