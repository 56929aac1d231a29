"""Each layer's weights and gradients (engine.histograms) at the moment shown: , and .
step through the run's snapshots, space plays them."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from tui.screens.base import LOADING, ExperimentScreen


class HistogramsScreen(ExperimentScreen):
    """One row per weighted layer: its weights' and gradients' histograms."""

    STUDY_SECTION = "3"
    MOMENT_REDRAW = "draw"  # , and . step through the run's snapshots

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="histograms-title", classes="title")
        yield Static("", id="histograms")
        yield Static(LOADING, classes="status")
        yield Footer()

    def on_mount(self) -> None:
        self.draw()

    def on_resize(self) -> None:
        self.draw()  # the bars fit the width

    @work(thread=True, exclusive=True, exit_on_error=False)
    def draw(self) -> None:
        from engine.analyses import ANALYSES
        from tui.draw.histograms import bins_for, spread_table

        subject = self.app.subject()
        bins = bins_for(self.size.width)
        result = ANALYSES["histograms"].run(subject, {"bins": bins})
        moment = self.app.moment or f"{self.app.checkpoint}.pt"
        title = f"{moment} — each layer's weights and gradients (, . earlier/later, space plays)"
        table = spread_table(result, ascii_only=not self.app.settings.colour)
        self.app.call_from_thread(self.show, title, table, subject.run_id)

    def show(self, title: str, table, run_id: str) -> None:
        self.query_one("#histograms-title", Static).update(title)
        self.query_one("#histograms", Static).update(table)
        self.set_status(f"model {run_id}")
