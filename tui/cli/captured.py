"""Where a captured command draws: the console and cancel flag in force while the app's
side-by-side screen has a command draw into a panel (``tui.cli.main.drawn``) instead of a
terminal, so each picture is drawn by one piece of code (the command's). A leaf: the options
and the console ask it, and it imports nothing of the CLI."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from rich.console import Console


@dataclass
class Capture:
    """Where a captured command draws, and the flag that cancels its work."""

    console: Console
    cancel: object  # has is_set(); the app passes its worker's


CURRENT: ContextVar[Capture | None] = ContextVar("captured", default=None)


def current() -> Capture | None:
    """The capture in force in this thread, if a command is being captured."""
    return CURRENT.get()
