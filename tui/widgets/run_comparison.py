"""Runs compared (the BatchNorm study of study §3): their validation curves overlaid and
their figures side by side, with how their training time per image and settings differ."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable

from engine import events as ev
from engine.columns import figure
from engine.runs.state import DAMAGED
from tui.widgets.chart_view import ChartView

# the figures side by side: (row, the summary's field, format)
FIGURES = (
    ("best val acc", "best_val_accuracy", "{:.2%}"),
    ("robust val acc", "robust_val_accuracy", "{:.2%}"),
    ("test acc", "test_accuracy", "{:.2%}"),
    ("test loss", "test_loss", "{:.4f}"),
    ("training s", "train_seconds", "{:.1f}"),
    ("training ms / image", "train_ms_per_image", "{:.3f}"),
    ("test inference s", "test_seconds", "{:.2f}"),
)


class RunComparison(Vertical):
    """``compare(picked, summaries)`` draws the runs picked (their epochs read from their
    logs once, when first picked: a thousand logs are hundreds of megabytes)."""

    def __init__(self, home: Path, id: str = "comparison") -> None:
        super().__init__(id=id)
        self.home = home
        self.histories: dict[str, list[ev.EpochEvaluated]] = {}

    def compose(self) -> ComposeResult:
        empty = "Space picks runs: their curves appear here"
        with Horizontal(id="charts"):
            yield ChartView("validation accuracy (%)", "epoch", id="cmp-acc", classes="chart",
                            ylim=(0, 100), integer_x=True, empty=empty)  # fmt: skip
            yield ChartView("validation loss", "epoch", id="cmp-loss", classes="chart",
                            ylim=(0, None), integer_x=True, empty=empty)  # fmt: skip
        yield DataTable(id="side-by-side")

    def history(self, run_id: str, summary) -> list[ev.EpochEvaluated]:
        """The run's epochs, read from its log the first time they are wanted."""
        from engine import runs

        if run_id not in self.histories:
            run_dir = runs.runs_folder(self.home) / run_id
            self.histories[run_id] = (
                []
                if summary is None or summary.status == DAMAGED
                else [e for e in runs.read_events(run_dir, runs.WITHOUT_BATCHES)
                      if isinstance(e, ev.EpochEvaluated)]
            )  # fmt: skip
        return self.histories[run_id]

    def forget(self) -> None:
        """Read the logs again when next wanted (runs were renamed, resumed or deleted)."""
        self.histories = {}

    def compare(self, picked: list[str], summaries: dict) -> str:
        """Draw the picked runs; the sentence that sums them up."""
        acc, loss = {}, {}
        for run_id in picked:
            history = self.history(run_id, summaries.get(run_id))
            label = f"{summaries[run_id].model} {run_id[-4:]}"
            acc[label] = ([e.epoch for e in history], [100 * e.val_accuracy for e in history])
            loss[label] = ([e.epoch for e in history], [e.val_loss for e in history])
        self.query_one("#cmp-acc", ChartView).set_data(acc)
        self.query_one("#cmp-loss", ChartView).set_data(loss)
        table = self.query_one("#side-by-side", DataTable)
        table.clear(columns=True)
        if not picked:
            return "pick runs with Space to compare them"
        table.add_columns("figure", *[f"{summaries[r].model} {r[-4:]}" for r in picked])
        table.add_row("defence", *[summaries[r].defence for r in picked])
        for name, attribute, fmt in FIGURES:
            table.add_row(name, *[figure(getattr(summaries[r], attribute), fmt) for r in picked])
        return self.time_comparison(picked, summaries)

    def time_comparison(self, picked: list[str], summaries: dict) -> str:
        """Training time compared per image (runs of different lengths compare fairly), and
        which settings differ, if any."""
        from engine import runs

        first_id = picked[0]
        first = summaries[first_id]
        parts = []
        for run_id in picked[1:]:
            other = summaries[run_id]
            if first.train_ms_per_image and other.train_ms_per_image:
                ratio = other.train_ms_per_image / first.train_ms_per_image
                parts.append(f"{other.model} {run_id[-4:]} trains {ratio:.2f}x the time per image of"
                             f" {first.model} {first_id[-4:]}")  # fmt: skip
        differ = set()
        try:
            configs = [runs.read_config(runs.runs_folder(self.home) / r).to_dict() for r in picked]
            differ = {k for k in configs[0]
                      if k != "model" and len({str(c[k]) for c in configs}) > 1}  # fmt: skip
        except Exception:  # a damaged run among them: its row says so already
            pass
        if differ:
            parts.append("settings differ: " + ", ".join(sorted(differ)))
        return "; ".join(parts) or f"{len(picked)} run picked"
