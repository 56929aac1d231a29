"""Each layer's weights and gradients (engine.inside.histograms) at the moment shown: , and .
step through the run's snapshots, space plays them."""

from __future__ import annotations

from rich.console import Group
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import Header, Static

from engine.analyses import ANALYSES
from tui.screens.base import LOADING, ExperimentScreen
from tui.widgets.keys_footer import KeysFooter

ANALYSIS = ANALYSES["histograms"]  # what it draws (its entry in catalogue.py says the same)


class HistogramsScreen(ExperimentScreen):
    """One row per weighted layer: its weights' and gradients' histograms."""

    ANALYSIS = ANALYSIS

    BINDINGS = [Binding("t", "through", "Every moment's gradients")]
    STUDY_SECTION = ANALYSIS.study_section
    MOMENT_REDRAW = "draw"  # , and . step through the run's snapshots
    through: reactive[bool] = reactive(False)
    """Also the gradient's size per layer at every moment kept (t)."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="histograms-title", classes="title")
        yield Static("", id="histograms")
        yield Static(LOADING, classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.draw()

    def on_resize(self) -> None:
        self.draw()  # the bars fit the width

    @work(thread=True, exclusive=True, exit_on_error=False)
    def draw(self) -> None:
        from tui.draw.histograms import bins_for, spread_table

        subject = self.app.subject()
        bins = bins_for(self.size.width)
        result = ANALYSIS.run(subject, {"bins": bins})
        moment = self.app.moment or f"{self.app.checkpoint}.pt"
        title = f"{moment} — each layer's weights and gradients (, . earlier/later, space plays)"
        table = spread_table(result, ascii_only=not self.app.settings.colour)
        if self.through:
            table = Group(table, "", self.every_moment())
        self.app.call_from_thread(self.show, title, table, subject.run_id)

    def every_moment(self):
        """The gradient/weight ratio of each layer at every moment the run kept."""
        from tui.draw.histograms import through_table

        _, series = self.app.moment_series()
        results = [ANALYSIS.run(self.app.subject(checkpoint=m)) for m in series]
        return through_table(series, results)

    def watch_through(self) -> None:
        self.draw()

    def action_through(self) -> None:
        self.through = not self.through

    def show(self, title: str, table, run_id: str) -> None:
        self.query_one("#histograms-title", Static).update(title)
        self.query_one("#histograms", Static).update(table)
        self.set_status(f"model {run_id}")
