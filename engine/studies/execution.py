"""Running a study: its runs that are not finished, trained one after another or several at
once (``placement``), each recorded in ``study.json`` as it starts. Run again, a study
resumes: finished runs are kept, stopped ones resume from their ``last.pt``, failed or
damaged ones without one are redone; no run is trained twice."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from engine import events as ev
from engine import launch, runs
from engine.atomic import write_json
from engine.errors import UserFacing
from engine.runs import process as run_process
from engine.runs.state import FAILED, FINISHED, RUNNING, STOPPED
from engine.studies.definition import (
    STUDY,
    Progress,
    Study,
    entry_key,
    progress,
    status_of,
    study_dir,
)
from engine.studies.placement import Placement, machine_placement


def run_study(
    home: Path,
    study: Study,
    listeners: list[Callable[[ev.Event], None]] | None = None,
    cancel=None,
    say: Callable[[str], None] = lambda text: None,
    at_once: int | None = None,
) -> Progress:
    """Carry out every run of the study not finished yet on this machine — one after another
    in this process, or several at once as run processes of their own when ``placement``
    says so (for a Ray cluster: ``engine.studies.ray.run_study_on_ray``)."""
    lock = lock_study(home, study.name)
    try:
        todo = pending(home, study)  # runs finished or running elsewhere are left as they are
        place = machine_placement(study, todo, at_once)
        say(f"study {study.name}: {len(todo)} runs to do, {place.why}")
        if place.at_once == 1:
            _one_after_another(home, study, todo, listeners or [], cancel, say)
        else:
            _several_at_once(home, study, todo, place, cancel, say)
    finally:
        os.close(lock)
    return progress(home, study)


def _prepare(home: Path, study: Study, todo: list, number: int, say):
    """The ``number``-th run to do, checked: (its key, the prepared run, the callback that
    records a new run's folder in the study before it trains)."""
    key, group, seed, action = todo[number - 1]

    def record(new_run: Path) -> None:
        record_run(home, study, key, new_run)

    if action == "resume":
        say(f"[{number}/{len(todo)}] {key}: resuming {study.runs[key]}")
        return key, launch.prepare_resume(home, runs.run_folder(home, study.runs[key])), record
    say(f"[{number}/{len(todo)}] {key}: training")
    return key, launch.prepare(home, study.config(group, seed)), record


def _one_after_another(home: Path, study: Study, todo: list, listeners, cancel, say) -> None:
    for number in range(1, len(todo) + 1):
        if cancel is not None and cancel.is_set():
            break
        _, prepared, record = _prepare(home, study, todo, number, say)
        launch.start(home, prepared, detach=False, listeners=listeners, cancel=cancel,
                     on_created=record)  # fmt: skip


def _several_at_once(home: Path, study: Study, todo: list, place: Placement, cancel, say) -> None:
    """Keep ``place.at_once`` run processes going (ordinary detached runs, each with its
    share of the threads) until none is left; a stop request stops them all (each writes
    its last.pt, so the study resumes them)."""
    import threading
    import time

    cancel = cancel or threading.Event()
    active: dict[str, Path] = {}
    number = 0
    stopping = False
    while number < len(todo) or active:
        while number < len(todo) and len(active) < place.at_once and not cancel.is_set():
            number += 1
            key, prepared, record = _prepare(home, study, todo, number, say)
            run_dir, _, _ = launch.start(home, prepared, detach=True, on_created=record,
                                         threads=place.threads)  # fmt: skip
            active[key] = run_dir
        if cancel.is_set() and not stopping:
            stopping = True
            number = len(todo)  # start nothing more
            for run_dir in active.values():
                run_process.stop(run_dir)
        for key, run_dir in list(active.items()):
            if not run_process.process_alive(run_dir):
                del active[key]
                summary = runs.summarize(run_dir)
                say(f"{key}: {run_dir.name} {summary.status}")
        time.sleep(0.2)


def pending(home: Path, study: Study) -> list[tuple[str, dict, int, str]]:
    """(key, group, seed, what to do) for every run not finished or running: 'new',
    'resume' (a stopped run, or a failed one with last.pt) or 'redo'."""
    todo = []
    for group, seed in study.entries():
        key = entry_key(group, seed)
        run_id = study.runs.get(key)
        status = status_of(home, run_id)
        if status in (FINISHED, RUNNING):
            continue
        run_dir = runs.run_folder(home, run_id) if run_id else None
        resumable = status == STOPPED or (
            status == FAILED
            and run_dir is not None
            and runs.has_checkpoint(run_dir, runs.snapshots.LAST)
        )
        todo.append((key, group, seed, "resume" if resumable else ("redo" if run_id else "new")))
    return todo


def record_run(home: Path, study: Study, key: str, run_dir: Path) -> None:
    """Which run is which, written before it trains: a crash must not lose it."""
    study.runs[key] = run_dir.name
    write_json(study_dir(home, study.name) / STUDY, study.to_dict())


def lock_study(home: Path, name: str) -> int:
    """One process per study: the lock's descriptor, held while it runs."""
    busy = UserFacing(f"study {name} is being run by another process")
    return run_process.lock_folder(study_dir(home, name), busy)
