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
BEST, LAST = "best", "last"  # the run's own checkpoints (best.pt, last.pt), by name
CHECKPOINTS = (BEST, LAST)
MOMENT = re.compile(r"^(start|batch:(\d+)|epoch:(\d+)|best|last)$")


class Moment(str):
    """A moment of a run whose weights can be looked at: ``start``, ``batch:N`` (of the first
    epoch), ``epoch:N``, or one of its checkpoints, ``best`` and ``last``. Written as that
    text (a ``str``: a key, a JSON value, an argument), parsed once (``parse``), and it knows
    its words (``label``), its place in training (``order``) and its file (``path``)."""

    @classmethod
    def parse(cls, text: str) -> Moment:
        """SettingError naming what a moment may be, where ``text`` is none."""
        if isinstance(text, Moment):
            return text
        text = str(text).strip()
        if not MOMENT.match(text):
            raise SettingError(f"{text!r} is not a moment: start, batch:N (of the first epoch),"
                               " epoch:N, best or last")  # fmt: skip
        return cls(text)

    @classmethod
    def asked(cls, epoch: int | None = None, at: str | None = None,
              checkpoint: str = BEST) -> Moment:  # fmt: skip
        """The moment the front ends' options name: --at, else --epoch N, else the checkpoint."""
        return cls.parse(at or (f"epoch:{epoch}" if epoch else checkpoint))

    @property
    def is_checkpoint(self) -> bool:
        return self in CHECKPOINTS

    @property
    def label(self) -> str:
        """'best.pt', or 'weights at epoch:3'."""
        return f"{self}.pt" if self.is_checkpoint else f"weights at {self}"

    @property
    def order(self) -> tuple[int, int]:
        """Its place in training: (0: start, 1: batch:N, 2: epoch:N, 3: a checkpoint; N)."""
        if self == "start" or self.is_checkpoint:
            return (3 if self.is_checkpoint else 0, 0)
        kind, _, number = self.partition(":")
        return (1 if kind == "batch" else 2, int(number))

    @property
    def file_name(self) -> str:
        return self.replace(":", "-") + ".pt"

    def path(self, run_dir: Path) -> Path:
        """Its file in the run: best.pt and last.pt, or a snapshot; CheckpointError with the
        moments there are when the run did not keep it."""
        return path_of(run_dir, self)


def moment_of(name: str) -> Moment | None:
    """The moment a snapshot's file name holds, if it holds one."""
    moment = name.removesuffix(".pt").replace("-", ":", 1)
    return Moment(moment) if name.endswith(".pt") and MOMENT.match(moment) else None


def moments(run_dir: Path) -> list[Moment]:
    """The moments a run has kept, in training order."""
    folder = run_dir / FOLDER
    if folder.is_symlink() or not folder.is_dir():
        return []
    found = [m for m in (moment_of(p.name) for p in folder.iterdir()) if m and not m.is_checkpoint]
    return sorted(found, key=lambda m: m.order)


def series(run_dir: Path, checkpoint: str = BEST) -> list[Moment]:
    """A run's moments through training, as the analyses step through them: its snapshots,
    then the checkpoint they look at otherwise."""
    return [*moments(run_dir), Moment.parse(checkpoint)]


def path_of(run_dir: Path, moment: str) -> Path:
    """The file of a moment: best.pt and last.pt, or a snapshot; CheckpointError with the
    moments there are when the run did not keep it."""
    moment = Moment.parse(moment)
    if moment.is_checkpoint:
        return run_dir / moment.file_name
    path = run_dir / FOLDER / moment.file_name
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
