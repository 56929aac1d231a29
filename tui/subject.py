"""The subject of an analysis command: a trained model from a run and the test images it
is looked at with, picked from the command line."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from engine import runs
from engine.data import Split, load_dataset
from engine.home import data_cache
from tui.cli import UserError, add_home, add_json


@dataclass(frozen=True)
class Subject:
    """A model (eval mode, CPU) and its test split."""

    run_id: str
    model_name: str
    model: nn.Module
    test: Split
    classes: list[str]


def add_subject_options(parser: argparse.ArgumentParser) -> None:
    """RUN, --checkpoint, --ascii, --json and --home, as every analysis command takes them."""
    parser.add_argument("run", metavar="RUN", nargs="?", default="latest",
                        help="run id, id prefix, or 'latest' (default)")  # fmt: skip
    parser.add_argument("--checkpoint", choices=["best", "last"], default="best",
                        help="which checkpoint of the run (default: best)")  # fmt: skip
    parser.add_argument("--ascii", action="store_true", help="plain ASCII images, no colour")
    add_home(parser)
    add_json(parser)


def load_subject(args: argparse.Namespace) -> Subject:
    run_dir = runs.find_run(args.home_path, args.run)
    return subject_of_run(args.home_path, run_dir, args.checkpoint)


def subject_of_run(home: Path, run_dir: Path, checkpoint: str = "best") -> Subject:
    """A run's model and the test split of the data it was trained on."""
    config = runs.read_config(run_dir)
    model = runs.load_run_model(run_dir, checkpoint)
    dataset = load_dataset(data_cache(home), folder=Path(config.data) if config.data else None)
    return Subject(
        run_id=run_dir.name,
        model_name=config.model,
        model=model,
        test=Split(dataset.test_images, dataset.test_labels),
        classes=dataset.classes,
    )


def check_index(subject: Subject, index: int) -> None:
    if not 0 <= index < len(subject.test):
        raise UserError(
            f"image index {index} is out of range: the test set has {len(subject.test):,}"
            f" images (0-{len(subject.test) - 1})"
        )
