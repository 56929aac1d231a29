"""A run's event log, ``events.jsonl``: every event appended and flushed as it happens
(``EventLog``), read incrementally (``EventReader``); a half-written last line is never
trusted, and a writer cuts a torn one off before appending."""

from __future__ import annotations

import os
from pathlib import Path

from engine import events as ev

EVENTS = "events.jsonl"
# What a run's summary and its epoch history need: everything but the per-batch flood.
WITHOUT_BATCHES = (ev.BatchTrained,)


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
