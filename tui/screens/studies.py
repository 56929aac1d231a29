"""Studies: each study's groups with mean ± 95% interval over the seeds, the paired
comparison with the first group in words, and how far the study has got."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Static

from tui.screens.base import ExperimentScreen
from tui.widgets.chart_view import ChartView
from tui.widgets.keys_footer import KeysFooter


class StudiesScreen(ExperimentScreen):
    """n/p change the study; studies are started with `mnist-tui study` (the study §3)."""

    STUDY_SECTION = "8"
    BINDINGS = [
        Binding("n", "study(1)", "Next study"),
        Binding("p", "study(-1)", "Previous study"),
        Binding("R", "report", "Report"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.current = 0
        self.study_name: str | None = None  # the study shown

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="study-title", classes="title")
        yield DataTable(id="study-groups", zebra_stripes=True, classes="turn")
        yield Static("", id="study-comparison", classes="turn")
        yield ChartView("validation accuracy (%) by epoch: each group's mean, and mean ± sd",
                        "epoch", id="study-chart", classes="chart", ylim=(0, 100), integer_x=True,
                        empty="no epochs finished yet")  # fmt: skip
        yield Static("reading the studies ...", classes="status")
        yield KeysFooter()

    # While a study runs the screen reads it again this often (a few files: cheap); a
    # finished or abandoned study is read once.
    REFRESH_SECONDS = 2.0

    def on_mount(self) -> None:
        self.live = False  # the study shown is being run (a run of it trains, or its lock is held)
        self.load()
        self.set_interval(self.REFRESH_SECONDS, self.refresh_if_live)

    def on_resize(self) -> None:
        super().on_resize()
        if self.study_name is not None:
            self.load()  # the figures that fit the new width (a few files: cheap)

    def refresh_if_live(self) -> None:
        if self.live:
            self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from engine.runs import process as run_process
        from engine.studies import list_studies, load_study, study_dir
        from engine.studies.stats import group_curves, report

        home = self.app.settings.home
        names = list_studies(home)
        if not names:
            self.app.call_from_thread(self.show_none)
            return
        name = names[self.current % len(names)]
        study = load_study(home, name)
        result, curves = report(home, study), group_curves(home, study)
        busy = run_process.is_locked(study_dir(home, name))
        self.app.call_from_thread(self.show, names, study, result, curves, busy)

    def show_none(self) -> None:
        self.live = True  # a study started from a shell shows up by itself
        self.query_one("#study-title", Static).update("No studies yet")
        self.set_status(
            "start one from a shell: mnist-tui study bn --vary model=convnet,convnet-bn --seeds 0-4"
        )

    def show(self, names, study, result, curves, busy: bool = False) -> None:
        self.study_name = study.name
        from engine.studies.stats import UNITS

        self.names = names
        vary = " ".join(f"{k}={','.join(map(str, v))}" for k, v in study.vary.items()) or "nothing"
        self.query_one("#study-title", Static).update(
            f"Study {study.name} ({self.current % len(names) + 1} of {len(names)}): varies {vary};"
            f" seeds {','.join(map(str, study.seeds))}"
        )
        table = self.query_one("#study-groups", DataTable)
        table.clear(columns=True)
        wanted = [f for f in result.figures if UNITS[f] == "%" or f == "test loss"]
        labels, rows = result.table(wanted, with_sd=False)
        # as many figures as fit the width whole (a cut interval hides its bound); the
        # rest are one command away
        width = lambda i: max(len(t) for t in [labels[i], *(r[i] for r in rows)]) + 2  # noqa: E731  (cell padding)
        used = width(0) + width(1)
        kept = [0, 1]
        for i in range(2, len(labels)):
            if used + width(i) <= self.size.width - 2 or len(kept) == 2:
                kept.append(i)
                used += width(i)
        self.left_out = [labels[i] for i in range(2, len(labels)) if i not in kept]
        table.add_columns(*(labels[i] for i in kept))
        for row in rows:
            table.add_row(*(row[i] for i in kept))
        lines = [c.line() for c in result.comparisons if UNITS[c.figure] == "%" and c.difference.n]
        more = (
            [f"not shown at this width: {', '.join(self.left_out)} (mnist-tui study show"
             f" {study.name})"] if self.left_out else []
        )  # fmt: skip
        self.query_one("#study-comparison", Static).update(
            Text("\n".join(lines + result.notes() + more) or "no paired seeds finished yet")
        )
        series = {}
        for label, (xs, means, sds) in curves.items():
            series[label] = (xs, [100 * m for m in means])
            if any(sds):  # the band: one sd either side, drawn as two thin lines
                series[f"{label} ±sd"] = (xs + xs[::-1], [100 * (m + d) for m, d in zip(means, sds, strict=True)]
                                          + [100 * (m - d) for m, d in zip(means[::-1], sds[::-1], strict=True)])  # fmt: skip
        self.query_one("#study-chart", ChartView).set_data(series)
        eta = result.eta_seconds
        left = "" if not eta else f", about {eta / 60:.0f} min left at this pace"
        counts = {s: list(result.runs.values()).count(s) for s in ("finished", "running", "failed")}
        rest = len(result.runs) - sum(counts.values())
        self.live = busy or counts["running"] > 0
        self.set_status(
            f"runs: {counts['finished']} done, {counts['running']} running, {counts['failed']} failed,"
            f" {rest}"
            f" left{left} — means over the finished seeds, 95% intervals in brackets"
        )

    def action_report(self) -> None:
        """A report of the study shown: one run of each group, with its intervals."""
        from tui.screens.report_task import make_report

        if self.study_name is None:
            self.set_status("no study to report on")
            return
        make_report(self, None, self.study_name)

    def action_study(self, step: int) -> None:
        self.current += step
        self.load()
