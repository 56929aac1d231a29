"""Runs on disk: one folder per run under the home, holding ``config.json``,
``events.jsonl`` (every event, appended and flushed as it happens), the checkpoints,
``process.json`` and ``lock`` while a process works on it, and ``summary.json`` once it ends.

A run's identity is its folder name. Anyone can follow a run by reading its log; a
half-written last line is never trusted. A damaged folder is reported as damaged, with the
reason, and never stops the other runs from being listed. Run files are opened without
following symlinks.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from pathlib import Path

from engine import events as ev
from engine.atomic import read_text_nofollow, write_json
from engine.config import TrainConfig, model_label
from engine.errors import RunBusy, RunDamaged, RunNotFound, SettingError, UserFacing
from engine.locations import run_folder, runs_folder  # noqa: F401  (run_folder: for callers)
from engine.models.files import is_model_file
from engine.runs import snapshots
from engine.runs.process import lock_folder as take_lock
from engine.runs.process import process_alive
from engine.runs.state import STATUSES, USABLE, RunState, fold  # noqa: F401  (USABLE: for callers)

CONFIG = "config.json"
NAME = "name.json"  # a label the user gave the run (its id stays the folder name)
EVENTS = "events.jsonl"
SUMMARY = "summary.json"
BEST, LAST = (snapshots.Moment(name).file_name for name in snapshots.CHECKPOINTS)  # files
# What a run's summary and its epoch history need: everything but the per-batch flood.
WITHOUT_BATCHES = (ev.BatchTrained,)


def create_run(home: Path, config: TrainConfig) -> Path:
    """A new run folder with its ``config.json``; the folder name is the run id."""
    config.validate()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = runs_folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        run_dir = folder / f"{stamp}-{model_label(config.model)}-{secrets.token_hex(2)}"
        try:
            run_dir.mkdir()
            break
        except FileExistsError:
            continue
    if is_model_file(config.model):  # the user's source, kept with the run
        from engine.models.files import parse_args, record

        record(run_dir, config.model, parse_args(config.model_args))
    write_json(run_dir / CONFIG, config.to_dict())
    return run_dir


def read_config(run_dir: Path) -> TrainConfig:
    """The settings a run was started with; RunDamaged if ``config.json`` is unusable."""
    try:
        data = json.loads(read_text_nofollow(run_dir / CONFIG))
    except FileNotFoundError:
        raise RunDamaged(f"run {run_dir.name}: no {CONFIG}") from None
    except OSError as error:
        raise RunDamaged(
            f"run {run_dir.name}: {CONFIG} cannot be read ({error.strerror})"
        ) from None
    except (ValueError, RecursionError):
        raise RunDamaged(f"run {run_dir.name}: {CONFIG} is not JSON") from None
    try:
        return TrainConfig.from_dict(data)
    except (SettingError, TypeError) as error:
        raise RunDamaged(f"run {run_dir.name}: {CONFIG}: {error}") from None


def list_runs(home: Path) -> list[Path]:
    """Every run folder, oldest first."""
    folder = runs_folder(home)
    try:
        with os.scandir(folder) as entries:  # a folder's kind comes with its name: no stat
            folders = [folder / e.name for e in entries
                       if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]  # fmt: skip
    except FileNotFoundError:
        return []
    except OSError as error:
        raise RunNotFound(f"{folder} cannot be read ({error.strerror})") from None
    return sorted(folders, key=_created)


# _created's answers from config.json, which is written once: views that list every run
# every few seconds stat it once a run, not once a listing
_CREATED: dict[Path, tuple[int, str]] = {}


def _created(run_dir: Path) -> tuple[int, str]:
    """When a run was made: its config.json is written once, when the folder is (two runs
    started in the same second share their name's time stamp, not this)."""
    if run_dir in _CREATED:
        return _CREATED[run_dir]
    try:
        _CREATED[run_dir] = made = (run_dir.joinpath(CONFIG).lstat().st_mtime_ns, run_dir.name)
        return made
    except OSError:  # not written yet, or gone: the folder's time, asked again next time
        try:
            return run_dir.lstat().st_mtime_ns, run_dir.name
        except OSError:
            return 0, run_dir.name


def has_checkpoint(run_dir: Path, kind: str = snapshots.BEST) -> bool:
    path = run_dir / snapshots.Moment.parse(kind).file_name
    return path.is_file() and not path.is_symlink()


def find_run(home: Path, name: str, needs: str = snapshots.BEST) -> Path:
    """A run by id, name, unique id prefix or end (the short id the lists show), or
    ``latest``: the newest run that has what the
    caller ``needs`` — ``best`` (an analysis: a failed or just-started run has nothing to
    look at), ``last`` (a resume), or ``any`` (following or stopping the newest run)."""
    if not name:
        raise RunNotFound("no run named: give a run id, an id prefix, or 'latest'")
    runs = list_runs(home)
    if not runs:
        raise RunNotFound(f"no runs in {runs_folder(home)}; start one with `mnist-tui train`")
    if name == "latest":
        usable = [p for p in runs if needs == "any" or has_checkpoint(p, needs)]
        if not usable:
            raise RunNotFound(
                f"no run in {runs_folder(home)} has a {needs} checkpoint yet; train one with"
                " `mnist-tui train` (a run saves best.pt after its first epoch)"
            )
        return usable[-1]
    # the short forms the lists show are accepted too: the id's end ('b9b7') and the
    # model with it ('convnet b9b7')
    ending = name.replace(" ", "-")
    matches = (
        [p for p in runs if p.name == name]
        or [p for p in runs if read_name(p) == name]
        or [p for p in runs if p.name.startswith(name)]
        or [p for p in runs if len(ending) >= 4 and p.name.endswith(ending)]
    )
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(p.name for p in runs[-5:])
    if not matches:
        raise RunNotFound(f"no run named {name!r}; recent runs: {known}")
    raise RunNotFound(f"{name!r} matches {len(matches)} runs; give more of the id")


# --- names and deletion ------------------------------------------------------------------


def read_name(run_dir: Path) -> str:
    """The label the user gave the run, or ''. A name from a copied or edited folder is
    shown as it is, but never as terminal control: control and bidi characters become '?'."""
    try:
        data = json.loads(read_text_nofollow(run_dir / NAME))
    except (OSError, ValueError, RecursionError):
        return ""
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        return ""
    return "".join("?" if _is_control(c) else c for c in name[:NAME_LIMIT])


NAME_LIMIT = 60


def _is_control(char: str) -> bool:
    """Control (ESC, BEL...), format (bidi overrides such as U+202E, zero-width) and line or
    paragraph separators: characters that change how a terminal shows what follows."""
    import unicodedata

    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def name_run(run_dir: Path, name: str) -> None:
    """Give the run a label (shown in the lists, accepted wherever a run is named); an
    empty name removes it. A name is plain text, unique, and never taken for an id."""
    bad = sorted({f"U+{ord(c):04X}" for c in name if _is_control(c) and c not in " \t"})
    if bad:
        raise UserFacing(f"a run name is plain text: it may not hold {', '.join(bad[:5])}"
                         " (control or direction characters)")  # fmt: skip
    name = " ".join(name.split())
    if len(name) > NAME_LIMIT:
        raise UserFacing(f"a run name is at most {NAME_LIMIT} characters, not {len(name)}")
    if name == "latest":
        raise UserFacing("'latest' already means something: choose another name")
    if name.startswith("-"):
        raise UserFacing(f"a run name may not start with '-': {name!r} would be read as an"
                         " option on the command line")  # fmt: skip
    if not name:
        (run_dir / NAME).unlink(missing_ok=True)
        return
    for other in list_runs(run_dir.parent.parent):  # the home (runs live in home/runs)
        if other.name.startswith(name):
            raise UserFacing(f"{name!r} is (the start of) run id {other.name}: a name must not"
                             " be read as an id")  # fmt: skip
        if other != run_dir and read_name(other) == name:
            raise UserFacing(f"run {other.name} is already called {name!r}: names are unique")
    write_json(run_dir / NAME, {"name": name})


def delete_run(run_dir: Path) -> None:
    """Remove a run folder and everything in it; refused while a process works on it or
    holds its lock (a resume that has just started), and the lock is held while it goes."""
    import shutil

    busy = RunBusy(
        f"run {run_dir.name} is running; stop it first (`mnist-tui stop {run_dir.name}`)"
    )
    if process_alive(run_dir):
        raise busy
    lock = take_lock(run_dir, busy)
    try:
        shutil.rmtree(run_dir)
    finally:
        os.close(lock)


# --- the event log -----------------------------------------------------------------------


class EventLog:
    """An ``emit`` that appends each event to ``events.jsonl`` and flushes it at once.

    A torn last line (a process killed mid-write) is cut off first, so the next event
    starts on a line of its own."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / EVENTS
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.path, flags, 0o644)
        _cut_torn_line(fd)
        os.lseek(fd, 0, os.SEEK_END)
        self._handle = os.fdopen(fd, "a", encoding="utf-8")

    def __call__(self, event: ev.Event) -> None:
        self._handle.write(ev.event_to_json(event) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def _cut_torn_line(fd: int) -> None:
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0:
        return
    keep = size
    block = 4096
    while keep > 0:
        start = max(0, keep - block)
        chunk = os.pread(fd, keep - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        keep = start
    if keep != size:
        os.ftruncate(fd, keep)


class EventReader:
    """Reads a run's log incrementally; ``read()`` returns the events completed since the
    last call and leaves a half-written last line for next time. Event types named in
    ``skip`` are passed over before any JSON is decoded (a log is mostly BatchTrained).
    Lines that are not events of this version are counted in ``skipped``, never raised."""

    def __init__(self, run_dir: Path, skip: tuple[type[ev.Event], ...] = ()) -> None:
        self.path = run_dir / EVENTS
        self.offset = 0
        self.skipped = 0
        self.problem = ""  # why the log cannot be read at all, if it cannot
        # event_to_json writes the type first, so a prefix identifies a line's event
        self._skip = tuple(f'{{"event":"{kind.__name__}"'.encode() for kind in skip)

    def read(self) -> list[ev.Event]:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return []
        except OSError as error:
            self.problem = f"{EVENTS} cannot be read ({error.strerror})"
            return []
        try:
            with os.fdopen(fd, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except OSError as error:  # e.g. events.jsonl is a directory
            self.problem = f"{EVENTS} cannot be read ({error.strerror})"
            return []
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        found = []
        for line in chunk[:end].splitlines():
            if self._skip and line.startswith(self._skip):
                continue
            try:
                found.append(ev.event_from_json(line.decode("utf-8")))
            except (ev.EventDecodeError, UnicodeDecodeError):
                self.skipped += 1  # from a newer version, or damaged: never crash
        return found


def read_events(run_dir: Path, skip: tuple[type[ev.Event], ...] = ()) -> list[ev.Event]:
    """Every complete event of a run's log, but those of the types in ``skip``."""
    return EventReader(run_dir, skip).read()


# --- what a run amounts to ---------------------------------------------------------------


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
    if kept is not None and kept[0] == mark and kept[1].status != "running":
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


# --- following a run ---------------------------------------------------------------------


class RunFollower:
    """A run's events as they come, for a view that polls: ``poll()`` returns what is new
    and folds it into ``state``. ``over`` turns true when the run ended — by its own final
    event, or because its process died without one (killed, out of memory); then
    ``status`` says which."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.reader = EventReader(run_dir)
        self.state = RunState()
        self.over = False
        self.status = ""
        self.error = ""

    def poll(self) -> list[ev.Event]:
        new = self.reader.read()
        self.state.add_all(new)
        if self.over and any(isinstance(event, ev.RunStarted) for event in new):
            self.follow_again()  # resumed, here or from another terminal: live again
        if self.over:
            return new
        if self.state.ended:
            self.over = True
        elif not new and not process_alive(self.run_dir):
            late = self.reader.read()  # what it wrote just before it died
            self.state.add_all(late)
            new += late
            self.over = True
        if self.over:
            self.status, self.error = status_of(self.run_dir, self.state)
        elif self.reader.problem:
            self.over, self.status, self.error = True, "damaged", self.reader.problem
        return new

    def follow_again(self) -> None:
        """The run was resumed: keep reading its log as a live run (its old end is not its
        end any more, even before the resumed process logs its start)."""
        self.over, self.status, self.error = False, "", ""
        self.state.end = None


def follow(run_dir: Path, poll: float = 0.2, cancel=None) -> Iterator[ev.Event]:
    """Yield a run's events, old then new, until it ends (or its process dies)."""
    follower = RunFollower(run_dir)
    while True:
        new = follower.poll()
        yield from new
        if follower.over:
            return
        if cancel is not None and cancel.is_set():
            return
        if not new:
            time.sleep(poll)


def load_run_model(run_dir: Path, checkpoint: str = snapshots.BEST, device: str = "cpu"):
    """The model of a run at a moment: its ``best`` or ``last`` checkpoint, or a snapshot
    (``epoch:3``, ``batch:50``, ``start``; see engine.runs.snapshots), in eval mode."""
    from engine.models.checkpoints import load_model
    from engine.runs.snapshots import path_of

    path = path_of(run_dir, checkpoint)
    return load_model(path, device, expected=read_config(run_dir).model, run_dir=run_dir)
