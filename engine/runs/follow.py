"""Following a run: its events as they come, for a view that polls (``RunFollower``) or a
loop (``follow``); the end noticed whether the run ends itself or its process dies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from engine import events as ev
from engine.runs.log import EventReader
from engine.runs.process import process_alive
from engine.runs.state import RunState
from engine.runs.summary import status_of


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
