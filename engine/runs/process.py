"""The one process that works on a run: who it is, whether it still lives, and how to ask
it to stop.

A run's process is named in ``process.json`` by its pid **and** its start time (clock
ticks since boot, from ``/proc``), written before anyone can signal it; a pid reused by an
unrelated process, a zombie, or a record without a start time is never taken for it. The
process also holds an exclusive lock on the run's ``lock`` file for its whole life, so a
second process (two ``train --resume`` at once) is refused.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from engine.atomic import read_text_nofollow, write_json
from engine.errors import RunBusy

PROCESS = "process.json"
LOCK = "lock"
# /proc tells a process's start time on Linux; elsewhere a pid alone has to do.
HAVE_PROC = Path("/proc/self/stat").exists()


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot), or None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else int(fields[19])


@dataclass(frozen=True)
class Claimant:
    """The process named in ``process.json``; ``problem`` says why it cannot be trusted."""

    pid: int | None
    start_ticks: int | None
    problem: str = ""


def read_claimant(run_dir: Path) -> Claimant | None:
    """Who ``process.json`` says works on the run; None when no process does."""
    try:
        raw = read_text_nofollow(run_dir / PROCESS)
    except FileNotFoundError:
        return None
    except OSError as error:
        return Claimant(None, None, f"{PROCESS} cannot be read ({error.strerror})")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return Claimant(None, None, f"{PROCESS} is not JSON")
    if not isinstance(data, dict):
        return Claimant(None, None, f"{PROCESS} is not an object")
    pid, ticks = data.get("pid"), data.get("start_ticks")
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return Claimant(None, None, f"{PROCESS} names no valid pid ({pid!r})")
    if ticks is not None and (isinstance(ticks, bool) or not isinstance(ticks, int)):
        return Claimant(pid, None, f"{PROCESS} has a bad start time ({ticks!r})")
    if ticks is None and HAVE_PROC:
        return Claimant(pid, None, f"{PROCESS} does not record the start time of pid {pid}")
    return Claimant(pid, ticks)


def is_alive(claimant: Claimant | None) -> bool:
    """Whether the claimant is a live process, and the same one that claimed the run."""
    if claimant is None or claimant.problem or claimant.pid is None:
        return False
    try:
        os.kill(claimant.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not HAVE_PROC or start_ticks(claimant.pid) == claimant.start_ticks


def holds_lock(pid: int, run_dir: Path) -> bool:
    """Whether process ``pid`` has this run's ``lock`` file open, as the run's own process
    does all its life (Linux: from /proc; elsewhere this cannot be told and is assumed). A
    forged ``process.json`` naming some other live process fails this."""
    if not HAVE_PROC:
        return True
    try:
        lock = os.stat(run_dir / LOCK, follow_symlinks=False)
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                opened = os.stat(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if (opened.st_dev, opened.st_ino) == (lock.st_dev, lock.st_ino):
                return True
    except OSError:  # no lock file, or the process is not ours to look into
        return False
    return False


def process_alive(run_dir: Path) -> bool:
    """Whether the process that claimed the run still runs, is still that process, and
    holds the run's lock (a forged record naming another live process is not believed)."""
    claimant = read_claimant(run_dir)
    return is_alive(claimant) and holds_lock(claimant.pid, run_dir)


def record(run_dir: Path, pid: int) -> None:
    """Name ``pid`` (with its start time) as the run's process."""
    write_json(run_dir / PROCESS, {"pid": pid, "start_ticks": start_ticks(pid)})


def release(run_dir: Path) -> None:
    """Record that no process works on the run any more."""
    (run_dir / PROCESS).unlink(missing_ok=True)


def stop(run_dir: Path) -> tuple[bool, str]:
    """Ask the run's process to stop gracefully (SIGTERM). (True, "") when asked; else
    (False, why not) — nothing is signalled unless pid and start time both match."""
    claimant = read_claimant(run_dir)
    if claimant is None:
        return False, "no process works on it"
    if claimant.problem:
        return False, f"refusing to signal anything: {claimant.problem}"
    if not is_alive(claimant):
        return False, f"its process (pid {claimant.pid}) has ended"
    if not holds_lock(claimant.pid, run_dir):
        return False, (
            f"refusing to signal pid {claimant.pid}: it does not hold this run's"
            f" lock, so it is not this run's process ({PROCESS} is stale or forged)"
        )
    os.kill(claimant.pid, signal.SIGTERM)
    return True, ""


# --- the lock ------------------------------------------------------------------------------


def take_lock(run_dir: Path) -> int:
    """Lock the run for this process (and the children it hands the descriptor to); the
    open descriptor. RunBusy if another process holds it."""
    return lock_folder(run_dir, RunBusy(f"run {run_dir.name} is being trained by another process"))


def is_locked(folder: Path) -> bool:
    """Whether a process holds ``folder``'s lock now. On Linux read from /proc/locks, so
    that looking never takes the lock from under a process about to; elsewhere tried
    without waiting, and let go."""
    try:
        lock = os.stat(folder / LOCK, follow_symlinks=False)
    except OSError:
        return False
    if Path("/proc/locks").exists():
        wanted = f":{lock.st_ino} "
        try:
            lines = Path("/proc/locks").read_text().splitlines()
        except OSError:
            lines = []
        device = f"{os.major(lock.st_dev):02x}:{os.minor(lock.st_dev):02x}{wanted}"
        return any(device in line + " " for line in lines if "FLOCK" in line)
    try:
        fd = lock_folder(folder, BlockingIOError())
    except BlockingIOError:
        return True
    except OSError:
        return False
    os.close(fd)
    return False


def lock_folder(folder: Path, busy: Exception) -> int:
    """An exclusive lock on ``folder/lock`` held through the returned descriptor; ``busy``
    is raised if another process holds it."""
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise busy from None
    return fd
