"""Targeted attack: an image near a real digit morphs until the network calls it the target."""

from __future__ import annotations

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Header, Static

from engine import events as ev
from engine.analyses.attacks import TARGETED
from tui.screens.base import EventInbox, ExperimentScreen, WorkerCancel
from tui.screens.step_keys import CLAMP_KEY, STEP_KEYS, StepSettings
from tui.widgets.array_view import ArrayView
from tui.widgets.chart_view import ChartView
from tui.widgets.keys_footer import KeysFooter

ANALYSIS = TARGETED


class TargetedScreen(StepSettings, ExperimentScreen):
    """t/T change the target, n/p the real image, g starts."""

    ANALYSIS = ANALYSIS

    STUDY_SECTION = ANALYSIS.study_section
    RETRY = "action_go"

    BINDINGS = [
        Binding("t", "target(1)", "Target +"),
        Binding("T", "target(-1)", "Target -"),
        Binding("n", "image(1)", "Next image"),
        Binding("p", "image(-1)", "Previous image"),
        Binding("b", "beta(10)", "Beta x10"),
        Binding("B", "beta(0.1)", "Beta ÷10"),
        Binding("g", "go", "Start again"),
        *STEP_KEYS,
        CLAMP_KEY,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.inbox = EventInbox()
        self.target: int | None = None  # these four from the app's givens when started
        self.beta = 0.0
        self.steps = 0
        self.image_index = 0
        self.curve_steps: list[int] = []
        self.probabilities: list[float] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="tgt-title", classes="title")
        with Horizontal(classes="panels fill"):
            yield ArrayView(id="tgt-real", classes="panel", min_scale=1)
            yield ArrayView(id="tgt-image", classes="panel", min_scale=1)
        yield ChartView(
            "probability of the target against step",
            "step",
            id="tgt-chart",
            classes="chart",
            ylim=(0, 1),
            integer_x=True,
        )
        yield Static("", classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.set_interval(self.app.settings.chart_seconds, self.drain)
        self.action_go()

    def restart(self) -> None:
        self.action_go()

    def action_go(self) -> None:
        self.workers.cancel_all()
        if self.target is None:  # the first picture: the app's givens (a 2 turned into a 9)
            first = ANALYSIS.values(self.app.given(ANALYSIS))
            self.target, self.beta, self.image_index = (
                first["target"],
                first["beta"],
                first["image"],
            )
            self.steps, self.step_size = first["steps"], first["step_size"]
        self.curve_steps, self.probabilities = [], []
        self.inbox = EventInbox()  # what a cancelled attack still sends goes nowhere
        self.query_one("#tgt-title", Static).update(
            f"near test image #{self.image_index}, called {self.target}: maximise logit({self.target})"
            f" - {self.beta:g}·MSE   (t/T target, n/p image, b/B beta x10 / ÷10, g again)"
        )
        self.query_one("#tgt-chart", ChartView).set_data({})
        image_view = self.query_one("#tgt-image", ArrayView)
        image_view.caption = f"attacking toward {self.target} ..."
        self.set_status(
            f"attacking: target {self.target}, beta {self.beta:g}, {self.step_text()} (c cancels)"
        )
        self.run_attack(self.image_index, self.target, self.beta, self.inbox)

    def on_worker_state_changed(self, event) -> None:
        """A failed attack (no trained run yet, say) leaves no "attacking toward" caption."""
        from textual.worker import WorkerState

        super().on_worker_state_changed(event)
        if event.state == WorkerState.ERROR:
            self.query_one("#tgt-image", ArrayView).caption = "no attack running"

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_attack(self, index: int, target: int, beta: float, inbox: EventInbox) -> None:
        subject = self.app.subject()
        index = min(index, len(subject.test) - 1)
        image = subject.test.images[index]
        self.app.call_from_thread(self.show_real, image.numpy(), int(subject.test.labels[index]))
        values = self.app.given(ANALYSIS, image=index, target=target, beta=beta,
                                steps=self.steps, step_size=self.step_size, clamp=self.clamp)  # fmt: skip
        result = ANALYSIS.run(subject, values, inbox, WorkerCancel())
        self.app.call_from_thread(self.finished, result)

    def show_real(self, image, label: int) -> None:
        view = self.query_one("#tgt-real", ArrayView)
        view.caption, view.array = f"real #{self.image_index}: a {label}", image

    def drain(self) -> None:
        events = self.inbox.drain()
        if not events:
            return
        for event in events:
            if isinstance(event, ev.AttackStepped):
                self.curve_steps.append(event.step)
                self.probabilities.append(event.probabilities[0])
            elif isinstance(event, ev.InputsSnapshotted):
                view = self.query_one("#tgt-image", ArrayView)
                view.array = np.asarray(event.images[0])
        if self.curve_steps:
            view = self.query_one("#tgt-image", ArrayView)
            view.caption = (
                f"step {self.curve_steps[-1]:,}: P({self.target}) = {self.probabilities[-1]:.3f}"
            )
            self.query_one("#tgt-chart", ChartView).set_data(
                {f"P({self.target})": (self.curve_steps, self.probabilities)}
            )

    def finished(self, result) -> None:
        self.drain()
        view = self.query_one("#tgt-image", ArrayView)
        view.array = result.image[0].numpy()
        view.caption = (
            f"result: called {result.predicted}, P({self.target}) = {result.probability:.4f}"
        )
        crossed = (
            f"passed 0.5 at step {result.crossed_at:,}"
            if result.crossed_at is not None
            else "never passed 0.5"
        )
        self.set_status(f"P({self.target}) {crossed}; MSE to the real image {result.mse:.4f}")

    def action_target(self, step: int) -> None:
        self.target = (self.target + step) % 10
        self.action_go()

    def action_beta(self, factor: float) -> None:
        self.beta = min(max(self.beta * factor, 1e-6), 1e4)
        self.action_go()

    def action_image(self, step: int) -> None:
        self.image_index = max(0, self.image_index + step)
        self.action_go()
