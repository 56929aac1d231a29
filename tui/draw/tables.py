"""Tables and lines that the CLI and the app both show: the runs table, the confusion
matrix, and the one-line accounts of a run's start, epochs and end."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.table import Table
from rich.text import Text

from engine import events as ev

STATUS_COLOURS = {"running": "cyan", "finished": "green", "stopped": "yellow",
                  "failed": "red", "damaged": "bold red"}  # fmt: skip


def clock(seconds: float | None) -> str:
    """Seconds as m:ss or h:mm:ss; '-' when unknown."""
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def interval_text(iv, unit: str, with_sd: bool = True) -> str:
    """A figure over seeds (engine.study_stats.Interval): 'mean ± sd [low, high]', in
    percent where ``unit`` is '%'; a '*' marks an interval cut at the possible values."""
    if iv.n == 0:
        return "-"

    def show(value: float, digits: str = ".4g") -> str:
        return f"{100 * value:.2f}" if unit == "%" else format(value, digits)

    if iv.n < 2:
        return show(iv.mean)
    sd = f" ± {show(iv.sd, '.2g')}" if with_sd else ""
    return f"{show(iv.mean)}{sd} [{show(iv.low)}, {show(iv.high)}]{'*' if iv.clipped else ''}"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def figure(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def runs_table(summaries: Sequence, title: str = "") -> Text:
    """Every run (RunSummary) a row: id, model, status, epochs, best val, test acc, times —
    as aligned columns of plain text (a Rich Table of a thousand runs took seconds to lay
    out; this takes a few milliseconds), the status in its colour."""
    defended = any(s.defence != "none" for s in summaries)
    columns = ["id", "model", "status", "epoch", "best val", "test acc", "train s", "started"]
    if defended:  # the defence and its robust accuracy, only where some run has one
        columns[2:2] = ["defence"]
        columns[6:6] = ["robust val"]
    rows = []
    for s in summaries:
        cells = {"id": f"{s.id} ({s.name})" if s.name else s.id, "model": s.model,
                 "defence": s.defence if s.defence != "none" else "-", "status": s.status,
                 "epoch": f"{s.epoch}/{s.epochs}", "best val": percent(s.best_val_accuracy),
                 "robust val": percent(s.robust_val_accuracy),
                 "test acc": percent(s.test_accuracy),
                 "train s": figure(s.train_seconds, "{:.0f}"), "started": s.started}  # fmt: skip
        rows.append([cells[c] for c in columns])
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    left = {"id", "model", "status", "defence"}

    def line(cells: list[str]) -> list[str]:
        return [cell.ljust(w) if name in left else cell.rjust(w)
                for name, cell, w in zip(columns, cells, widths, strict=True)]  # fmt: skip

    text = Text(no_wrap=True, overflow="ellipsis")
    if title:
        text.append(title + "\n", style="italic")
    text.append("  ".join(line(columns)).rstrip() + "\n", style="bold")
    status = columns.index("status")
    for s, row in zip(summaries, rows, strict=True):
        cells = line(row)
        text.append("  ".join(cells[:status]) + "  ")  # a name is plain text, never markup
        text.append(cells[status], style=STATUS_COLOURS.get(s.status, "red"))
        text.append(("  " + "  ".join(cells[status + 1 :])).rstrip() + "\n")
    text.rstrip()
    return text


def epoch_line(e: ev.EpochEvaluated) -> str:
    """One line per epoch, the same in every output."""
    robust = ""
    if e.robust_val_accuracy is not None:
        robust = (
            f"  robust val {e.robust_val_accuracy:.2%} (best {percent(e.best_robust_val_accuracy)})"
        )
        best = ""
    else:
        best = f"  best {e.best_val_accuracy:.2%}"
    return (
        f"epoch {e.epoch:>3}/{e.epochs}  train loss {e.train_loss:.4f}  val loss {e.val_loss:.4f}"
        f"  val acc {e.val_accuracy:.2%}{best}{robust}  lr {e.lr:.4f}"
        f"  {e.seconds:.1f} s  {e.images_per_s:,.0f} img/s"
    )


def collapse_line(e: ev.RobustnessCollapsed) -> str:
    return (
        f"  warning: robust validation accuracy fell to {e.robust_val_accuracy:.2%} from"
        f" {e.best_robust_val_accuracy:.2%} (catastrophic overfitting); the best checkpoint"
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
    return [
        f"test accuracy {e.test_accuracy:.2%}  test loss {e.test_loss:.4f}"
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


# The runs table's columns, most important first: (label, cells wide, value of a summary).
# ``id`` takes the width that is left (at least ID_MIN), and the columns that do not fit go.
RUN_COLUMNS = (
    ("status", 8, lambda s: s.status),
    ("test acc", 8, lambda s: percent(s.test_accuracy)),
    ("id", 0, None),  # cut to fit: see run_columns
    ("best val", 8, lambda s: percent(s.best_val_accuracy)),
    ("epoch", 7, lambda s: f"{s.epoch}/{s.epochs}"),
    ("model", 10, lambda s: s.model),
    ("robust", 8, lambda s: percent(s.robust_val_accuracy)),
    ("defence", 7, lambda s: s.defence if s.defence != "none" else "-"),
)
DISPLAY_ORDER = ("id", "model", "defence", "status", "epoch", "best val", "robust", "test acc")
ID_MIN = 8
CELL_PADDING = 2  # a DataTable cell's padding, left and right


DEFENCE_COLUMNS = ("robust", "defence")


def run_columns(width: int, defended: bool = False) -> list[tuple[str, int, object]]:
    """The runs table's columns for a table ``width`` cells wide, in display order; the id
    column's width is what the others leave (the end of a long id is cut). The defence and
    robust accuracy only where some run is ``defended``."""
    chosen, used = [], ID_MIN + CELL_PADDING
    for label, cells, value in RUN_COLUMNS:
        if label in DEFENCE_COLUMNS and not defended:
            continue
        if label == "id":
            chosen.append((label, 0, value))
        elif used + cells + CELL_PADDING <= width:
            chosen.append((label, cells, value))
            used += cells + CELL_PADDING
    id_width = ID_MIN + max(0, width - used)

    def short_id(summary) -> Text:  # a name, or the end of the id: model and suffix
        shown = summary.name or summary.id
        # plain text: a name such as "[/]" is shown, never read as markup
        return Text(shown if len(shown) <= id_width else "…" + shown[-(id_width - 1) :])

    chosen = [(label, cells or id_width, value or short_id) for label, cells, value in chosen]
    return sorted(chosen, key=lambda c: DISPLAY_ORDER.index(c[0]))
