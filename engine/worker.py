"""Carry out a run from its folder — in this process, or detached in a process of its own
that outlives the terminal (``python -m engine.worker RUN_DIR``).

A stop request (SIGTERM, or SIGINT in the foreground) finishes the current batch, writes
``last.pt`` and records the run as stopped.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path

from engine import events as ev
from engine.atomic import write_json
from engine.data import Dataset, load_dataset, split_dataset
from engine.home import data_cache
from engine.runs import (
    PROCESS,
    EventLog,
    RunSummary,
    claim,
    read_config,
    release,
    write_summary,
)
from engine.training import CancelFlag, train

WORKER_LOG = "worker.log"


def execute(
    run_dir: Path,
    home: Path,
    resume: bool = False,
    listeners: Iterable[Callable[[ev.Event], None]] = (),
    cancel: CancelFlag | None = None,
    dataset: Dataset | None = None,
) -> RunSummary:
    """Train the run in ``run_dir`` here, logging every event; return its summary."""
    config = read_config(run_dir)
    claim(run_dir)
    log = EventLog(run_dir)
    listeners = list(listeners)

    def emit(event: ev.Event) -> None:
        log(event)
        for listener in listeners:
            listener(event)

    try:
        if dataset is None:
            folder = Path(config.data) if config.data else None
            dataset = load_dataset(data_cache(home), folder=folder)
        splits = split_dataset(dataset, seed=config.seed, subset=config.subset)
        train(
            config,
            splits,
            emit,
            cancel,
            checkpoint_dir=run_dir,
            run_id=run_dir.name,
            dataset_name=dataset.name,
            resume=resume,
        )
    except BaseException as error:
        emit(ev.RunFailed(error=f"{type(error).__name__}: {error}"))
        raise
    finally:
        log.close()
        release(run_dir)
    return write_summary(run_dir)


def stop_on_signals(cancel: threading.Event, signals: Iterable[int]) -> None:
    """Make each signal set ``cancel``; a second one acts as usual (e.g. a second Ctrl-C)."""

    def handler(signum: int, frame: object) -> None:
        if cancel.is_set():
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        cancel.set()

    for signum in signals:
        signal.signal(signum, handler)


# A detached run yields the CPU to interactive work on the same machine (the app following
# it, a shell): on a 2-core box this keeps key presses quick while it costs the run little.
DETACHED_NICENESS = 10


def detach(run_dir: Path, home: Path, resume: bool = False) -> int:
    """Start the run in a new session (immune to the terminal closing) at a lower priority;
    its pid."""
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    argv = [sys.executable, "-m", "engine.worker", str(run_dir), "--home", str(home)]
    if resume:
        argv.append("--resume")
    with open(run_dir / WORKER_LOG, "ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,
            preexec_fn=lambda: os.nice(DETACHED_NICENESS),
        )
    # Record the pid now, so the run shows as running before the child gets going.
    write_json(run_dir / PROCESS, {"pid": process.pid})
    return process.pid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Carry out one mnist-tui run from its folder.")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    cancel = threading.Event()
    stop_on_signals(cancel, (signal.SIGTERM, signal.SIGINT, signal.SIGHUP))
    try:
        execute(args.run_dir, args.home, resume=args.resume, cancel=cancel)
    except Exception:
        traceback.print_exc()  # into worker.log; the log already holds RunFailed
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
