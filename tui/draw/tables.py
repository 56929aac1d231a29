"""Tables and lines that the CLI and the app both show: the runs table, the confusion
matrix, and the one-line accounts of a run's start, epochs and end."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.table import Table
from rich.text import Text

from engine import events as ev
from engine.columns import (
    DISK_COLUMN,
    EPOCH_COLUMNS,
    RUN_COLUMNS,
    Column,
    as_line,
    cells,
    fitting,
    shown,
)

STATUS_COLOURS = {"running": "cyan", "finished": "green", "imported": "green", "stopped": "yellow",
                  "failed": "red", "damaged": "bold red"}  # fmt: skip


def clock(seconds: float | None) -> str:
    """Seconds as m:ss or h:mm:ss; '-' when unknown."""
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def bar_line(label: str, done: int, total: int, width: int = 50, colour: bool = True) -> Text:
    """'epoch ━━━━━━━━╸━━━━━━━ 3/15': Rich's ProgressBar drawn as one line of Text, the same
    characters and colours, without a Table to lay out (the live view redraws two of these
    at each look at the run's log). Without colour the undone part is left blank, as Rich
    does."""
    halves = int(width * 2 * min(max(done, 0), total) / total) if total else 2 * width
    full, half = divmod(halves, 2)
    style = "bar.finished" if done >= total else "bar.complete"
    line = Text(f"{label:<6} ")
    line.append("━" * full + "╸" * half, style)
    if colour and full + half < width:
        rest = width - full - half
        lead = "╺" if full and not half else ""
        line.append(lead + "━" * (rest - len(lead)), "bar.back")
    elif full + half < width:
        line.append(" " * (width - full - half))
    line.append(f" {done}/{total}")
    return line


def runs_table(summaries: Sequence, title: str = "") -> Text:
    """Every run (RunSummary) a row, with the columns of ``engine.columns.RUN_COLUMNS`` and
    its disk use — as
    aligned columns of plain text (a Rich Table of a thousand runs took seconds to lay out;
    this takes a few milliseconds), the status in its colour."""
    columns = shown((*RUN_COLUMNS, DISK_COLUMN), summaries)
    rows = cells(columns, summaries)
    widths = [max(len(c.label), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]

    def line(texts: list[str]) -> list[str]:
        return [text.ljust(w) if c.left else text.rjust(w)
                for c, text, w in zip(columns, texts, widths, strict=True)]  # fmt: skip

    text = Text(no_wrap=True, overflow="ellipsis")
    if title:
        text.append(title + "\n", style="italic")
    text.append("  ".join(line([c.label for c in columns])).rstrip() + "\n", style="bold")
    status = [c.label for c in columns].index("status")
    for s, row in zip(summaries, rows, strict=True):
        texts = line(row)
        text.append("  ".join(texts[:status]) + "  ")  # a name is plain text, never markup
        text.append(texts[status], style=STATUS_COLOURS.get(s.status, "red"))
        text.append(("  " + "  ".join(texts[status + 1 :])).rstrip() + "\n")
    text.rstrip()
    return text


def rich_table(columns: Sequence[Column], rows: Sequence, **options) -> Table:
    """A table of ``engine.columns`` columns as a Rich table (the CLI's)."""
    table = Table(**options)
    for column in columns:
        table.add_column(column.label, justify="left" if column.left else "right")
    for row in cells(columns, rows):
        table.add_row(*(Text(cell) for cell in row))
    return table


def epoch_line(e: ev.EpochEvaluated) -> str:
    """One line per epoch, the same in every output (the app's epoch table's columns)."""
    return as_line(EPOCH_COLUMNS, e)


def collapse_line(e: ev.RobustnessCollapsed) -> str:
    return (
        f"  warning: robust validation accuracy fell to {e.robust_val_accuracy:.2%} from"
        f" {e.best_robust_val_accuracy:.2%} ({e.cause}); the best checkpoint"
        f" stays epoch {e.best_epoch}'s"
    )


def stuck_line(e: ev.RunStuckAtChance) -> str:
    return (
        f"  warning: after {counted(e.epoch, 'epoch')} the validation accuracy is"
        f" {e.val_accuracy:.2%}, about chance (1 in {e.classes}): the network is not learning;"
        f" {e.advice}"
    )


def counted(count: int, noun: str) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def start_line(e: ev.RunStarted) -> str:
    verb = "resuming at epoch " + str(e.start_epoch + 1) if e.start_epoch else "training"
    return (
        f"{e.run_id or 'run'}: {verb} {e.model} on {e.dataset} ({e.train_size:,} train,"
        f" {e.val_size:,} val, {e.test_size:,} test) for {counted(e.epochs, 'epoch')} on {e.device}"
    )


def finish_lines(e: ev.RunFinished) -> list[str]:
    robust = ""
    if e.best_robust_val_accuracy is not None:
        robust = f", robust val acc {e.best_robust_val_accuracy:.2%}"
    tta = ""
    if e.plain_test_accuracy is not None:
        tta = f" with shift TTA ({e.plain_test_accuracy:.2%} without)"
    return [
        f"test accuracy {e.test_accuracy:.2%}{tta}  test loss {e.test_loss:.4f}"
        f"  (best checkpoint: epoch {e.best_epoch}, val acc {e.best_val_accuracy:.2%}{robust})",
        f"training {e.train_seconds:.1f} s  test-set inference {e.test_seconds:.2f} s",
    ]


def stopped_line(e: ev.RunStopped, run_id: str = "RUN") -> str:
    return (
        f"stopped after {counted(e.epoch, 'full epoch')} ({e.reason}); last.pt saved —"
        f" continue with `mnist-tui train --resume {run_id}`"
    )


def next_steps(run_id: str) -> list[str]:
    """What to do with a finished run, with its real id."""
    return [
        f"next: `mnist-tui` opens the app (3 lists this run); from the shell, for example"
        f" `mnist-tui predict {run_id} --wrong`, `mnist-tui occlude {run_id}`,"
        f" `mnist-tui robustness {run_id}`",
    ]


def per_class_table(e: ev.TestEvaluated, classes: list[str] | None = None) -> Table:
    """Confusion matrix with per-class accuracy, as a Rich table."""
    n = len(e.confusion)
    names = classes or [str(i) for i in range(n)]
    # light lines and no padding: 12 columns fit 80 cells with every number whole
    table = Table(title="Test set: confusion matrix (rows true, columns predicted)",
                  box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True)  # fmt: skip
    table.add_column("true", justify="right", no_wrap=True)
    for name in names:
        table.add_column(name[:6], justify="right", no_wrap=True)
    table.add_column("accuracy", justify="right", no_wrap=True, min_width=7)
    for i, row in enumerate(e.confusion):
        cells = [f"[bold]{v}[/]" if j == i else (str(v) if v else "·") for j, v in enumerate(row)]
        table.add_row(names[i], *cells, f"{e.per_class_accuracy[i]:.2%}")
    return table


CELL_PADDING = 2  # a DataTable cell's padding, left and right
RUN_LABEL_MIN = 13  # "convnet 15:17": a run's network and when it started, in a narrow table


def run_label(summary, width: int) -> str:
    """How a table ``width`` cells wide names a run: its whole id where it fits, else its
    name, else its network and when it started ("convnet 15:17" today, "convnet 12-06"
    before) — never a cut id, in which every run of one network looks alike."""
    from datetime import datetime

    if len(summary.id) <= width and not summary.name:
        return summary.id
    if summary.name:
        shown = summary.name
    else:
        day, _, clock = summary.started.partition(" ")
        today = datetime.now().strftime("%m-%d")
        shown = f"{summary.model} {clock if day == today else day}"
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def run_columns(width: int, defended: bool = False) -> list[tuple[str, int, object]]:
    """The runs table's columns (``engine.columns.RUN_COLUMNS``) that fit a table ``width``
    cells wide, as (label, cells, value of a summary); the id column's width is what the
    others leave (the end of a long id is cut, a name shown instead). The defence and robust
    accuracy only where some run is ``defended``."""
    columns = [c for c in RUN_COLUMNS if c.when is None or defended]
    chosen = fitting(columns, width, CELL_PADDING, id_min=RUN_LABEL_MIN)

    def short_id(width: int):
        def value(summary) -> Text:
            # plain text: a name such as "[/]" is shown, never read as markup
            return Text(run_label(summary, width))

        return value

    return [("run", c.width, short_id(c.width)) if c.label == "id" else (c.label, c.width, c.value)
            for c in chosen]  # fmt: skip
