"""How a training run looks in a plain shell: a Rich progress display on a terminal, plain
lines when piped, or one JSON line per event. Each is a listener: call it with events."""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from engine import events as ev
from engine.runs.snapshots import BEST
from engine.runs.state import RunState
from tui.draw.tables import (
    clock,
    collapse_line,
    epoch_line,
    finish_lines,
    next_steps,
    per_class_table,
    start_line,
    stopped_line,
    stuck_line,
)


class JsonLines:
    """Every event as one JSON line on ``stream``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def __call__(self, event: ev.Event) -> None:
        self.stream.write(ev.event_to_json(event) + "\n")
        self.stream.flush()

    def close(self) -> None:
        pass


class PlainLines:
    """Plain lines, no control codes: start, each epoch, checkpoints, the end."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.run_id = "RUN"
        self.gradients = RunState()  # the gradient measurements folded: each warning once

    def write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.run_id = event.run_id or self.run_id
            self.write(start_line(event))
        elif isinstance(event, ev.EpochEvaluated):
            self.write(epoch_line(event))
        elif isinstance(event, ev.RobustnessCollapsed):
            self.write(collapse_line(event))
        elif isinstance(event, ev.RunStuckAtChance):
            self.write(stuck_line(event))
        elif isinstance(event, ev.GradientsMeasured):
            for warning in self.gradients.unsaid(event):
                self.write(gradient_line(event, warning))
            self.gradients.add(event)
        elif isinstance(event, ev.CheckpointSaved) and event.kind == BEST:
            self.write(f"  best checkpoint: epoch {event.epoch} -> {event.path}")
        elif isinstance(event, ev.TestEvaluated):
            accs = "  ".join(f"{i}:{a:.1%}" for i, a in enumerate(event.per_class_accuracy))
            self.write(f"per-class test accuracy  {accs}")
        elif isinstance(event, ev.RunFinished):
            for line in [*finish_lines(event), *next_steps(self.run_id)]:
                self.write(line)
        elif isinstance(event, ev.RunStopped):
            self.write(stopped_line(event, self.run_id))
        elif isinstance(event, ev.RunFailed):
            self.write(f"run failed: {event.error}")

    def close(self) -> None:
        pass


class RichProgress:
    """Epoch and batch bars with ETA, images/s and running loss; a line per epoch above."""

    def __init__(self, console: Console | None = None, classes: list[str] | None = None):
        self.console = console or Console()
        self.classes = classes
        self.progress = Progress(
            TextColumn("[bold]{task.description:<6}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            # no per-bar ETA: the epoch bar moves once an epoch, too seldom for one; the batch
            # line says when the whole run ends, from batch progress
            TextColumn("{task.fields[info]}"),
            console=self.console,
            refresh_per_second=8,
        )
        self.epoch_task = None
        self.batch_task = None
        self.state = RunState()

    def __call__(self, event: ev.Event) -> None:
        measured = isinstance(event, ev.GradientsMeasured)
        unsaid = self.state.unsaid(event) if measured else []  # before it is folded in
        self.state.add(event)
        if isinstance(event, ev.RunStarted):
            self.console.print(f"[bold]{start_line(event)}[/]")
            self.progress.start()
            self.epoch_task = self.progress.add_task(
                "epoch", total=event.epochs, completed=event.start_epoch, info=""
            )
            self.batch_task = self.progress.add_task(
                "batch", total=event.batches_per_epoch, info=""
            )
        elif isinstance(event, ev.BatchTrained) and self.batch_task is not None:
            if event.batch == 1:
                self.progress.reset(self.batch_task, total=event.batches)
            self.progress.update(
                self.batch_task,
                completed=event.batch,
                info=f"loss {self.state.smoothed_loss:.4f}  {event.images_per_s:,.0f} img/s"
                f"  run eta {clock(self.state.eta_seconds())}",
            )
        elif isinstance(event, ev.EpochEvaluated) and self.epoch_task is not None:
            self.progress.update(
                self.epoch_task,
                completed=event.epoch,
                info=f"val acc {event.val_accuracy:.2%}  best {event.best_val_accuracy:.2%}",
            )
            self.progress.console.print(epoch_line(event))
        elif isinstance(event, ev.RobustnessCollapsed):
            self.progress.console.print(f"[bold yellow]{collapse_line(event)}[/]")
        elif isinstance(event, ev.RunStuckAtChance):
            self.progress.console.print(Text(stuck_line(event), style="bold yellow"))
        elif isinstance(event, ev.GradientsMeasured):
            for warning in unsaid:
                self.progress.console.print(
                    Text(gradient_line(event, warning), style="bold yellow")
                )
        elif isinstance(event, ev.TestEvaluated):
            self.close()
            self.console.print(per_class_table(event, self.classes))
        elif isinstance(event, ev.RunFinished):
            self.close()
            for line in finish_lines(event):
                self.console.print(f"[bold green]{line}[/]")
            run_id = self.state.started.run_id if self.state.started else "RUN"
            for line in next_steps(run_id):
                self.console.print(line, highlight=False)
        elif isinstance(event, ev.RunStopped):
            self.close()
            run_id = self.state.started.run_id if self.state.started else "RUN"
            self.console.print(f"[yellow]{stopped_line(event, run_id)}[/]")
        elif isinstance(event, ev.RunFailed):
            self.close()
            self.console.print(f"[bold red]run failed:[/] {event.error}")

    def close(self) -> None:
        if self.progress.live.is_started:
            self.progress.stop()


def make_output(json_lines: bool, classes: list[str] | None = None):
    """The listener that suits stdout: JSON lines, a Rich display on a TTY, else plain."""
    if json_lines:
        return JsonLines()
    if sys.stdout.isatty():
        return RichProgress(classes=classes)
    return PlainLines()


def gradient_line(event: ev.GradientsMeasured, warning: str) -> str:
    return f"  warning: epoch {event.epoch}, batch {event.batch}: {warning}"
