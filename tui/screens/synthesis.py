"""Class synthesis: ten images forming while a chart shows their logits rising; m switches
between the study's signed steps from noise and L2 steps from grey (digits, for a robust
network)."""

from __future__ import annotations

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import Header, Static

from engine import events as ev
from engine.analyses.attacks import SYNTHESIZE
from engine.config import SYNTHESIS_METHODS, synthesis_budget
from tui.screens.base import EventInbox, ExperimentScreen, WorkerCancel
from tui.screens.step_keys import CLAMP_KEY, STEP_KEYS, StepSettings
from tui.widgets.array_view import ArrayView
from tui.widgets.chart_view import ChartView
from tui.widgets.keys_footer import KeysFooter

ANALYSIS = SYNTHESIZE
CLASSES = list(range(10))


class SynthesisScreen(StepSettings, ExperimentScreen):
    """g starts (again, from a new start); m switches the method; c cancels."""

    ANALYSIS = ANALYSIS

    STUDY_SECTION = ANALYSIS.study_section
    RETRY = "action_go"

    BINDINGS = [
        Binding("g", "go", "Start again"),
        Binding("m", "method", "Sign/L2 steps"),
        *STEP_KEYS,
        CLAMP_KEY,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.inbox = EventInbox()
        self.seed = 0
        self.steps = 0  # set from the app's givens when mounted
        self.method = "sign"
        self.step_size = synthesis_budget(self.method)[1]
        self.curve_steps: list[int] = []
        self.curves: list[list[float]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.title_text(), id="synth-title", classes="title")
        with Grid(id="synth-grid", classes="grid turn"):
            for k in CLASSES:
                yield ArrayView(id=f"synth-{k}", classes="panel")
        yield ChartView(
            "logit of each class's own target against step (lines labelled 0-9)",
            "step",
            id="synth-chart",
            classes="chart",
            integer_x=True,
        )
        yield Static("", classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.set_interval(self.app.settings.chart_seconds, self.drain)
        self.action_go()

    def title_text(self) -> str:
        return f"Class synthesis, {self.method} (m switches): {SYNTHESIS_METHODS[self.method]}"

    def given_steps(self) -> int:
        """The steps the app gives (its givens; none: the method's own)."""
        steps = self.app.given(ANALYSIS).get("steps")
        return synthesis_budget(self.method, steps)[0]

    def action_method(self) -> None:
        """The other method, with its own steps and step size (never more steps than the
        app gives)."""
        self.method = "l2" if self.method == "sign" else "sign"
        steps, self.step_size = synthesis_budget(self.method)
        self.steps = min(steps, self.given_steps())
        self.query_one("#synth-title", Static).update(self.title_text())
        self.restart()

    def restart(self) -> None:
        self.seed -= 1  # the same noise, other settings
        self.action_go()

    def action_go(self) -> None:
        self.workers.cancel_all()
        self.steps = self.steps or self.given_steps()
        self.curve_steps, self.curves = [], []
        self.inbox = EventInbox()  # what a cancelled run still sends goes nowhere
        self.query_one("#synth-chart", ChartView).set_data({})
        self.set_status(
            f"starting ({self.method}, seed {self.seed}), {self.step_text()} ... (c cancels)"
        )
        self.run_synthesis(self.seed, self.inbox)
        self.seed += 1

    @work(thread=True, exclusive=True, exit_on_error=False)
    def run_synthesis(self, seed: int, inbox: EventInbox) -> None:
        values = self.app.given(ANALYSIS, classes=tuple(CLASSES), method=self.method,
                                steps=self.steps, step_size=self.step_size, clamp=self.clamp,
                                seed=seed)  # fmt: skip
        result = ANALYSIS.run(self.app.subject(), values, inbox, WorkerCancel())
        self.app.call_from_thread(self.finished, result)

    def drain(self) -> None:
        events = self.inbox.drain()
        if not events:
            return
        images = None
        for event in events:
            if isinstance(event, ev.AttackStepped):
                self.curve_steps.append(event.step)
                self.curves.append(event.logits)
            elif isinstance(event, ev.InputsSnapshotted):
                images = event.images
        if images is not None:
            for k, image in zip(CLASSES, images, strict=True):
                view = self.query_one(f"#synth-{k}", ArrayView)
                view.array = np.asarray(image)
        if self.curves:
            latest = self.curves[-1]
            for k in CLASSES:
                self.query_one(f"#synth-{k}", ArrayView).caption = f"k={k} logit {latest[k]:.1f}"
            self.query_one("#synth-chart", ChartView).set_data(
                {str(k): (self.curve_steps, [c[k] for c in self.curves]) for k in CLASSES}
            )
            done = f"step {self.curve_steps[-1]:,} of {self.steps:,}"
            working = any(w.is_running for w in self.workers)
            self.set_status(
                f"{done} (c cancels)" if working else f"cancelled at {done}; g starts again"
            )

    def finished(self, result) -> None:
        self.drain()
        for k, p, pred in zip(result.classes, result.probabilities, result.predicted, strict=True):
            self.query_one(f"#synth-{k}", ArrayView).caption = f"k={k} -> {pred}, p={p:.3f}"
        sure = sum(p > 0.99 for p in result.probabilities)
        self.set_status(
            f"done: {sure} of 10 images called their class with p > 0.99; g starts again"
        )
