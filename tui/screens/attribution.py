"""Attribution: one test image and what every method says made the network call it what it
did, side by side, each with its faithfulness (the area under its deletion curve)."""

from __future__ import annotations

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import Header, Static

from engine.analyses import ANALYSES
from engine.analyses.inside import ATTRIBUTION
from engine.inside.attribution_methods import METHODS as REGISTERED
from tui.screens.base import LOADING, ExperimentScreen, WorkerCancel
from tui.widgets.array_view import ArrayView
from tui.widgets.chart_view import ChartView
from tui.widgets.keys_footer import KeysFooter

METHODS = tuple(REGISTERED)


ANALYSIS = ANALYSES["attribute"]  # what it draws (its entry in catalogue.py says the same)


class AttributionScreen(ExperimentScreen):
    """n/p change the image, t/T the class explained (from the predicted one)."""

    ANALYSIS = ANALYSIS

    STUDY_SECTION = ANALYSIS.study_section
    MOMENT_REDRAW = "compute"  # , and . step through the run's snapshots
    BINDINGS = [
        Binding("n", "image(1)", "Next image"),
        Binding("p", "image(-1)", "Previous image"),
        Binding("t", "target(1)", "Class +"),
        Binding("T", "target(-1)", "Class -"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.image_index = ATTRIBUTION.default("image")
        self.target: int | None = None  # None: the predicted class

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="attr-title", classes="title")
        with Grid(id="attr-grid", classes="grid turn"):
            yield ArrayView(id="attr-image", classes="panel")
            for method in METHODS:
                yield ArrayView(id=f"attr-{method}", classes="panel", cmap="signed")
        yield ChartView("deletion curves: P(class) as the most attributed pixels go", "share removed",
                        id="attr-chart", classes="chart", ylim=(0, 1))  # fmt: skip
        yield Static(LOADING, classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        # four pictures a row, as many rows as the image and the methods need
        self.query_one("#attr-grid", Grid).styles.grid_size_rows = -(-(len(METHODS) + 1) // 4)
        self.compute()

    def compute(self) -> None:
        self.workers.cancel_all()
        what = "the predicted class" if self.target is None else f"class {self.target}"
        self.set_status(
            f"attributing test image #{self.image_index} to {what} by {len(METHODS)} methods ..."
        )
        self.query_one("#attr-chart", ChartView).set_data({})
        self.run_methods(self.image_index, self.target)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_methods(self, index: int, target: int | None) -> None:
        subject = self.app.subject()
        index = min(index, len(subject.test) - 1)
        explanation = ATTRIBUTION.run(subject, {"image": index, "target": target},
                                      cancel=WorkerCancel())  # fmt: skip
        self.app.call_from_thread(self.show, subject, explanation)

    def show(self, subject, explanation) -> None:
        names = subject.classes
        index, label, target = explanation.index, explanation.label, explanation.target
        image = subject.test.images[index].numpy()
        results, random_curve = explanation.maps, explanation.random_curve
        self.query_one("#attr-title", Static).update(
            f"{self.moment_prefix()}#{index}: a {names[label]}, explained as {names[target]} — red toward, blue away"
            " (n/p image, t/T class)"
        )
        view = self.query_one("#attr-image", ArrayView)
        view.caption, view.array = "image", image
        for method in set(METHODS) - {r.method for r in results}:
            view = self.query_one(f"#attr-{method}", ArrayView)
            view.caption, view.array = f"{method}: not for this network", None
        for r in results:
            limit = float(np.abs(r.attribution).max()) or 1.0
            view = self.query_one(f"#attr-{r.method}", ArrayView)
            view.vmin, view.vmax = -limit, limit
            view.caption, view.array = f"{r.method} {r.deletion_area:.3f}", r.attribution
        series = {r.method: (r.deletion_fraction, r.deletion_probability) for r in results}
        series["random"] = random_curve
        self.query_one("#attr-chart", ChartView).set_data(series)
        best = min(results, key=lambda r: r.deletion_area)
        self.set_status(
            f"most faithful here: {best.method} (deletion area {best.deletion_area:.3f}; random"
            f" order {explanation.random_area:.3f}; lower is better) — model {subject.run_id}"
        )

    def action_image(self, step: int) -> None:
        self.image_index = max(0, self.image_index + step)
        self.target = None
        self.compute()

    def action_target(self, step: int) -> None:
        self.target = (
            (self.target if self.target is not None else -1 if step > 0 else 10) + step
        ) % 10
        self.compute()
