"""A progress bar for the long analyses of the headless commands, fed by engine events."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from engine import events as ev


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
