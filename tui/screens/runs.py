"""Runs and comparison: every run with its figures; pick two or more to overlay their curves
and set their figures side by side (the BatchNorm study of study §3)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Static

from engine import events as ev
from tui.draw.columns import figure
from tui.draw.tables import run_columns
from tui.screens.base import ExperimentScreen
from tui.widgets.chart_view import ChartView


class RunsScreen(ExperimentScreen):
    """Space picks a run for the comparison; Enter follows it; s uses it for the analyses."""

    STUDY_SECTION = "3"

    BINDINGS = [
        Binding("space", "pick", "Pick/unpick"),
        Binding("enter", "follow", "Follow"),
        Binding("s", "select_run", "Use for analyses (two picked: side by side)"),
        Binding("N", "name_run", "Name"),
        Binding("D", "delete_run", "Delete"),
        Binding("R", "report", "Report"),
        Binding("j", "move(1)", "Down", show=False),
        Binding("k", "move(-1)", "Up", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.picked: list[str] = []
        self.summaries: dict = {}
        self.histories: dict[str, list[ev.EpochEvaluated]] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Runs: Space picks two or more to compare", classes="title")
        yield DataTable(id="all-runs", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="charts"):
            yield ChartView(
                "validation accuracy (%)",
                "epoch",
                id="cmp-acc",
                classes="chart",
                ylim=(0, 100),
                integer_x=True,
                empty="Space picks runs: their curves appear here",
            )
            yield ChartView(
                "validation loss",
                "epoch",
                id="cmp-loss",
                classes="chart",
                ylim=(0, None),
                integer_x=True,
                empty="Space picks runs: their curves appear here",
            )
        yield DataTable(id="side-by-side")
        yield Static("", classes="status")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from engine import runs

        run_dirs = runs.list_runs(self.app.settings.home)
        summaries = {d.name: runs.summarize_cached(d) for d in run_dirs}
        # the epochs of a run are read when it is picked (history), not for every run here:
        # a thousand logs are hundreds of megabytes
        self.app.call_from_thread(self.show, summaries, {})

    def history(self, run_id: str) -> list[ev.EpochEvaluated]:
        """The run's epochs, read from its log the first time they are wanted."""
        from engine import runs

        if run_id not in self.histories:
            summary = self.summaries.get(run_id)
            run_dir = runs.runs_folder(self.app.settings.home) / run_id
            self.histories[run_id] = (
                []
                if summary is None or summary.status == "damaged"
                else [e for e in runs.read_events(run_dir, runs.WITHOUT_BATCHES)
                      if isinstance(e, ev.EpochEvaluated)]
            )  # fmt: skip
        return self.histories[run_id]

    def show(self, summaries: dict, histories: dict) -> None:
        self.summaries, self.histories = summaries, histories
        table = self.query_one("#all-runs", DataTable)
        cursor = table.cursor_row
        # the columns that fit the width, as on the home screen, after the pick mark
        defended = any(s.defence != "none" for s in summaries.values())
        columns = run_columns(max(self.size.width - 8, 30), defended)
        table.clear(columns=True)
        table.add_column("pick", width=4)
        for label, cells, _ in columns:
            table.add_column(label, width=cells)
        for run_id, s in reversed(summaries.items()):
            mark = "●" if run_id in self.picked else "○"
            table.add_row(mark, *[value(s) for _, _, value in columns], key=run_id)
        if summaries:
            table.move_cursor(row=min(cursor, len(summaries) - 1))
        self.compare()

    def _run_under_cursor(self) -> str | None:
        table = self.query_one("#all-runs", DataTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_pick(self) -> None:
        run_id = self._run_under_cursor()
        if run_id is None:
            return
        if run_id in self.picked:
            self.picked.remove(run_id)
        else:
            self.picked.append(run_id)
        self.show(self.summaries, self.histories)

    def compare(self) -> None:
        acc, loss = {}, {}
        for run_id in self.picked:
            history = self.history(run_id)
            label = f"{self.summaries[run_id].model} {run_id[-4:]}"
            acc[label] = ([e.epoch for e in history], [100 * e.val_accuracy for e in history])
            loss[label] = ([e.epoch for e in history], [e.val_loss for e in history])
        self.query_one("#cmp-acc", ChartView).set_data(acc)
        self.query_one("#cmp-loss", ChartView).set_data(loss)
        table = self.query_one("#side-by-side", DataTable)
        table.clear(columns=True)
        if not self.picked:
            self.set_status("pick runs with Space to compare them")
            return
        table.add_columns("figure", *[f"{self.summaries[r].model} {r[-4:]}" for r in self.picked])
        table.add_row("defence", *[self.summaries[r].defence for r in self.picked])
        rows = [
            ("best val acc", "best_val_accuracy", "{:.2%}"),
            ("robust val acc", "robust_val_accuracy", "{:.2%}"),
            ("test acc", "test_accuracy", "{:.2%}"),
            ("test loss", "test_loss", "{:.4f}"),
            ("training s", "train_seconds", "{:.1f}"),
            ("training ms / image", "train_ms_per_image", "{:.3f}"),
            ("test inference s", "test_seconds", "{:.2f}"),
        ]
        for name, attribute, fmt in rows:
            table.add_row(
                name, *[figure(getattr(self.summaries[r], attribute), fmt) for r in self.picked]
            )
        self.set_status(self.time_comparison())

    def time_comparison(self) -> str:
        """Training time compared per image (runs of different lengths compare fairly), and
        which settings differ, if any."""

        from engine import runs

        first_id = self.picked[0]
        first = self.summaries[first_id]
        parts = []
        for run_id in self.picked[1:]:
            other = self.summaries[run_id]
            if first.train_ms_per_image and other.train_ms_per_image:
                ratio = other.train_ms_per_image / first.train_ms_per_image
                parts.append(f"{other.model} {run_id[-4:]} trains {ratio:.2f}x the time per image of"
                             f" {first.model} {first_id[-4:]}")  # fmt: skip
        differ = set()
        try:
            configs = [
                runs.read_config(runs.runs_folder(self.app.settings.home) / r).to_dict()
                for r in self.picked
            ]
            differ = {
                k for k in configs[0] if k != "model" and len({str(c[k]) for c in configs}) > 1
            }
        except Exception:  # a damaged run among them: its row says so already
            pass
        if differ:
            parts.append("settings differ: " + ", ".join(sorted(differ)))
        return "; ".join(parts) or f"{len(self.picked)} run picked"

    @on(DataTable.RowSelected, "#all-runs")
    def row_selected(self) -> None:
        self.action_follow()

    def action_follow(self) -> None:
        from tui.screens.train import open_run

        run_id = self._run_under_cursor()
        if run_id:
            open_run(self.app, run_id, list(self.summaries.values()))

    def action_select_run(self) -> None:
        """The run under the cursor for the analyses; with two runs picked and the cursor on
        one, the other beside it (the picture screens then show both)."""
        run_id = self._run_under_cursor()
        if run_id and self.summaries[run_id].status == "damaged":
            self.set_status(f"{run_id} is damaged: {self.summaries[run_id].error}", error=True)
            return
        if not run_id:
            return
        self.app.select_run(run_id)
        others = [r for r in self.picked if r != run_id]
        if len(self.picked) == 2 and len(others) == 1:
            self.app.compare_with(others[0])
            self.set_status(f"analyses use {run_id}, beside {others[0]}: every picture screen"
                            " shows both (s on one run alone ends it)")  # fmt: skip
            return
        ended = " (side by side ended)" if self.app.versus_run else ""
        self.app.compare_with(None)
        self.set_status(f"analyses use {run_id}{ended}; pick two runs (space), then s, to see"
                        " them side by side")  # fmt: skip

    def action_name_run(self) -> None:
        from engine import runs
        from tui.screens.ask import AskText

        run_id = self._run_under_cursor()
        if run_id is None:
            return

        def named(text: str | None) -> None:
            if text is None:
                return
            try:
                runs.name_run(runs.runs_folder(self.app.settings.home) / run_id, text)
            except Exception as error:  # a damaged or vanished folder, a bad name
                self.set_status(f"not named: {error}", error=True)
                return
            self.load()

        current = self.summaries[run_id].name if run_id in self.summaries else ""
        self.app.push_screen(AskText(f"Name for run {run_id} (empty: no name)", current), named)

    def action_report(self) -> None:
        """A report (HTML, in the home's reports folder) of the picked runs, else of the run
        under the cursor."""
        from tui.screens.report_task import make_report

        chosen = list(self.picked) or [r for r in [self._run_under_cursor()] if r]
        if not chosen:
            self.set_status("no run to report on: train one first")
            return
        make_report(self, chosen)

    def action_delete_run(self) -> None:
        from engine import runs
        from tui.screens.ask import Confirm

        run_id = self._run_under_cursor()
        if run_id is None:
            return
        summary = self.summaries.get(run_id)
        what = f"{run_id} ({summary.status})" if summary else run_id

        def answered(yes: bool) -> None:
            if not yes:
                self.set_status("nothing deleted")
                return
            try:
                runs.delete_run(runs.runs_folder(self.app.settings.home) / run_id)
            except Exception as error:  # running, or already gone
                self.set_status(f"not deleted: {error}", error=True)
                return
            if run_id in self.picked:
                self.picked.remove(run_id)
            if self.app.selected_run == run_id:
                self.app.select_run(None)
            self.set_status(f"deleted {what}")
            self.load()

        self.app.push_screen(Confirm(f"Delete run {what} and all its files?"), answered)

    def on_resize(self) -> None:
        if self.summaries:
            self.show(self.summaries, self.histories)

    def action_move(self, step: int) -> None:
        table = self.query_one("#all-runs", DataTable)
        table.action_cursor_down() if step > 0 else table.action_cursor_up()
