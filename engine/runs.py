"""Runs on disk: one folder per run under the home, holding ``config.json``,
``events.jsonl`` (every event, appended and flushed as it happens), the checkpoints,
``process.json`` while a process works on it, and ``summary.json`` once it ends.

Anyone can follow a run by reading its log; a half-written last line is never trusted.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine import events as ev
from engine.atomic import write_json
from engine.config import TrainConfig
from engine.home import runs_folder

CONFIG = "config.json"
EVENTS = "events.jsonl"
PROCESS = "process.json"
SUMMARY = "summary.json"
TERMINAL = (ev.RunFinished, ev.RunStopped, ev.RunFailed)


class RunNotFound(Exception):
    """No run matches the name given; the message lists what there is."""


def create_run(home: Path, config: TrainConfig) -> Path:
    """A new run folder with its ``config.json``; the folder name is the run id."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = runs_folder(home) / f"{stamp}-{config.model}-{secrets.token_hex(2)}"
    run_dir.mkdir(parents=True)
    write_json(run_dir / CONFIG, config.to_dict())
    return run_dir


def read_config(run_dir: Path) -> TrainConfig:
    """The settings a run was started with."""
    return TrainConfig.from_dict(json.loads((run_dir / CONFIG).read_text()))


def list_runs(home: Path) -> list[Path]:
    """Every run folder, oldest first."""
    folder = runs_folder(home)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p / CONFIG).is_file())


