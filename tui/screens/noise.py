"""Adding noise: choose a source and a target digit; image, noise and result side by side."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Header, Static

from engine.analyses.attacks import NOISE
from tui.screens.base import ExperimentScreen, WorkerCancel
from tui.screens.step_keys import STEP_KEYS, StepSettings
from tui.widgets.array_view import ArrayView
from tui.widgets.keys_footer import KeysFooter

ANALYSIS = NOISE


class NoiseScreen(StepSettings, ExperimentScreen):
    """s/S change the source digit, t/T the target; the attack reruns at once."""

    ANALYSIS = ANALYSIS

    STUDY_SECTION = ANALYSIS.study_section
    RETRY = "run_attack"

    BINDINGS = [
        Binding("s", "source(1)", "Source +"),
        Binding("S", "source(-1)", "Source -"),
        Binding("t", "target(1)", "Target +"),
        Binding("T", "target(-1)", "Target -"),
        *STEP_KEYS,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.source: int | None = None  # the pair, steps and step size: the app's givens first
        self.target = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="noise-title", classes="title")
        with Horizontal(classes="panels fill"):
            yield ArrayView(id="noise-image", classes="panel", min_scale=1)
            yield ArrayView(
                id="noise-noise", classes="panel", cmap="signed", min_scale=1, legend=True
            )
            yield ArrayView(id="noise-result", classes="panel", min_scale=1)
        yield Static("", classes="status")
        yield KeysFooter()

    steps = 0  # at most

    def on_mount(self) -> None:
        first = ANALYSIS.values(self.app.given(ANALYSIS))
        (self.source,), (self.target,) = first["sources"][:1], first["targets"][:1]
        self.steps, self.step_size = first["max_steps"], first["step_size"]
        self.run_attack()

    def restart(self) -> None:
        self.run_attack()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_attack(self) -> None:
        subject = self.app.subject()
        self.app.call_from_thread(
            self.set_status,
            f"turning a {self.source} into a {self.target} (at most {self.steps:,} steps of"
            f" {self.step_size:g}) ...",
        )
        values = self.app.given(ANALYSIS, sources=(self.source,), targets=(self.target,),
                                max_steps=self.steps, step_size=self.step_size)  # fmt: skip
        result = ANALYSIS.run(subject, values, cancel=WorkerCancel())
        self.app.call_from_thread(self.show, result)

    def show(self, result) -> None:
        self.query_one("#noise-title", Static).update(
            f"source {self.source} -> target {self.target}: steps of {self.step_size:g} on image + noise until the"
            " prediction flips (s/S source, t/T target)"
        )
        clean, adversarial = result.images[0, 0].numpy(), result.adversarial[0, 0].numpy()
        image = self.query_one("#noise-image", ArrayView)
        image.caption, image.array = f"test image #{result.indices[0]} ({self.source})", clean
        noise = self.query_one("#noise-noise", ArrayView)
        noise.caption, noise.array = (
            f"noise: Linf {result.linf[0]:.3f}, L2 {result.l2[0]:.2f}",
            adversarial - clean,
        )
        out = self.query_one("#noise-result", ArrayView)
        out.caption, out.array = f"image + noise: called {result.predicted[0]}", adversarial
        steps = result.steps[0]
        self.set_status(
            f"flipped after {steps} steps"
            if steps is not None
            else "did not flip within the step limit"
        )

    def _change(self, source: int, target: int) -> None:
        if source == target:  # a digit into itself is no attack: skip over it
            target = (target + 1) % 10
        self.source, self.target = source, target
        self.run_attack()

    def action_source(self, step: int) -> None:
        self._change((self.source + step) % 10, self.target)

    def action_target(self, step: int) -> None:
        target = (self.target + step) % 10
        if target == self.source:
            target = (target + step) % 10
        self._change(self.source, target)
