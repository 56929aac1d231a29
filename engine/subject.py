"""The subject of an analysis: a run's trained model (a checkpoint of it) with the test
images it is looked at with — loaded in one place, and loaded again when the checkpoint
file changes (a run that goes on training writes a new ``best.pt``).

One Subject's network is handed to every worker that analyses that run at that moment
(the app's screens, side by side, one after another), so **no analysis changes it**: those
that need gradients of the weights ask autograd for them (``torch.autograd.grad``, which
leaves ``.grad`` alone: histograms), and those that need only input gradients — attacks,
occlusion, attribution — work on their own copy (``engine.pixels.PixelModel``), whose
weights they freeze and lay out channels-last. A copy rather than freezing in place: an
attack cancelled from the app is still inside its network for a moment, and when that was
the shared one, the histograms screen opened next found its weights without gradients
("element 0 of tensors does not require grad"). With copies nothing needs waiting for.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from engine import runs
from engine.data import Dataset, Split, load_dataset
from engine.errors import CheckpointError, UserFacing
from engine.locations import data_cache
from engine.models.files import changed_since
from engine.runs.snapshots import BEST, Moment


@dataclass(frozen=True)
class Subject:
    """A model (eval mode, on the device it was loaded for: the CPU unless asked) and its
    test split."""

    run_id: str
    model_name: str
    model: nn.Module
    test: Split
    classes: list[str]
    checkpoint: str = BEST
    version: tuple[int, int] = (0, 0)  # the checkpoint file's (mtime_ns, size) when loaded
    notice: str = ""  # what the user should know, e.g. that their model file has changed
    # the run's own validation split, made on first use (a second): what an analysis fits,
    # such as a temperature, is fitted on it, never on the test images
    make_val: Callable[[], Split] | None = field(default=None, repr=False, compare=False)
    # where what is derived from the test images is kept (engine.beyond.corruptions' sets)
    cache: Path | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def val(self) -> Split:
        if self.make_val is None:
            raise UserFacing(f"run {self.run_id}: its validation split is not known here")
        return self.make_val()

    def check_index(self, index: int) -> None:
        """UserFacing error unless ``index`` names a test image."""
        if not 0 <= index < len(self.test):
            raise UserFacing(
                f"image index {index} is out of range: the test set has {len(self.test):,}"
                f" images (0-{len(self.test) - 1})"
            )


def checkpoint_version(run_dir: Path, checkpoint: str) -> tuple[int, int]:
    """What identifies one written state of a checkpoint file: (mtime_ns, size)."""
    path = Moment.parse(checkpoint).path(run_dir)  # a snapshot: or one line naming those kept
    try:
        stat = path.lstat()
    except FileNotFoundError:
        raise CheckpointError(f"run {run_dir.name} has no {checkpoint}.pt yet") from None
    return stat.st_mtime_ns, stat.st_size


class Subjects:
    """Subjects by run and checkpoint, reloaded when the checkpoint file changed; datasets
    by folder, loaded once. Safe to call from several threads."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._subjects: dict[tuple[str, str, str], Subject] = {}
        self._datasets: dict[str | None, Dataset] = {}
        self._lock = threading.Lock()

    def get(self, run_dir: Path, checkpoint: str = BEST, device: str = "cpu") -> Subject:
        with self._lock:
            version = checkpoint_version(run_dir, checkpoint)
            key = (str(run_dir), checkpoint, device)
            cached = self._subjects.get(key)
            if cached is None or cached.version != version:
                cached = self._load(run_dir, checkpoint, version, device)
                self._subjects[key] = cached
            return cached

    def _load(
        self, run_dir: Path, checkpoint: str, version: tuple[int, int], device: str
    ) -> Subject:
        config = runs.read_config(run_dir)
        model = runs.load_run_model(run_dir, checkpoint, device)
        if config.data not in self._datasets:
            folder = Path(config.data) if config.data else None
            self._datasets[config.data] = load_dataset(data_cache(self.home), folder=folder)
        dataset = self._datasets[config.data]
        from engine.data import split_dataset

        def make_val() -> Split:
            return split_dataset(dataset, seed=config.seed, subset=config.subset).val

        return Subject(
            run_id=run_dir.name,
            model_name=config.model,
            model=model,
            test=Split(dataset.test_images, dataset.test_labels),
            classes=dataset.classes,
            checkpoint=checkpoint,
            version=version,
            notice=changed_since(run_dir) or "",
            make_val=make_val,
            cache=data_cache(self.home).parent / "derived",
        )


def load_subject(home: Path, run_dir: Path, checkpoint: str = BEST, device: str = "cpu") -> Subject:
    """A run's model (on ``device``) and the test split of the data it was trained on (no
    caching)."""
    return Subjects(home).get(run_dir, checkpoint, device)
