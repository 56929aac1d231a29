"""Robustness: the accuracy-against-epsilon curve, filling in as it is computed."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static

from engine import events as ev
from tui.screens.base import EventInbox, ExperimentScreen, WorkerCancel
from tui.widgets.chart_view import ChartView

EPS = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]


class RobustnessScreen(ExperimentScreen):
    """a switches FGSM/PGD and starts again."""

    STUDY_SECTION = "5"

    BINDINGS = [
        Binding("a", "switch_attack", "FGSM/PGD"),
        Binding("R", "random_start", "Random start"),
        Binding("plus", "limit(2)", "More images", key_display="+"),
        Binding("minus", "limit(0.5)", "Fewer images", key_display="-"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.attack = "fgsm"
        self.random_start = False  # PGD from a random point in the eps ball
        self.limit: int | None = None  # test images attacked (None: the app's default)
        self.inbox = EventInbox()
        self.points: list = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="rob-title", classes="title")
        yield ProgressBar(id="rob-bar", show_eta=True)
        yield ChartView(
            "test accuracy (%) against eps", "eps", id="rob-chart", classes="chart", ylim=(0, 100)
        )
        yield DataTable(id="rob-table")
        yield Static("", classes="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#rob-table", DataTable).add_columns(
            "eps", "accuracy", "robust accuracy", "images/s per step"
        )
        self.set_interval(self.app.settings.chart_seconds, self.drain)
        self.start()

    def start(self) -> None:
        self.workers.cancel_all()
        self.points = []
        self.inbox = EventInbox()  # points of a cancelled curve go nowhere
        self.query_one("#rob-table", DataTable).clear()
        self.query_one("#rob-chart", ChartView).set_data({})
        self.query_one("#rob-bar", ProgressBar).update(total=None, progress=0)
        self.set_status(f"computing the {self.attack.upper()} curve ... (c cancels)")
        limit = self.limit or self.app.settings.robustness_limit
        start = ", random start" if self.random_start and self.attack == "pgd" else ""
        self.query_one("#rob-title", Static).update(
            f"{self.attack.upper()}{start} on the first {limit:,} test images (a attack, R random"
            " start, +/- images). Robust accuracy: the share still classified right once attacked"
        )
        self.compute(self.attack, limit, self.inbox)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def compute(self, attack: str, limit: int, inbox: EventInbox) -> None:
        random_start = self.random_start
        from engine.attacks import robustness_curve

        subject = self.app.subject()
        robustness_curve(subject.model, subject.test, EPS, attack, limit=limit, emit=inbox,
                         random_start=random_start,
                         cancel=WorkerCancel())  # fmt: skip

    def drain(self) -> None:
        for event in self.inbox.drain():
            if isinstance(event, ev.ProgressMade):
                self.query_one("#rob-bar", ProgressBar).update(
                    total=event.total, progress=event.done
                )
            elif isinstance(event, ev.RobustnessMeasured) and event.attack == self.attack:
                self.add_point(event)

    def add_point(self, point: ev.RobustnessMeasured) -> None:
        self.points.append(point)
        self.query_one("#rob-table", DataTable).add_row(
            f"{point.eps:g}", f"{point.accuracy:.2%}", f"{point.robust_accuracy:.2%}",
            f"{point.images_per_s_per_step:,.0f}",
        )  # fmt: skip
        self.query_one("#rob-chart", ChartView).set_data(
            {"accuracy": ([p.eps for p in self.points], [100 * p.accuracy for p in self.points])}
        )
        if len(self.points) == len(EPS):
            self.set_status(f"done: {self.points[-1].accuracy:.2%} at eps {EPS[-1]}")

    def action_random_start(self) -> None:
        self.random_start = not self.random_start
        if self.attack == "fgsm":
            self.attack = "pgd"  # a random start is PGD's
        self.start()

    def action_limit(self, factor: float) -> None:
        current = self.limit or self.app.settings.robustness_limit
        self.limit = int(min(10_000, max(100, current * factor)))
        self.start()

    def action_switch_attack(self) -> None:
        self.attack = "pgd" if self.attack == "fgsm" else "fgsm"
        self.start()
