"""What a run amounts to (``RunSummary``: status and figures, as the lists show them): from
``summary.json`` when it is a sound summary of the folder's log, else folded from the log;
kept in memory while the run's files are unchanged. Never raises: a damaged run is
summarised as ``damaged`` with the reason."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from pathlib import Path

from engine.atomic import read_text_nofollow, write_json
from engine.config import TrainConfig, model_label
from engine.errors import RunDamaged
from engine.locations import runs_folder
from engine.runs import snapshots
from engine.runs.folders import read_config, read_name
from engine.runs.log import EVENTS, WITHOUT_BATCHES, EventReader
from engine.runs.process import process_alive
from engine.runs.state import RUNNING, STATUSES, RunState, fold

SUMMARY = "summary.json"


@dataclass(frozen=True)
class RunSummary:
    """A run's state and figures, as `mnist-tui runs` and the app's tables list them."""

    id: str
    path: str
    model: str
    status: str  # running | finished | stopped | failed | damaged
    epoch: int
    epochs: int
    best_val_accuracy: float | None
    test_accuracy: float | None
    test_loss: float | None
    train_seconds: float | None
    test_seconds: float | None
    started: str
    error: str = ""
    train_images: int | None = None  # images trained on in the evaluated epochs
    name: str = ""  # the user's label, if any
    test_images: int | None = None  # images in the test set scored at the end
    defence: str = "none"  # the adversarial training, if any (config's ``adversarial``)
    # adversarial runs: the best checkpoint's accuracy under PGD on validation images
    robust_val_accuracy: float | None = None
    # bytes the run's folder takes (checkpoints, snapshots, log); measured when listed,
    # never kept in summary.json
    disk_bytes: int | None = None

    @property
    def test_ms_per_image(self) -> float | None:
        """Inference time per test image."""
        if not self.test_seconds or not self.test_images:
            return None
        return 1000 * self.test_seconds / self.test_images

    @property
    def train_ms_per_image(self) -> float | None:
        """Training time per image: comparable between runs of different lengths."""
        if not self.train_seconds or not self.train_images:
            return None
        return 1000 * self.train_seconds / self.train_images


def disk_use(run_dir: Path) -> int:
    """The bytes of a run's files and of its snapshots (links not followed)."""
    return snapshots.files_bytes(run_dir) + snapshots.disk_use(run_dir)


def status_of(run_dir: Path, state: RunState) -> tuple[str, str]:
    """(status, error) of a run from its folded events and its process."""
    if state.outcome:
        return state.outcome, state.error
    if process_alive(run_dir):
        return "running", ""
    return "failed", "the process ended without finishing the run"


def summarize(run_dir: Path) -> RunSummary:
    """The run's status and figures — from ``summary.json`` when it is sound, else from
    the log. Never raises: a damaged run is summarised as ``damaged`` with the reason."""
    try:
        config = read_config(run_dir)  # a sound summary of a folder whose config is not, is not
        summary = _summary_file(run_dir, config) or summarize_state(
            run_dir, read_state(run_dir), config
        )
        return replace(summary, disk_bytes=disk_use(run_dir))
    except RunDamaged as error:
        return damaged_summary(run_dir, str(error))
    except (OSError, ValueError) as error:  # anything else a folder can do to us
        return damaged_summary(run_dir, f"run {run_dir.name}: {error}")


# summarize_cached: a run's summary kept while none of the files it is made from changed.
_SUMMARIES: dict[Path, tuple[tuple, RunSummary]] = {}


def _fingerprint(run_dir: Path) -> tuple:
    """What the summary depends on, in two stat calls: the log's size and time (it is
    appended to in place), and the folder's own time, which every other source changes —
    config.json, summary.json, the name and process.json are written by replacing them
    (engine.atomic), and replacing a file changes its folder. (A file edited in place by
    hand is seen when the app starts again.)"""
    folder = os.fspath(run_dir)  # strings, not Paths: a thousand runs are listed each time
    marks = []
    for path in (folder, os.path.join(folder, EVENTS)):
        try:
            info = os.lstat(path)
            marks.append((info.st_size, info.st_mtime_ns, info.st_ino))
        except OSError:
            marks.append(None)
    return tuple(marks)


def listing_mark(home: Path, running: Iterable[str]) -> tuple:
    """A mark that changes when a listing of the runs would, but for a finished run changed
    from elsewhere (renamed, resumed): the runs folder's time (a run made or removed), and
    for the ``running`` ones (run ids) their fingerprint and whether their process lives
    (one killed writes nothing). A few system calls, however many runs the home holds."""
    folder = runs_folder(home)
    try:
        own = os.lstat(folder).st_mtime_ns
    except OSError:
        own = None
    live = tuple((_fingerprint(folder / r), process_alive(folder / r)) for r in running)
    return own, live


