"""Sweeps: each sweep's trials as they finish (settings, validation accuracy, state), the
best so far, and the best validation accuracy against the trials; Enter on a trial opens its
run. Sweeps are started with `mnist-tui sweep NAME --search ...`."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Static

from engine.errors import UserFacing
from tui.screens.base import ExperimentScreen
from tui.widgets.chart_view import ChartView
from tui.widgets.keys_footer import KeysFooter


def short_id(run_id: str | None) -> str:
    """A run id's end, as the runs table shows it (the model and the random part)."""
    return "" if not run_id else "…" + run_id.split("-", 2)[-1]


class SweepsScreen(ExperimentScreen):
    """n/p change the sweep; Enter opens the run of the trial under the cursor."""

    STUDY_SECTION = "8"
    BINDINGS = [
        Binding("n", "sweep(1)", "Next sweep"),
        Binding("p", "sweep(-1)", "Previous sweep"),
    ]
    REFRESH_SECONDS = 2.0  # while a sweep runs its storage is read again this often

    def __init__(self) -> None:
        super().__init__()
        self.current = 0
        self.live = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="sweep-title", classes="title")
        yield DataTable(id="sweep-trials", zebra_stripes=True, cursor_type="row", classes="turn")
        yield Static("", id="sweep-best", classes="turn")
        yield ChartView("best validation accuracy (%) so far", "trial", id="sweep-chart",
                        classes="chart", integer_x=True, empty="no trial finished yet")  # fmt: skip
        yield Static("reading the sweeps ...", classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.load()
        self.set_interval(self.REFRESH_SECONDS, lambda: self.load() if self.live else None)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from engine.runs import process as run_process
        from engine.studies import sweeps

        home = self.app.settings.home
        names = sweeps.list_sweeps(home)
        if not names:
            self.app.call_from_thread(self.show_none)
            return
        name = names[self.current % len(names)]
        try:
            sweep = sweeps.load_sweep(home, name)
            report = sweeps.summarize(home, sweep)
        except UserFacing as error:  # a damaged sweep is said; n and p reach the others
            self.app.call_from_thread(self.show_damaged, names, name, str(error))
            return
        busy = run_process.is_locked(sweeps.sweep_dir(home, sweep.name))
        self.app.call_from_thread(self.show, names, sweep, report, busy)

    def show_none(self) -> None:
        self.live = True  # a sweep started from a shell shows up by itself
        self.query_one("#sweep-title", Static).update("No sweeps yet")
        self.set_status("start one from a shell: mnist-tui sweep lrs --recipe fast --search"
                        " lr=1e-3..1e-1:log --trials 20")  # fmt: skip

    def show_damaged(self, names: list[str], name: str, error: str) -> None:
        self.live = False
        self.query_one("#sweep-title", Static).update(Text(
            f"Sweep {name} ({self.current % len(names) + 1} of {len(names)}): cannot be read"))  # fmt: skip
        self.query_one("#sweep-trials", DataTable).clear()
        self.set_status(error.splitlines()[0], error=True)

    def show(self, names, sweep, report, busy: bool) -> None:
        from engine.config import SETTING
        from engine.studies import sweeps

        self.live = busy
        trials = report["trials"]
        self.query_one("#sweep-title", Static).update(Text(
            f"Sweep {sweep.name} ({self.current % len(names) + 1} of {len(names)}):"
            f" {len(trials)} of {sweep.trials} trials of recipe {sweep.recipe}"
            + (" — running" if busy else "")))  # fmt: skip
        table = self.query_one("#sweep-trials", DataTable)
        at = table.cursor_row
        table.clear(columns=True)
        names_searched = [s.name for s in sweep.searches]
        table.add_columns("trial", *names_searched, "validation", "state", "run")
        for trial in reversed(trials):  # the newest first: the ones that just finished
            value = f"{trial['value']:.2%}" if trial["value"] is not None else ""
            table.add_row(str(trial["number"]),
                          *[SETTING[n].show(trial["params"].get(n)) for n in names_searched],
                          value, trial["state"], short_id(trial["run"]),
                          key=trial["run"] or None)  # fmt: skip
        if trials:
            table.move_cursor(row=min(at, len(trials) - 1))
        best = report["best"]
        lines = []
        if best is not None:
            shown = sweeps.shown_params(best["params"])
            lines.append(f"best: trial {best['number']}, validation {best['value']:.2%} ({shown})")
        if report["importances"]:
            lines.append("importance (PED-ANOVA): " + ", ".join(
                f"{k} {v:.2f}" for k, v in report["importances"].items()))  # fmt: skip
        self.query_one("#sweep-best", Static).update(
            Text("\n".join(lines) or "no trial finished yet")
        )
        points = [(t["number"], 100 * t["best_so_far"]) for t in trials if t["best_so_far"]]
        self.query_one("#sweep-chart", ChartView).set_data(
            {"best so far": ([p[0] for p in points], [p[1] for p in points])} if points else {}
        )
        self.set_status("Enter opens a trial's run; n/p the next or previous sweep; `mnist-tui"
                        f" sweep show {sweep.name} --confirm 0-4` confirms the best over seeds")  # fmt: skip

    @on(DataTable.RowSelected, "#sweep-trials")
    def open_trial(self, event: DataTable.RowSelected) -> None:
        from engine import runs
        from tui.screens.train import open_run

        run_id = event.row_key.value if event.row_key else None
        if not run_id:
            self.set_status("this trial has no run (it failed before one was made)", error=True)
            return
        open_run(
            self.app, run_id, [runs.summarize(runs.run_folder(self.app.settings.home, run_id))]
        )

    def action_sweep(self, step: int) -> None:
        self.current += step
        self.load()
