"""Any declared analysis that has no screen of its own: its parameters as a form (defaults,
rules and help from the declaration), and its result's summary and values."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import DataTable, Header, Input, Label, Static

from engine import events as ev
from engine.analyses import ANALYSES, flat_items
from engine.errors import SettingError
from tui.screens.base import EventInbox, ExperimentScreen, WorkerCancel
from tui.widgets.keys_footer import KeysFooter


class AnalysisScreen(ExperimentScreen):
    """Enter in a field (or ctrl+r) runs the analysis with the values in the form."""

    BINDINGS = [Binding("ctrl+r", "run", "Run")]
    RETRY = "action_run"

    def __init__(self, name: str) -> None:
        super().__init__()
        self.analysis = ANALYSES[name]
        self.STUDY_SECTION = self.analysis.study_section

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(f"{self.analysis.title}: {self.analysis.about}"), classes="title")
        with Grid(id="analysis-form"):
            for spec in self.analysis.parameters:
                yield Label(spec.label)
                yield Input(spec.show(spec.default), id=f"parameter-{spec.name}",
                            tooltip=f"{spec.help}; {spec.rule()}")  # fmt: skip
        yield Static("", id="analysis-summary")
        yield DataTable(id="analysis-values", show_header=False, cursor_type="none")
        yield Static("Enter runs it with these values", classes="status")
        yield KeysFooter()

    running = False

    def on_mount(self) -> None:
        super().on_mount()
        self.inbox = EventInbox()
        self.set_interval(0.25, self.show_progress)
        self.action_run()

    @on(Input.Submitted)
    def action_run(self) -> None:
        try:
            values = {spec.name: spec.parse(self.query_one(f"#parameter-{spec.name}", Input).value)
                      for spec in self.analysis.parameters}  # fmt: skip
            values = self.analysis.values(values)
        except SettingError as error:
            self.set_status(str(error), error=True)
            return
        self.set_status(f"running {self.analysis.name} ... (c cancels)")
        self.running = True
        self.compute(values)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def compute(self, values: dict) -> None:
        subject = self.app.subject()
        result = self.analysis.run(subject, values, self.inbox, WorkerCancel())
        self.app.call_from_thread(self.show, result, subject.run_id)

    def show_progress(self) -> None:
        events = [e for e in self.inbox.drain() if isinstance(e, ev.ProgressMade)]
        if events and self.running:
            last = events[-1]
            self.set_status(f"{last.task}: {last.done:,} of {last.total:,}")

    def show(self, result, run_id: str) -> None:
        self.running = False
        self.query_one("#analysis-summary", Static).update(Text(result.summary()))
        table = self.query_one("#analysis-values", DataTable)
        table.clear(columns=True)
        table.add_columns("name", "value")
        for name, shown in flat_items(result):
            table.add_row(name.replace("_", " "), Text(shown))
        self.set_status(f"done — model {run_id}")
