"""The tables that more than one front end shows, each laid out once: its columns, their
labels, widths, alignment and what each cell says. The CLI renders them as text or a Rich
table, the app as a DataTable (dropping what does not fit, least needed first), the report
as a document table.

In the engine, readable without torch or Rich, so the CLI, the app and the report alike read it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def megabytes(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:,.1f} MB"


def figure(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


@dataclass(frozen=True)
class Column:
    label: str
    value: Callable[[Any], str]  # a row's cell, as text
    width: int  # cells it needs (0: the id column, which takes what is left and is cut)
    left: bool = False  # text is aligned left, numbers right
    keep: int = 0  # where a table is too narrow, the columns with the largest keep go first
    when: Callable[[Sequence[Any]], bool] | None = None  # shown only if true of the rows
    unit: str = ""  # in a line of text the value is followed by this ("12.1 s"), no label


def shown(columns: Sequence[Column], rows: Sequence[Any]) -> list[Column]:
    """The columns these rows call for (a defence column only where a run has one)."""
    return [c for c in columns if c.when is None or c.when(rows)]


def cells(columns: Sequence[Column], rows: Sequence[Any]) -> list[list[str]]:
    return [[c.value(row) for c in columns] for row in rows]


def as_line(columns: Sequence[Column], row: Any) -> str:
    """One row as a line of text: 'epoch 3/15  train loss 0.0421 ...  12.1 s', unknown
    values ('-') left out."""
    parts = []
    for column in columns:
        value = column.value(row)
        if value != "-":
            parts.append(f"{value} {column.unit}" if column.unit else f"{column.label} {value}")
    return "  ".join(parts)


def fitting(
    columns: Sequence[Column], width: int, padding: int = 2, id_min: int = 8
) -> list[Column]:
    """The columns that fit ``width`` cells (each with ``padding``), the least needed
    dropped first, in their own order; the id column (width 0) gets what is left."""
    chosen = list(columns)
    while sum((c.width or id_min) + padding for c in chosen) > width:
        droppable = [c for c in chosen if c.width]
        if not droppable or len(droppable) == 1:
            break
        chosen.remove(max(droppable, key=lambda c: c.keep))
    used = sum(c.width + padding for c in chosen if c.width) + padding
    id_width = max(id_min, width - used)
    return [c if c.width else Column(c.label, c.value, id_width, c.left, c.keep, c.when)
            for c in chosen]  # fmt: skip


def _defended(rows) -> bool:
    return any(r.defence != "none" for r in rows)


def _id(run) -> str:
    return f"{run.id} ({run.name})" if run.name else run.id


# The runs (engine.runs.RunSummary): `mnist-tui runs`, the app's home and Runs screens. In
# a narrow table the id is cut to its end (model and suffix) or the run's name.
RUN_COLUMNS = (
    Column("id", _id, 0, left=True),
    Column("model", lambda s: s.model, 10, left=True, keep=5),
    Column(
        "defence",
        lambda s: s.defence if s.defence != "none" else "-",
        7,
        left=True,
        keep=7,
        when=_defended,
    ),  # fmt: skip
    Column("status", lambda s: s.status, 8, left=True),
    Column("epoch", lambda s: f"{s.epoch}/{s.epochs}", 7, keep=4),
    Column("best val", lambda s: percent(s.best_val_accuracy), 8, keep=3),
    Column("robust val", lambda s: percent(s.robust_val_accuracy), 10, keep=6, when=_defended),
    Column("test acc", lambda s: percent(s.test_accuracy), 8),
    Column("train s", lambda s: figure(s.train_seconds, "{:.0f}"), 7, keep=8),
    Column("started", lambda s: s.started, 11, left=True, keep=9),
)


def _of_summary(column: Column) -> Column:
    """A runs-table column read from a report's run (its ``summary``) instead."""
    return Column(column.label, lambda run: column.value(run.summary), column.width,
                  column.left, column.keep)  # fmt: skip


def _by_label(*labels: str) -> list[Column]:
    return [_of_summary(c) for label in labels for c in RUN_COLUMNS if c.label == label]


# The report's table of its runs (engine.report.context's runs: label, summary, config):
# the runs table's figures, with the settings that make each run's recipe.
REPORT_RUN_COLUMNS = (
    Column("run", lambda run: run.label, 0, left=True),
    Column("id", lambda run: run.id, 0, left=True),
    *_by_label("model"),
    Column("epochs", lambda run: f"{run.config.epochs}", 6),
    Column("lr", lambda run: f"{run.config.lr:g}", 6),
    Column("batch", lambda run: f"{run.config.batch_size}", 5),
    Column("seed", lambda run: f"{run.config.seed}", 4),
    *_by_label("best val", "test acc", "train s"),
)

# `mnist-tui runs` adds what each run takes on disk (its snapshots most of it); the app's
# tables leave the room to the id.
DISK_COLUMN = Column("disk", lambda s: megabytes(s.disk_bytes), 9)

# One point of a robustness curve (engine.events.RobustnessMeasured): `mnist-tui
# robustness` and the app's Robustness screen.
# "under attack": right after the attack at this eps; "robust to eps": right after the
# attack at this eps and every smaller one (an image fooled at a small eps but not at a larger
# one is not robust); the two differ only where a larger eps let the attack miss an image.
ROBUSTNESS_COLUMNS = (
    Column("eps", lambda p: f"{p.eps:g}", 5),
    Column("under attack", lambda p: f"{p.accuracy:.2%}", 12),
    Column("robust to eps", lambda p: f"{p.robust_accuracy:.2%}", 13),
    Column("seconds", lambda p: f"{p.seconds:.1f}", 7, keep=2),
    Column(
        "images/s per step",
        lambda p: f"{p.images_per_s_per_step:,.0f}" if p.eps else "-",
        17,
        keep=1,
    ),  # fmt: skip
)

# With --certify, the band: what interval bounds prove (a lower bound on the true robust
# accuracy), and how much lies between that and what the attack left (unknown).
BAND_COLUMNS = (
    Column("proven", lambda p: f"{p.certified_accuracy:.2%}", 7),
    Column("unknown", lambda p: f"{max(0.0, p.robust_accuracy - p.certified_accuracy):.2%}", 7),
)

# One epoch (engine.events.EpochEvaluated): the app's epoch table and the CLI's epoch lines.
# "best": the best validation accuracy so far; a defended run's best checkpoint is its most
# robust epoch instead, whose robust accuracy "best robust" gives.
EPOCH_COLUMNS = (
    Column("epoch", lambda e: f"{e.epoch:>3}/{e.epochs}", 7),
    Column("train loss", lambda e: f"{e.train_loss:.4f}", 10),
    Column("val loss", lambda e: f"{e.val_loss:.4f}", 8),
    Column("val acc", lambda e: f"{e.val_accuracy:.2%}", 7),
    Column("best", lambda e: percent(e.best_val_accuracy), 7),
    Column("robust val", lambda e: percent(e.robust_val_accuracy), 10),
    Column("best robust", lambda e: percent(e.best_robust_val_accuracy), 11),
    Column("lr", lambda e: f"{e.lr:.4f}", 6),
    Column("seconds", lambda e: f"{e.seconds:.1f}", 7, unit="s"),
    Column("img/s", lambda e: f"{e.images_per_s:,.0f}", 7, unit="img/s"),
)