def find_run(home: Path, name: str) -> Path:
    """A run by id, unique id prefix, or ``latest``."""
    runs = list_runs(home)
    if not runs:
        raise RunNotFound(f"no runs in {runs_folder(home)}; start one with `mnist-tui train`")
    if name == "latest":
        return runs[-1]
    matches = [p for p in runs if p.name == name] or [p for p in runs if p.name.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(p.name for p in runs[-5:])
    if not matches:
        raise RunNotFound(f"no run named {name!r}; recent runs: {known}")
    raise RunNotFound(f"{name!r} matches {len(matches)} runs; give more of the id")


class EventLog:
    """An ``emit`` that appends each event to ``events.jsonl`` and flushes it at once."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / EVENTS
        self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def __call__(self, event: ev.Event) -> None:
        self._handle.write(ev.event_to_json(event) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class EventReader:
    """Reads a run's log incrementally; ``read()`` returns the events completed since the
    last call and leaves a half-written last line for next time. Event types named in
    ``skip`` are passed over before any JSON is decoded (a log is mostly BatchTrained)."""

    def __init__(self, run_dir: Path, skip: tuple[type[ev.Event], ...] = ()) -> None:
        self.path = run_dir / EVENTS
        self.offset = 0
        # event_to_json writes the type first, so a prefix identifies a line's event
        self._skip = tuple(f'{{"event":"{kind.__name__}"'.encode() for kind in skip)

    def read(self) -> list[ev.Event]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        found = []
        for line in chunk[:end].splitlines():
            if self._skip and line.startswith(self._skip):
                continue
            try:
                found.append(ev.event_from_json(line.decode("utf-8")))
            except (ValueError, KeyError, TypeError):
                continue  # a line from a newer version or a damaged one: skip, never crash
        return found


def read_events(run_dir: Path, skip: tuple[type[ev.Event], ...] = ()) -> list[ev.Event]:
    """Every complete event of a run's log, but those of the types in ``skip``."""
    return EventReader(run_dir, skip).read()


# What a run's summary and its epoch history need: everything but the per-batch flood.
WITHOUT_BATCHES = (ev.BatchTrained,)


def follow(run_dir: Path, poll: float = 0.2, cancel=None) -> Iterator[ev.Event]:
    """Yield a run's events, old then new, until it ends (or its process dies)."""
    reader = EventReader(run_dir)
    while True:
        batch = reader.read()
        yield from batch
        if any(isinstance(e, TERMINAL) for e in batch):
            return
        if cancel is not None and cancel.is_set():
            return
        if not batch and not process_alive(run_dir):
            yield from reader.read()
            return
        if not batch:
            time.sleep(poll)


# --- the process working on a run --------------------------------------------------------


def claim(run_dir: Path) -> None:
    """Record that this process works on the run (and that it has no final summary yet)."""
    (run_dir / SUMMARY).unlink(missing_ok=True)
    pid = os.getpid()
    write_json(run_dir / PROCESS, {"pid": pid, "start_ticks": _start_ticks(pid)})


def release(run_dir: Path) -> None:
    """Record that no process works on the run any more."""
    (run_dir / PROCESS).unlink(missing_ok=True)


def _start_ticks(pid: int) -> int | None:
    """When the process started (Linux), to tell it from a later one given the same pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else int(fields[19])  # a zombie has finished


def _claimant(run_dir: Path) -> dict | None:
    try:
        return json.loads((run_dir / PROCESS).read_text())
    except (OSError, ValueError):
        return None


def process_alive(run_dir: Path) -> bool:
    """Whether the process that claimed the run still runs (and is still that process)."""
    claimant = _claimant(run_dir)
    if not claimant:
        return False
    pid = claimant["pid"]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    recorded = claimant.get("start_ticks")
    return recorded is None or _start_ticks(pid) == recorded


def stop(run_dir: Path) -> bool:
    """Ask the run's process to stop gracefully (SIGTERM); False if none is running."""
    if not process_alive(run_dir):
        return False
    os.kill(_claimant(run_dir)["pid"], signal.SIGTERM)
    return True


# --- what a run amounts to ---------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    """A run's state and figures, as `mnist-tui runs` lists them."""

    id: str
    path: str
    model: str
    status: str  # running | finished | stopped | failed
    epoch: int
    epochs: int
    best_val_accuracy: float | None
    test_accuracy: float | None
    test_loss: float | None
    train_seconds: float | None
    test_seconds: float | None
    started: str
    error: str = ""


def summarize(run_dir: Path) -> RunSummary:
    """The run's status and figures, from ``summary.json`` or else its event log."""
    summary_file = run_dir / SUMMARY
    if summary_file.is_file():
        try:
            return RunSummary(**json.loads(summary_file.read_text()))
        except (ValueError, TypeError):
            pass
    return summarize_events(run_dir, read_events(run_dir, WITHOUT_BATCHES))


def summarize_events(run_dir: Path, events: list[ev.Event]) -> RunSummary:
    """Fold a run's events into its summary."""
    config = read_config(run_dir)
    figures: dict = {"epoch": 0, "best_val_accuracy": None, "test_accuracy": None,
                     "test_loss": None, "train_seconds": None, "test_seconds": None}  # fmt: skip
    status, error = "", ""
    for event in events:
        if isinstance(event, ev.EpochEvaluated):
            figures["epoch"] = event.epoch
            figures["best_val_accuracy"] = event.best_val_accuracy
            figures["train_seconds"] = (figures["train_seconds"] or 0.0) + event.seconds
        elif isinstance(event, ev.RunStarted):
            figures["epoch"] = event.start_epoch
            status = ""
        elif isinstance(event, ev.RunFinished):
            status = "finished"
            figures.update(
                best_val_accuracy=event.best_val_accuracy,
                test_accuracy=event.test_accuracy,
                test_loss=event.test_loss,
                train_seconds=event.train_seconds,
                test_seconds=event.test_seconds,
            )
        elif isinstance(event, ev.RunStopped):
            status = "stopped"
        elif isinstance(event, ev.RunFailed):
            status, error = "failed", event.error
    if not status:
        if process_alive(run_dir):
            status = "running"
        else:
            status, error = "failed", error or "the process ended without finishing the run"
    started = datetime.fromtimestamp(events[0].time if events else run_dir.stat().st_mtime)
    return RunSummary(
        id=run_dir.name,
        path=str(run_dir),
        model=config.model,
        status=status,
        epochs=config.epochs,
        started=started.strftime("%m-%d %H:%M"),
        error=error,
        **figures,
    )


def write_summary(run_dir: Path) -> RunSummary:
    """Fold the log into ``summary.json`` (called when the run's process ends)."""
    summary = summarize_events(run_dir, read_events(run_dir, WITHOUT_BATCHES))
    write_json(run_dir / SUMMARY, summary.__dict__)
    return summary


def load_run_model(run_dir: Path, checkpoint: str = "best", device: str = "cpu"):
    """The model of a run's ``best`` or ``last`` checkpoint, in eval mode."""
    from engine.checkpoints import CheckpointError, load_model

    if checkpoint not in ("best", "last"):
        raise ValueError("checkpoint must be 'best' or 'last'")
    path = run_dir / f"{checkpoint}.pt"
    if not path.is_file():
        raise CheckpointError(f"run {run_dir.name} has no {checkpoint}.pt yet")
    return load_model(path, device)
