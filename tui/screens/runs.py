"""Runs and comparison: every run with its figures; pick two or more to overlay their curves
and set their figures side by side (the BatchNorm study of study §3)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Static

from engine.runs.state import DAMAGED
from tui.screens.base import ExperimentScreen
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.run_comparison import RunComparison
from tui.widgets.runs_table import RunsTable


class RunsScreen(ExperimentScreen):
    """Space picks a run for the comparison; Enter follows it; s uses it for the analyses."""

    STUDY_SECTION = "3"

    BINDINGS = [
        Binding("space", "pick", "Pick/unpick"),
        Binding("enter", "follow", "Follow"),
        Binding(
            "s",
            "select_run",
            "Analyse",
            tooltip="the analyses use this run; two picked with space: side by side",
        ),
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

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Runs: Space picks two or more to compare", classes="title")
        yield RunsTable(id="all-runs", picks=True)
        yield RunComparison(self.app.settings.home)
        yield Static("", classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from engine import runs

        run_dirs = runs.list_runs(self.app.settings.home)
        summaries = {d.name: runs.summarize_cached(d) for d in run_dirs}
        self.app.call_from_thread(self.show, summaries)

    def show(self, summaries: dict) -> None:
        if summaries is not self.summaries:
            self.query_one(RunComparison).forget()  # renamed, resumed or deleted since
        self.summaries = summaries
        self.query_one(RunsTable).show(list(summaries.values()), tuple(self.picked),
                                       width=self.size.width)  # fmt: skip
        self.set_status(self.query_one(RunComparison).compare(self.picked, summaries))

    def _run_under_cursor(self) -> str | None:
        return self.query_one(RunsTable).run_under_cursor()

    def action_pick(self) -> None:
        run_id = self._run_under_cursor()
        if run_id is None:
            return
        if run_id in self.picked:
            self.picked.remove(run_id)
        else:
            self.picked.append(run_id)
        self.show(self.summaries)

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
        if run_id and self.summaries[run_id].status == DAMAGED:
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
            self.show(self.summaries)

    def action_move(self, step: int) -> None:
        table = self.query_one(RunsTable)
        table.action_cursor_down() if step > 0 else table.action_cursor_up()
