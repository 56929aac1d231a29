"""Occlusion: the image, the probability of its true class with the patch at each position,
and the class predicted there; a cursor reads the exact values."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Header, Static

from engine.analyses import ANALYSES
from engine.analyses.inside import OCCLUSION
from tui.graphics import PIXEL_MODES
from tui.screens.base import LOADING, ExperimentScreen, WorkerCancel
from tui.widgets.array_view import ArrayView
from tui.widgets.keys_footer import KeysFooter

# The screen's starting values and limits are the analysis's declared ones.
PATCH, STRIDE, FILL = (OCCLUSION.parameter(name) for name in ("patch", "stride", "fill"))


ANALYSIS = ANALYSES["occlude"]  # what it draws (its entry in catalogue.py says the same)


class OcclusionScreen(ExperimentScreen):
    """+/- patch size, s/S stride, n/p image, arrows move the cursor over the maps."""

    ANALYSIS = ANALYSIS

    BINDINGS = [
        Binding("plus", "patch(2)", "Patch +", key_display="+"),
        Binding("minus", "patch(-2)", "Patch -", key_display="-"),
        Binding("s", "stride(1)", "Stride +"),
        Binding("S", "stride(-1)", "Stride -"),
        Binding("f", "fill", "Patch value"),
        Binding("n", "image(1)", "Next image"),
        Binding("p", "image(-1)", "Previous image"),
        Binding("up", "cursor(-1, 0)", "Up", show=False),
        Binding("down", "cursor(1, 0)", "Down", show=False),
        Binding("left", "cursor(0, -1)", "Left", show=False),
        Binding("right", "cursor(0, 1)", "Right", show=False),
    ]

    patch: reactive[int] = reactive(PATCH.default)
    """Patch size in pixels."""

    STUDY_SECTION = ANALYSIS.study_section
    MOMENT_REDRAW = "compute"  # , and . step through the run's snapshots
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    stride: reactive[int] = reactive(STRIDE.default)
    """Step between patch positions."""
    image_index: reactive[int] = reactive(OCCLUSION.default("image"))
    """The test image (the study's '9' to begin with)."""
    fill: reactive[float] = reactive(FILL.default)
    """The patch's pixel value: 0 black, 0.5 grey, 1 white."""
    cursor: reactive[tuple[int, int]] = reactive((0, 0))
    """(row, column) of the patch position read out."""

    def __init__(self) -> None:
        super().__init__()
        self.result = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="occ-title", classes="title")
        # plain characters take a row a pixel: the image may thin out to fit 24 rows
        ascii_mode = self.app.settings.graphics == "ascii"
        image_floor, map_floor = (0.5, 1) if ascii_mode else (1, 2)
        # pixels scale by any factor, so there the three pictures share the whole screen;
        # half-blocks keep whole scales: at 80 columns the three fit as they are, on a wide
        # terminal they share it too (at 120x36 the maps grow to 4 cells a position)
        pixels = self.app.settings.graphics in PIXEL_MODES
        with Horizontal(classes="panels fill" if pixels else "panels"):
            yield ArrayView(id="occ-image", classes="panel", min_scale=image_floor)
            yield ArrayView(id="occ-prob", classes="panel", cmap="viridis", vmin=0, vmax=1,
                            min_scale=map_floor, legend=True)  # fmt: skip
            yield ArrayView(id="occ-class", classes="panel", cmap="classes", vmin=0, vmax=9,
                            min_scale=map_floor, legend=True)  # fmt: skip
        yield Static("", id="occ-readout")
        yield Static(LOADING, classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.compute()

    def watch_patch(self) -> None:
        self.compute()

    def watch_stride(self) -> None:
        self.compute()

    def watch_image_index(self) -> None:
        self.compute()

    def watch_fill(self) -> None:
        self.compute()

    def action_fill(self) -> None:
        self.fill = {0.0: 0.5, 0.5: 1.0}.get(self.fill, 0.0)

    def watch_cursor(self) -> None:
        self.show_readout()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def compute(self) -> None:
        subject = self.app.subject()
        index = min(self.image_index, len(subject.test) - 1)
        values = {"image": index, "patch": self.patch, "stride": self.stride, "fill": self.fill}
        result = OCCLUSION.run(subject, values, cancel=WorkerCancel())
        image = subject.test.images[index]
        self.app.call_from_thread(self.show, subject, index, image.numpy(), result)

    def show(self, subject, index, image, result) -> None:
        self.result, self.class_names = result, subject.classes
        names = subject.classes
        self.query_one("#occ-title", Static).update(
            f"{self.moment_prefix()}#{index}: a {names[result.label]}, called {names[result.predicted]}"
            f" ({result.probability:.0%}); patch {result.patch}, stride {result.stride}, fill"
            f" {result.fill:g}: {result.changed_positions} of {len(result.offsets) ** 2} change it"
        )
        view = self.query_one("#occ-image", ArrayView)
        view.caption, view.array = "image", image
        prob = self.query_one("#occ-prob", ArrayView)
        prob.caption, prob.array = (
            f"P({names[result.label]}), patch there",
            result.true_probability.numpy(),
        )
        cls = self.query_one("#occ-class", ArrayView)
        cls.caption, cls.array = (
            "class, patch there",
            result.predicted_class.numpy().astype(float),
        )
        size = len(result.offsets)
        self.cursor = (min(self.cursor[0], size - 1), min(self.cursor[1], size - 1))
        self.show_readout()
        self.set_status(
            f"model {subject.run_id}; +/- patch, s/S stride, n/p image, arrows move the cursor"
        )

    def show_readout(self) -> None:
        if self.result is None:
            return
        r, c = self.cursor
        for name in ("#occ-prob", "#occ-class"):
            self.query_one(name, ArrayView).cursor = (r, c)
        result = self.result
        top, left = result.offsets[r], result.offsets[c]
        end = result.patch - 1
        self.query_one("#occ-readout", Static).update(
            f"cell ({r}, {c}): patch on rows {top}-{top + end}, columns {left}-{left + end}:"
            f" P({self.class_names[result.label]}) = {float(result.true_probability[r, c]):.4f};"
            f" called {self.class_names[int(result.predicted_class[r, c])]}"
            f" ({float(result.predicted_probability[r, c]):.2f})"
        )

    def action_patch(self, step: int) -> None:
        self.patch = int(max(PATCH.minimum, min(PATCH.maximum, self.patch + step)))

    def action_stride(self, step: int) -> None:
        self.stride = int(max(STRIDE.minimum, min(STRIDE.maximum, self.stride + step)))

    def action_image(self, step: int) -> None:
        self.image_index = max(0, self.image_index + step)

    def action_cursor(self, dr: int, dc: int) -> None:
        if self.result is None:
            return
        size = len(self.result.offsets)
        self.cursor = ((self.cursor[0] + dr) % size, (self.cursor[1] + dc) % size)