def summarize_cached(run_dir: Path) -> RunSummary:
    """``summarize``, from memory while the run's files are unchanged (a few stat calls
    instead of reading and parsing them): views that list every run every few seconds
    stay cheap with a thousand runs. A running run is always summarised again (its
    process may have died without a word)."""
    mark = _fingerprint(run_dir)
    kept = _SUMMARIES.get(run_dir)
    if kept is not None and kept[0] == mark and kept[1].status != RUNNING:
        return kept[1]
    summary = summarize(run_dir)
    _SUMMARIES[run_dir] = (mark, summary)
    return summary


def read_state(run_dir: Path) -> RunState:
    """The run's events (but the per-batch ones), folded; RunDamaged if the log cannot be
    read."""
    reader = EventReader(run_dir, WITHOUT_BATCHES)
    events = reader.read()
    if reader.problem:
        raise RunDamaged(f"run {run_dir.name}: {reader.problem}")
    return fold(events)


def summarize_state(
    run_dir: Path, state: RunState, config: TrainConfig | None = None
) -> RunSummary:
    """A run's summary from its folded state (and its config, when already read)."""
    config = config or read_config(run_dir)
    status, error = status_of(run_dir, state)
    return RunSummary(
        id=run_dir.name,
        path=str(run_dir),
        model=model_label(config.model),
        defence=config.adversarial,
        status=status,
        epochs=0 if state.imported else config.epochs,  # imported: trained elsewhere
        started=_started(run_dir, state),
        error=error,
        name=read_name(run_dir),
        **state.figures(),
    )


def damaged_summary(run_dir: Path, reason: str) -> RunSummary:
    prefix = f"run {run_dir.name}: "
    return RunSummary(id=run_dir.name, path=str(run_dir), model="?", status="damaged",
                      epoch=0, epochs=0, best_val_accuracy=None, test_accuracy=None,
                      test_loss=None, train_seconds=None, test_seconds=None,
                      train_images=None, test_images=None, started=_started(run_dir, None),
                      error=reason.removeprefix(prefix))  # fmt: skip


def _started(run_dir: Path, state: RunState | None) -> str:
    when = state.first_time if state is not None else None
    if when is None:
        try:
            when = run_dir.stat().st_mtime
        except OSError:
            when = 0.0
    return datetime.fromtimestamp(when).strftime("%m-%d %H:%M")


_SUMMARY_TYPES = {f.name: f.type for f in fields(RunSummary) if f.name != "disk_bytes"}
LOG_BYTES = "log_bytes"  # in summary.json: the size of events.jsonl it was folded from


def _summary_file(run_dir: Path, config: TrainConfig) -> RunSummary | None:
    """``summary.json`` when it is a sound summary of this folder; None to fold the log."""
    try:
        data = json.loads(read_text_nofollow(run_dir / SUMMARY))
    except (OSError, ValueError, RecursionError):
        return None
    # the summary holds for the log it was folded from: any byte appended since (a resume)
    # and it is not trusted over the log
    if not isinstance(data, dict) or set(data) != {*_SUMMARY_TYPES, LOG_BYTES}:
        return None
    try:
        if data[LOG_BYTES] != (run_dir / EVENTS).lstat().st_size:
            return None
    except OSError:
        return None
    if data.get("status") not in STATUSES or data["status"] == "running":
        return None
    for name, kind in _SUMMARY_TYPES.items():
        value = data[name]
        allowed = (int, float) if "float" in kind else (int,) if kind.startswith("int") else (str,)
        if value is None and "None" in kind:
            continue
        if isinstance(value, bool) or not isinstance(value, allowed):
            return None
    # The folder name is the run's identity: a copied folder is its own run.
    del data[LOG_BYTES]
    return RunSummary(**{**data, "id": run_dir.name, "path": str(run_dir), "model": model_label(config.model),
                         "defence": config.adversarial, "name": read_name(run_dir)})  # fmt: skip


def write_summary(run_dir: Path) -> RunSummary:
    """Fold the log into ``summary.json`` (called when the run's process ends)."""
    size = (run_dir / EVENTS).lstat().st_size  # before reading: what is folded is this much
    summary = summarize_state(run_dir, read_state(run_dir))
    kept = {name: value for name, value in asdict(summary).items() if name in _SUMMARY_TYPES}
    write_json(run_dir / SUMMARY, {**kept, LOG_BYTES: size})
    return summary
