"""Robustness: the accuracy-against-epsilon curve, filling in as it is computed — of the
selected run, or (m) of the latest finished run of each defence, overlaid: a standard
network beside the adversarially trained ones."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, ProgressBar, Static

from engine import events as ev
from engine.analyses.attacks import ROBUSTNESS, eps_cells, eps_columns
from engine.attacks.catalogue import ATTACKS
from engine.columns import BAND_COLUMNS, ROBUSTNESS_COLUMNS, cells
from engine.config import DEFENCES
from engine.runs.state import FINISHED
from tui.draw.tables import counted
from tui.screens.base import EventInbox, ExperimentScreen, WorkerCancel
from tui.widgets.chart_view import ChartView
from tui.widgets.keys_footer import KeysFooter

ANALYSIS = ROBUSTNESS
EPS = list(ANALYSIS.default("eps"))


def defence_runs(summaries) -> list:
    """The latest finished run of each defence (none first), for the overlay."""
    latest = {}
    for summary in summaries:  # oldest first: later ones replace earlier
        if summary.status == FINISHED:
            latest[summary.defence] = summary
    return [latest[d] for d in DEFENCES if d in latest]


class RobustnessScreen(ExperimentScreen):
    """a cycles the attack, m overlays the runs of each defence; each starts again."""

    ANALYSIS = ANALYSIS

    STUDY_SECTION = ANALYSIS.study_section
    RETRY = "start"

    BINDINGS = [
        Binding("a", "switch_attack", "Attack"),
        Binding("m", "compare", "Compare defences"),
        Binding("R", "random_start", "Random start"),
        Binding("plus", "limit(2)", "More images", key_display="+"),
        Binding("minus", "limit(0.5)", "Fewer images", key_display="-"),
        Binding("p", "toggle_proof", "Proven band"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.attack = ANALYSIS.default("attack")
        self.random_start = False  # PGD from a random point in the eps ball
        self.limit: int | None = None  # test images attacked (None: the app's givens)
        self.inbox = EventInbox()
        self.points: list = []
        self.compare = False  # overlay the latest run of each defence
        self.curves: dict[str, list] = {}  # series name -> points, in the order computed
        self.series = ""  # the series whose points arrive now
        self.certify = False  # p: also prove what can be proven (interval bounds): the band

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="rob-title", classes="title")
        yield ProgressBar(id="rob-bar", show_eta=True)
        yield ChartView(
            "test accuracy (%) against eps", "eps", id="rob-chart", classes="chart", ylim=(0, 100)
        )
        yield DataTable(id="rob-table", classes="turn")
        yield Static("", classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.set_interval(self.app.settings.chart_seconds, self.drain)
        self.start()

    def start(self) -> None:
        self.workers.cancel_all()
        self.points, self.curves, self.series = [], {}, ""
        self.inbox = EventInbox()  # points of a cancelled curve go nowhere
        table = self.query_one("#rob-table", DataTable)
        table.clear(columns=True)
        if self.compare:
            table.add_columns(*eps_columns(["run", "defence"], EPS))
        else:
            table.add_columns(*(c.label for c in self.columns()))
        self.query_one("#rob-chart", ChartView).set_data({})
        self.query_one("#rob-bar", ProgressBar).update(total=None, progress=0)
        values = self.values()
        limit = values["limit"]
        what = "the latest finished run of each defence" if self.compare else "the selected run"
        self.query_one("#rob-title", Static).update(
            f"{ATTACKS[self.attack].words(values)} on the first {limit:,} test images, {what} (a attack,"
            " m compare defences, p proven band, R random start, +/- images). Accuracy: the share still"
            " classified right once attacked; worst: right under every attack"
        )
        if self.compare:
            from engine import runs

            home = self.app.settings.home
            subjects = defence_runs([runs.summarize(path) for path in runs.list_runs(home)])
            if not subjects:
                self.set_status("no finished run to compare: train one (with --adversarial for"
                                " a defended one)")  # fmt: skip
                return
            chosen = [(s.name or f"{s.model} {s.id[-4:]}", s.defence, s.id) for s in subjects]
        else:
            chosen = [("accuracy", "", None)]
        self.set_status(f"computing the {self.attack.upper()} curve of {counted(len(chosen), 'run')}"
                        " ... (c cancels)")  # fmt: skip
        self.compute(values, chosen, self.inbox)

    def columns(self) -> tuple:
        """The table's columns: with the band (p), what is proven and what is unknown."""
        return ROBUSTNESS_COLUMNS + (BAND_COLUMNS if self.certify else ())

    def values(self) -> dict:
        """The analysis's values: the app's givens, then what the keys chose."""
        chosen = {"attack": self.attack, "random_start": self.random_start,
                  "certify": self.certify}  # fmt: skip
        return ANALYSIS.values(self.app.given(ANALYSIS, **chosen, **(
            {"limit": self.limit} if self.limit else {})))  # fmt: skip

    @work(thread=True, exclusive=True, exit_on_error=False)
    def compute(self, values: dict, chosen: list, inbox: EventInbox) -> None:
        for label, defence, run_id in chosen:
            subject = self.app.subject(run_id)
            inbox(("series", label, defence))
            curve = ANALYSIS.run(subject, values, inbox, WorkerCancel())
            if values["certify"] and self.compare:  # after the run's own points, in order
                inbox(("proven", label, curve.points))
            elif values["certify"]:
                self.app.call_from_thread(self.show_band, curve.points)

    def show_proven_row(self, label: str, points: list) -> None:
        """Defences compared with the band: under each run's row, what is proven of it."""
        table = self.query_one("#rob-table", DataTable)
        table.add_row(Text(f"  {label}", style="dim"), "proven",
                      *(f"{p.certified_accuracy:.1%}" for p in points))  # fmt: skip
        self.set_status(f"{label}: proven {points[-1].certified_accuracy:.2%} at eps"
                        f" {points[-1].eps:g}, the attack left {points[-1].robust_accuracy:.2%};"
                        " each 'proven' row is the lower bound under its run's (p hides them)")  # fmt: skip

    def show_band(self, points: list) -> None:
        """The points with what interval bounds prove: the table's band columns and a
        second curve, proven, under the attack's."""
        table = self.query_one("#rob-table", DataTable)
        table.clear()
        for point in points:
            table.add_row(*cells(self.columns(), [point])[0])
        self.query_one("#rob-chart", ChartView).set_data({
            "robust to eps (the attack)": ([p.eps for p in points],
                                           [100 * p.robust_accuracy for p in points]),
            "proven (interval bounds)": ([p.eps for p in points],
                                         [100 * p.certified_accuracy for p in points]),
        })  # fmt: skip
        last = points[-1]
        self.set_status(f"eps {last.eps:g}: proven {last.certified_accuracy:.2%}, the attack"
                        f" left {last.robust_accuracy:.2%}; the true robust accuracy lies"
                        " between (p hides the band)")  # fmt: skip

    def drain(self) -> None:
        for event in self.inbox.drain():
            if isinstance(event, tuple) and event[0] == "proven":
                self.show_proven_row(*event[1:])
            elif isinstance(event, tuple):  # the next run's curve begins
                _, label, defence = event
                self.series = f"{label} ({defence})" if defence else label
                self.curves[self.series] = []
                if self.compare:
                    self.query_one("#rob-table", DataTable).add_row(
                        Text(label), defence, *("…" for _ in EPS), key=self.series
                    )
            elif isinstance(event, ev.ProgressMade):
                self.query_one("#rob-bar", ProgressBar).update(
                    total=event.total, progress=event.done
                )
                if event.task.startswith("certifying") and event.done < event.total:  # the band
                    self.set_status(f"{event.task}: what interval bounds prove ... (c cancels)")
            elif isinstance(event, ev.RobustnessMeasured) and event.attack == self.attack:
                self.add_point(event)

    def add_point(self, point: ev.RobustnessMeasured) -> None:
        curve = self.curves.setdefault(self.series, [])
        curve.append(point)
        self.points = curve
        table = self.query_one("#rob-table", DataTable)
        if self.compare:
            column = table.ordered_columns[2 + len(curve) - 1].key
            table.update_cell(self.series, column, eps_cells([point])[0], update_width=True)
        else:
            table.add_row(*cells(ROBUSTNESS_COLUMNS, [point])[0])
        self.query_one("#rob-chart", ChartView).set_data(
            {
                name: ([p.eps for p in points], [100 * p.accuracy for p in points])
                for name, points in self.curves.items()
                if points
            }
        )
        if len(curve) == len(EPS):
            self.set_status(f"{self.series}: {curve[-1].accuracy:.2%} at eps {EPS[-1]}")

    def action_toggle_proof(self) -> None:
        self.certify = not self.certify
        self.start()

    def action_compare(self) -> None:
        self.compare = not self.compare
        self.start()

    def action_random_start(self) -> None:
        self.random_start = not self.random_start
        if self.attack == "fgsm":
            self.attack = "pgd"  # a random start is PGD's
        self.start()

    def action_limit(self, factor: float) -> None:
        current = self.values()["limit"]
        self.limit = int(min(10_000, max(100, current * factor)))
        self.start()

    def action_switch_attack(self) -> None:
        names = list(ATTACKS)
        self.attack = names[(names.index(self.attack) + 1) % len(names)]
        self.start()
