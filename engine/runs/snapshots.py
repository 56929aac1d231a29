"""A run's weights through training: kept at each epoch's end and at a few early moments
where most change happens (before training, and after 10, 50 and 200 batches of the first
epoch), so that any analysis can look at any moment (``--epoch N``, ``--at batch:50``).

Setting ``snapshots``: ``all`` (the epochs and the early moments), ``epochs``, or ``none``.
Each snapshot is a weights-only checkpoint in the run's ``snapshots/`` folder, written
atomically like ``best.pt``; a resumed run continues the series (a moment reached again is
written again, never twice), and deleting the run removes them with it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from engine.errors import CheckpointError, SettingError

FOLDER = "snapshots"
EARLY_BATCHES = (10, 50, 200)  # of the first epoch, where the weights change most
MOMENT = re.compile(r"^(start|batch:(\d+)|epoch:(\d+)|best|last)$")


def file_name(moment: str) -> str:
    return moment.replace(":", "-") + ".pt"


def moment_of(name: str) -> str | None:
    stem = name.removesuffix(".pt")
    moment = stem.replace("-", ":", 1)
    return moment if name.endswith(".pt") and MOMENT.match(moment) else None


def check_moment(text: str) -> str:
    """``start``, ``batch:N``, ``epoch:N`` (or ``best``, ``last``); SettingError if not."""
    if not MOMENT.match(text):
        raise SettingError(f"{text!r} is not a moment: start, batch:N (of the first epoch),"
                           " epoch:N, best or last")  # fmt: skip
    return text


def order_key(moment: str) -> tuple[int, int]:
    if moment == "start":
        return (0, 0)
    kind, _, number = moment.partition(":")
    return (1, int(number)) if kind == "batch" else (2, int(number))


def moments(run_dir: Path) -> list[str]:
    """The moments a run has kept, in training order."""
    folder = run_dir / FOLDER
    if folder.is_symlink() or not folder.is_dir():
        return []
    found = [
        m for m in (moment_of(p.name) for p in folder.iterdir()) if m and m not in ("best", "last")
    ]
    return sorted(found, key=order_key)


def path_of(run_dir: Path, moment: str) -> Path:
    """The file of a moment: best.pt and last.pt, or a snapshot; CheckpointError with the
    moments there are when the run did not keep it."""
    check_moment(moment)
    if moment in ("best", "last"):
        return run_dir / f"{moment}.pt"
    path = run_dir / FOLDER / file_name(moment)
    if path.is_symlink():
        raise CheckpointError(f"run {run_dir.name}: its snapshot {FOLDER}/{path.name} is a link;"
                              " run files are not followed outside the run")  # fmt: skip
    if not path.is_file():
        kept = moments(run_dir)
        if not kept:
            raise CheckpointError(f"run {run_dir.name} kept no snapshots (trained with"
                                  " --snapshots none, or before runs kept them)")  # fmt: skip
        raise CheckpointError(f"run {run_dir.name} kept no snapshot at {moment} (it has:"
                              f" {', '.join(kept)})")  # fmt: skip
    return path


def wanted(setting: str, epoch: int, batch: int) -> str | None:
    """The moment to keep after ``batch`` batches of epoch ``epoch`` (0-based), if any: the
    early moments only (epoch ends are kept by ``epoch_moment``)."""
    if setting != "all" or epoch != 0:
        return None
    if batch == 0:
        return "start"
    return f"batch:{batch}" if batch in EARLY_BATCHES else None


def disk_use(run_dir: Path) -> int:
    """The bytes of the run's snapshots (a link is not followed)."""
    folder = run_dir / FOLDER
    if folder.is_symlink() or not folder.is_dir():
        return 0
    return files_bytes(folder)


def files_bytes(folder: Path) -> int:
    """The bytes of the files directly in ``folder`` (links not followed)."""
    with os.scandir(folder) as entries:
        return sum(e.stat(follow_symlinks=False).st_size for e in entries
                   if e.is_file(follow_symlinks=False))  # fmt: skip
