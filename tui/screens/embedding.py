"""The map of what the network learned (engine.inside.embedding): the test images' features
at a layer projected to 2-D, a digit a colour, the misclassified marked, and the silhouette
of the true classes at every moment the run kept. The maps of all moments are computed once,
on the PCA axes of the last, so , . and space step through comparable pictures."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Header, Static

from engine.analyses import ANALYSES
from tui.screens.base import LOADING, ExperimentScreen
from tui.widgets.chart_view import ChartView
from tui.widgets.keys_footer import KeysFooter

ANALYSIS = ANALYSES["embedding"]


class EmbeddingScreen(ExperimentScreen):
    """A scatter of the test images at the moment shown; the silhouette at every moment."""

    ANALYSIS = ANALYSIS

    BINDINGS = [Binding("n", "next_layer", "Next layer")]
    STUDY_SECTION = ANALYSIS.study_section
    MOMENT_REDRAW = "show_moment_map"
    RETRY = "compute"  # after its run's code is trusted in the dialog

    def __init__(self) -> None:
        super().__init__()
        self.series: list[str] = []  # the moments, in order; the maps below are theirs
        self.maps: list = []
        self.map_layer: str | None = ANALYSIS.default(
            "layer"
        )  # None: the last linear layer's input
        self.map_layers: list[str] = []  # every weighted layer, whose input can be mapped

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="embedding-title", classes="title")
        with Horizontal(classes="fill"):
            yield Static("", id="embedding-map", classes="turn")
            yield ChartView("silhouette of the true classes", "moment", id="embedding-chart",
                            classes="chart", integer_x=True,
                            empty="one moment only: the run kept no snapshots")  # fmt: skip
        yield Static(LOADING, classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.compute()

    def on_resize(self) -> None:
        super().on_resize()
        if self.maps:
            self.show_moment_map()  # the scatter fits its panel

    @work(thread=True, exclusive=True, exit_on_error=False)
    def compute(self) -> None:
        """Every moment's map, on the PCA axes of the last (computed once)."""
        from engine.inside.embedding import through_training
        from engine.models.layers import weighted

        run_dir, series = self.app.moment_series()
        self.map_layers = [name for name, _ in weighted(self.app.subject().model)]
        where = (
            f"the input of {self.map_layer}" if self.map_layer else "the last linear layer's input"
        )
        self.app.call_from_thread(self.set_status, f"projecting the test images at {where},"
                                  f" {len(series)} moments of {run_dir.name} ... (c cancels)")  # fmt: skip
        values = ANALYSIS.values(self.app.given(ANALYSIS, layer=self.map_layer, method="pca"))
        maps = through_training(lambda moment: self.app.subject(checkpoint=moment), series,
                                **values)  # fmt: skip
        self.app.call_from_thread(self.computed, run_dir.name, series, maps)

    def action_next_layer(self) -> None:
        """The map at the input of the next weighted layer (recomputed for every moment)."""
        if not self.map_layers or not self.maps:
            return
        now = self.maps[-1].layer
        at = self.map_layers.index(now) if now in self.map_layers else -1
        self.map_layer = self.map_layers[(at + 1) % len(self.map_layers)]
        self.compute()

    def computed(self, run_id: str, series: list[str], maps: list) -> None:
        self.series, self.maps = series, maps
        if len(series) > 1:
            self.query_one(ChartView).set_data(
                {"silhouette": (list(range(len(series))), [m.silhouette for m in maps])}
            )
        self.show_moment_map()
        self.set_status(f", . earlier/later, space plays: {len(series)} moments of {run_id}"
                        f" (0 = {series[0]}, {len(series) - 1} = {series[-1]}), axes of the last;"
                        f" n the next layer ({', '.join(self.map_layers)})")  # fmt: skip

    def show_moment_map(self) -> None:
        from tui.draw.charts import scatter_by_class

        if not self.maps:
            return
        shown = self.app.moment or self.app.checkpoint
        at = self.series.index(shown) if shown in self.series else len(self.series) - 1
        found = self.maps[at]
        wrong = [a != b for a, b in zip(found.labels, found.predictions, strict=True)]
        panel = self.query_one("#embedding-map", Static)
        width, height = max(30, panel.size.width), max(10, panel.size.height - 1)
        panel.update(scatter_by_class(found.x, found.y, found.labels, wrong,
                                      title=f"{found.layer}: PCA", width=width, height=height,
                                      colour=self.app.settings.colour))  # fmt: skip
        self.query_one("#embedding-title", Static).update(
            f"{self.series[at]} ({at} on the chart): silhouette"
            f" {found.silhouette:+.3f}, {sum(wrong)} of {len(wrong):,} misclassified"
        )
