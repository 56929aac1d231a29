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
    TimeRemainingColumn,
)
from rich.table import Table

from engine import events as ev


def epoch_line(e: ev.EpochEvaluated) -> str:
    """One line per epoch, the same in every output."""
    return (
        f"epoch {e.epoch:>3}/{e.epochs}  train loss {e.train_loss:.4f}  val loss {e.val_loss:.4f}"
        f"  val acc {e.val_accuracy:.2%}  best {e.best_val_accuracy:.2%}  lr {e.lr:.4f}"
        f"  {e.seconds:.1f} s  {e.images_per_s:,.0f} img/s"
    )


def start_line(e: ev.RunStarted) -> str:
    verb = "resuming at epoch " + str(e.start_epoch + 1) if e.start_epoch else "training"
    return (
        f"{e.run_id or 'run'}: {verb} {e.model} on {e.dataset} ({e.train_size:,} train,"
        f" {e.val_size:,} val, {e.test_size:,} test) for {e.epochs} epochs on {e.device}"
    )


def finish_lines(e: ev.RunFinished) -> list[str]:
    return [
        f"test accuracy {e.test_accuracy:.2%}  test loss {e.test_loss:.4f}"
        f"  (best checkpoint: epoch {e.best_epoch}, val acc {e.best_val_accuracy:.2%})",
        f"training {e.train_seconds:.1f} s  test-set inference {e.test_seconds:.2f} s",
    ]


def per_class_table(e: ev.TestEvaluated, classes: list[str] | None = None) -> Table:
    """Confusion matrix with per-class accuracy, as a Rich table."""
    n = len(e.confusion)
    names = classes or [str(i) for i in range(n)]
    table = Table(title="Test set: confusion matrix (rows true, columns predicted)")
    table.add_column("true", justify="right")
    for name in names:
        table.add_column(name[:6], justify="right")
    table.add_column("accuracy", justify="right")
    for i, row in enumerate(e.confusion):
        cells = [f"[bold]{v}[/]" if j == i else (str(v) if v else "·") for j, v in enumerate(row)]
        table.add_row(names[i], *cells, f"{e.per_class_accuracy[i]:.2%}")
    return table


def stopped_line(e: ev.RunStopped) -> str:
    return (
        f"stopped after {e.epoch} full epochs ({e.reason}); last.pt saved —"
        " continue with `mnist-tui train --resume RUN`"
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

    def write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.write(start_line(event))
        elif isinstance(event, ev.EpochEvaluated):
            self.write(epoch_line(event))
        elif isinstance(event, ev.CheckpointSaved) and event.kind == "best":
            self.write(f"  best checkpoint: epoch {event.epoch} -> {event.path}")
        elif isinstance(event, ev.TestEvaluated):
            accs = "  ".join(f"{i}:{a:.1%}" for i, a in enumerate(event.per_class_accuracy))
            self.write(f"per-class test accuracy  {accs}")
        elif isinstance(event, ev.RunFinished):
            for line in finish_lines(event):
                self.write(line)
        elif isinstance(event, ev.RunStopped):
            self.write(stopped_line(event))
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
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=self.console,
            refresh_per_second=8,
        )
        self.epoch_task = None
        self.batch_task = None
        self.running_loss: float | None = None

    def __call__(self, event: ev.Event) -> None:
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
            smooth = 0.98 if self.running_loss is not None else 0.0
            self.running_loss = smooth * (self.running_loss or 0.0) + (1 - smooth) * event.loss
            if event.batch == 1:
                self.progress.reset(self.batch_task, total=event.batches)
            self.progress.update(
                self.batch_task,
                completed=event.batch,
                info=f"loss {self.running_loss:.4f}  {event.images_per_s:,.0f} img/s",
            )
        elif isinstance(event, ev.EpochEvaluated) and self.epoch_task is not None:
            self.progress.update(
                self.epoch_task,
                completed=event.epoch,
                info=f"val acc {event.val_accuracy:.2%}  best {event.best_val_accuracy:.2%}",
            )
            self.progress.console.print(epoch_line(event))
        elif isinstance(event, ev.TestEvaluated):
            self.close()
            self.console.print(per_class_table(event, self.classes))
        elif isinstance(event, ev.RunFinished):
            self.close()
            for line in finish_lines(event):
                self.console.print(f"[bold green]{line}[/]")
        elif isinstance(event, ev.RunStopped):
            self.close()
            self.console.print(f"[yellow]{stopped_line(event)}[/]")
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
