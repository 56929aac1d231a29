"""How the commands talk to a shell: a Rich console, JSON, waiting, Ctrl-C, progress bars."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from engine import events as ev


def make_console() -> Console:
    """A Rich console; when piped, wide enough that tables are not squeezed to 80 columns;
    while a command is captured for the app (tui.cli.captured), the capture's."""
    from tui.cli import captured

    if (capture := captured.current()) is not None:
        return capture.console
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    return console


def rows_for_pictures(console: Console, piped: int = 30) -> int:
    """The rows a picture may take: the terminal's (or the app panel's, when captured), or
    ``piped`` rows where the output goes to a file or a pipe."""
    from tui.cli import captured

    return console.height if console.is_terminal or captured.current() else piped


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2))


def wait_until(condition: Callable[[], bool], seconds: float, poll: float = 0.1) -> bool:
    """Poll ``condition`` for up to ``seconds``; whether it came true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return condition()


def interruptible(hangup: bool = False) -> threading.Event:
    """A cancel flag that Ctrl-C and SIGTERM set (a second Ctrl-C interrupts at once), and
    SIGHUP too with ``hangup`` (a closed terminal stops a foreground run gracefully);
    while a command is captured for the app, the app's cancel flag (no signal handlers)."""
    import signal

    from engine.launch import stop_on_signals
    from tui.cli import captured

    if (capture := captured.current()) is not None:
        return capture.cancel

    cancel = threading.Event()
    signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hangup else [])
    stop_on_signals(cancel, signals)
    return cancel


@contextmanager
def progress_bar(console: Console, description: str) -> Iterator[ev.Emit]:
    """Yield an ``emit`` that moves a transient bar (on a terminal; silent when piped)."""
    if not console.is_terminal:
        yield ev.ignore
        return
    progress = Progress(
        TextColumn(f"[bold]{description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
        transient=True,
    )
    task = progress.add_task(description, total=None, info="")

    def emit(event: ev.Event) -> None:
        if isinstance(event, ev.AttackStepped):
            best = max(event.probabilities) if event.probabilities else 0.0
            progress.update(task, completed=event.step, total=event.steps, info=f"max p {best:.3f}")
        elif isinstance(event, ev.ProgressMade):
            progress.update(task, completed=event.done, total=event.total, info=event.task)

    with progress:
        yield emit
