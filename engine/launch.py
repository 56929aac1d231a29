"""Starting a run — the one way the CLI and the app do it — and carrying it out, in this
process or detached in one of its own that outlives the terminal.

``prepare`` checks everything a run needs before its folder is made (settings, device,
data, a writable home); ``start`` makes the folder and runs it here or detached;
``prepare_resume`` checks a stopped run can go on. A stop request (SIGTERM, SIGHUP, or
SIGINT in the foreground) finishes the current batch, writes ``last.pt`` and records the
run as stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from engine import events as ev
from engine import runs
from engine.config import TrainConfig
from engine.errors import RunDamaged, UserFacing
from engine.locations import data_cache, runs_folder
from engine.models.files import is_model_file
from engine.runs import process as run_process
from engine.runs.state import DAMAGED, FINISHED, IMPORTED

WORKER_LOG = "worker.log"
# A detached run yields the CPU to interactive work on the same machine (the app following
# it, a shell): on a 2-core box this keeps key presses quick while it costs the run little.
DETACHED_NICENESS = 10
# Where the engine package lives: the detached worker imports it from here and nowhere
# else (never from the directory the user happens to be in).
PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


@dataclass
class Prepared:
    """A run that passed its pre-flight: its settings and, loaded once, its data."""

    config: TrainConfig
    dataset: object  # engine.data.Dataset
    run_dir: Path | None = None  # set for a resume
    lock: int | None = None  # the run's lock, held from the check until the start
    splits: object = None  # engine.data.Splits, when the pre-flight had to make them


def _check_home_writable(home: Path) -> None:
    _check_writable_folder(runs_folder(home), "runs")


def _check_writable_folder(folder: Path, what: str) -> None:
    """``folder`` made if missing and writable; UserFacing naming it if not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserFacing(f"cannot make {folder} for {what} ({error.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):  # also false on a read-only file system
        raise UserFacing(f"cannot write {what} in {folder} (not writable)")


def _load_data(home: Path, config: TrainConfig):
    from engine.data import load_dataset

    folder = Path(config.data) if config.data else None
    return load_dataset(data_cache(home), folder=folder)


def prepare(home: Path, config: TrainConfig) -> Prepared:
    """Check a new run can start: its settings, its device, its data, the home. Raises a
    UserFacing error naming what is wrong; nothing is written."""
    from engine.training.device import resolve_device

    config.validate()
    resolve_device(config.device)
    _check_home_writable(home)
    if is_model_file(config.model):  # a user's network: built once here, so a file that
        # cannot be imported or gives the wrong shape is one line before anything is made
        from engine.models.files import ModelFile, parse_args

        model_file = ModelFile.of(config.model)
        model_file.build(parse_args(config.model_args))
        config = dataclasses.replace(config, model=model_file.spec)  # its absolute path
    if config.tensorboard:  # the extra installed and the folder usable, before a run is made
        from engine.export.tensorboard import check_available

        check_available()
        folder = Path(config.tensorboard).expanduser().resolve()
        _check_writable_folder(folder, "TensorBoard logs")
        config = dataclasses.replace(config, tensorboard=str(folder))
    dataset = _load_data(home, config)
    from engine.data import split_dataset

    # split here, before a folder is made: data too small to split is one line, not a run
    splits = split_dataset(dataset, seed=config.seed, subset=config.subset)
    return Prepared(config, dataset, splits=splits)


def prepare_resume(home: Path, run_dir: Path) -> Prepared:
    """Check a stopped or failed run can go on from its ``last.pt``, and lock it."""
    from engine.training.device import resolve_device

    summary = runs.summarize(run_dir)
    if summary.status == DAMAGED:
        raise RunDamaged(f"run {run_dir.name} is damaged: {summary.error}")
    if summary.status == FINISHED:
        raise UserFacing(f"run {run_dir.name} has finished; nothing to resume")
    if summary.status == IMPORTED:
        raise UserFacing(f"run {run_dir.name} was imported, not trained here; nothing to resume")
    lock = run_process.take_lock(run_dir)  # RunBusy when another process trains it
    try:
        if not runs.has_checkpoint(run_dir, runs.snapshots.LAST):
            raise UserFacing(f"run {run_dir.name} has no last.pt to resume from; start a new run")
        config = runs.read_config(run_dir)
        resolve_device(config.device)
        _check_home_writable(home)
        dataset = _load_data(home, config)
        splits = _check_last_checkpoint(run_dir, config, dataset)
        return Prepared(config, dataset, run_dir, lock, splits)
    except BaseException:
        os.close(lock)
        raise


def _check_last_checkpoint(run_dir: Path, config: TrainConfig, dataset):
    """``last.pt`` fits the run (model, weights, place in training), checked before the run's
    log is touched; the run's splits, which the check needs (and the run after it)."""
    from engine.data import batch_count, split_dataset
    from engine.training.loop import resume_state

    splits = split_dataset(dataset, seed=config.seed, subset=config.subset)
    resume_state(
        run_dir / runs.LAST, config, batch_count(len(splits.train), config.batch_size), "cpu"
    )
    return splits


def start(
    home: Path,
    prepared: Prepared,
    detach: bool = True,
    listeners: Iterable[Callable[[ev.Event], None]] = (),
    cancel=None,
    on_created: Callable[[Path], None] | None = None,
    threads: int | None = None,
) -> tuple[Path, int | None, runs.RunSummary | None]:
    """Start (or resume) a prepared run: detached, (folder, pid, None); here, (folder,
    None, summary) once it ends. ``on_created`` hears of a new run's folder before it runs;
    ``threads`` caps its CPU threads (None: torch's default, every core)."""
    resume = prepared.run_dir is not None
    run_dir = prepared.run_dir or runs.create_run(home, prepared.config)
    if not resume and on_created is not None:
        on_created(run_dir)
    lock = prepared.lock if prepared.lock is not None else run_process.take_lock(run_dir)
    prepared.lock = None
    if detach:
        try:
            pid = _spawn(run_dir, home, resume, lock, threads)
        finally:
            os.close(lock)  # the child holds the lock now
        return run_dir, pid, None
    try:
        summary = execute(
            run_dir, home, resume, listeners, cancel, prepared.dataset, prepared.splits, threads
        )
    finally:
        os.close(lock)
    return run_dir, None, summary


def _remove_temporaries(run_dir: Path) -> None:
    """Temporary files a killed writer left (atomic writes that never reached their rename)."""
    for pattern in (".*.pt.*", ".*.json.*"):
        for path in glob.glob(str(run_dir / pattern)):
            Path(path).unlink(missing_ok=True)


def execute(
    run_dir: Path,
    home: Path,
    resume: bool = False,
    listeners: Iterable[Callable[[ev.Event], None]] = (),
    cancel=None,
    dataset=None,
    splits=None,
    threads: int | None = None,
) -> runs.RunSummary:
    """Train the run in ``run_dir`` in this process, logging every event; its summary.
    The caller holds the run's lock."""
    from engine.data import split_dataset
    from engine.training.loop import train

    if threads:
        import torch

        torch.set_num_threads(threads)

    config = runs.read_config(run_dir)
    (run_dir / runs.SUMMARY).unlink(missing_ok=True)
    run_process.record(run_dir, os.getpid())
    _remove_temporaries(run_dir)
    log = runs.EventLog(run_dir)
    listeners = list(listeners)
    tensorboard = None
    if config.tensorboard:
        from engine.export.tensorboard import TensorBoardLog

        tensorboard = TensorBoardLog(run_dir, config.tensorboard, home)
        listeners.append(tensorboard)

    def emit(event: ev.Event) -> None:
        log(event)
        for listener in listeners:
            listener(event)

    try:
        if dataset is None:
            dataset = _load_data(home, config)
        if splits is None:
            splits = split_dataset(dataset, seed=config.seed, subset=config.subset)
        train(config, splits, emit, cancel, checkpoint_dir=run_dir, run_id=run_dir.name,
              dataset_name=dataset.name, resume=resume)  # fmt: skip
    except BaseException as error:
        reason = str(error).splitlines()[0] if str(error) else ""
        kind = "" if isinstance(error, UserFacing) and reason else f"{type(error).__name__}: "
        failure = ev.RunFailed(error=f"{kind}{reason}".rstrip(": "))
        with contextlib.suppress(OSError):  # a full disk may refuse even this line
            emit(failure)
        raise
    finally:
        log.close()
        if tensorboard is not None:
            tensorboard.close()
        run_process.release(run_dir)
        _remove_temporaries(run_dir)
    return runs.write_summary(run_dir)


def stop_on_signals(cancel: threading.Event, signals: Iterable[int] = STOP_SIGNALS) -> None:
    """Make each signal set ``cancel``; a second one acts as usual (e.g. a second Ctrl-C)."""

    def handler(signum: int, frame: object) -> None:
        if cancel.is_set():
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        cancel.set()

    for signum in signals:
        signal.signal(signum, handler)


def isolated_python(module: str, function: str, *args: str) -> list[str]:
    """The command line that calls ``module.function(args)`` in a fresh interpreter importing
    this package from PACKAGE_ROOT only: no current directory, no PYTHONPATH, no user site
    (-I), so an ``engine/`` folder where the user stands is never imported."""
    code = (f"import sys; sys.path.insert(0, sys.argv.pop(1)); from {module} import {function};"
            f" sys.exit({function}(sys.argv[1:]))")  # fmt: skip
    return [sys.executable, "-I", "-c", code, PACKAGE_ROOT, *args]


def _spawn(run_dir: Path, home: Path, resume: bool, lock: int, threads: int | None = None) -> int:
    """The detached worker in a new session at a lower priority, handed the run's lock;
    its pid, recorded in ``process.json`` (with its start time) before this returns."""
    # signals are handled in worker_main before anything heavy is imported
    argv = isolated_python("engine.launch", "worker_main", str(run_dir), str(home), str(lock),
                           "resume" if resume else "new", str(threads or 0))  # fmt: skip
    log_fd = os.open(
        run_dir / WORKER_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644
    )
    # The worker starts with the stop signals blocked (a thread's mask survives fork and
    # exec) and unblocks them once its handlers are in: a stop asked for in its first
    # moments waits for it instead of killing it before it can save anything.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            start_new_session=True,
            pass_fds=(lock,),
        )
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(log_fd)
    run_process.record(run_dir, process.pid)
    # Whoever started it reaps it (the app lives on after its runs end; a zombie would
    # look alive to a plain pid check).
    threading.Thread(target=process.wait, name=f"reap {process.pid}", daemon=True).start()
    return process.pid


def worker_main(argv: list[str]) -> int:
    """The detached worker: RUN_DIR HOME LOCK_FD new|resume [THREADS (0: every core)]."""
    cancel = threading.Event()
    stop_on_signals(cancel)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked by _spawn until now
    os.nice(DETACHED_NICENESS)
    run_dir, home, lock, mode = Path(argv[0]), Path(argv[1]), int(argv[2]), argv[3]
    threads = int(argv[4]) if len(argv) > 4 else 0
    import traceback

    try:
        execute(run_dir, home, resume=mode == "resume", cancel=cancel, threads=threads or None)
    except Exception:
        traceback.print_exc()  # into worker.log; the log already holds RunFailed
        return 1
    finally:
        os.close(lock)
    return 0
