"""The home screen: the experiments of the study (assets/study.md) and the runs on this machine."""

from __future__ import annotations

import time

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, OptionList, Static
from textual.widgets.option_list import Option

from engine.errors import UserFacing
from engine.runs.snapshots import BEST, LAST
from engine.runs.state import DAMAGED, RUNNING
from tui.screens.catalogue import experiments
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.runs_table import RunsTable

# The home lists this many of the newest runs; the Runs screen (3) lists every one.
HOME_RUNS = 100
# Every 2 s the home looks whether a run was made or removed, or a running one moved
# (engine.runs.listing_mark: a few system calls); it lists every run only then, or after
# RELIST_SECONDS, for a finished run renamed or resumed from elsewhere. Listing a thousand
# runs every 2 s took 2.3% of a core while nobody touched the app.
RELIST_SECONDS = 10.0


class HomeScreen(Screen):
    """Pick an experiment (Enter, or its key) or a run (Tab, then Enter to follow it)."""

    _shown: list | None = None  # the summaries the runs table shows
    _runs_mark: tuple | None = None  # engine.runs.listing_mark when the runs were last listed
    _runs_listed_at: float | None = None  # when that listing ended (None: under way)

    # under 30 rows the list of experiments loses its frame so that every entry is in sight
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        Binding("j", "move(1)", "Down", show=False),
        Binding("k", "move(-1)", "Up", show=False),
        Binding("s", "select_run", "Use run for analyses"),
        Binding("i", "about", "About the study"),
        Binding("b", "checkpoint", "best/last.pt"),
    ]

    def __init__(self) -> None:
        super().__init__()
        # the experiments, with every analysis declared by now (engine.analyses.register)
        self.experiments = experiments()
        for e in self.experiments:
            self._bindings.bind(e.key, f"open('{e.key}')", e.title, show=False)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="home-body"):
            with Vertical(id="experiments-panel"):
                yield OptionList(
                    *[Option(f"[b]{e.key}[/]  {e.title}", id=e.key) for e in self.experiments],
                    id="experiments",
                )
                yield Static("", id="description", classes="muted")
            with Vertical(id="runs-panel"):
                yield Static(
                    "Runs: Tab, then Enter follows one, s analyses it",
                    classes="title",
                )
                yield RunsTable(id="runs", most=HOME_RUNS)
                yield Static("", id="run-note", classes="muted")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#experiments", OptionList).focus()
        self.refresh_runs()
        self.set_interval(2.0, self.refresh_if_shown)

    def refresh_if_shown(self) -> None:
        # under another screen (a followed run, say) the list waits: its reading and
        # redrawing would take time from a training run sharing the machine
        if not self.is_active or self._runs_listed_at is None:
            return  # (a listing is under way)
        if (
            self._listing_mark() != self._runs_mark
            or time.monotonic() - self._runs_listed_at >= RELIST_SECONDS
        ):
            self.refresh_runs()

    def _running_runs(self) -> list[str]:
        return [s.id for s in self._shown or () if s.status == RUNNING]

    def _listing_mark(self) -> tuple:
        from engine import runs  # (imported by the first listing's thread by now)

        return runs.listing_mark(self.app.settings.home, self._running_runs())

    def on_screen_resume(self) -> None:
        self.refresh_runs()

    def refresh_runs(self) -> None:
        """List every run again (in a thread), noting what to watch until the next time."""
        self._runs_listed_at = None
        self.list_runs(self._running_runs())

    @work(thread=True, exclusive=True, group="runs")
    def list_runs(self, running: list[str]) -> None:
        from engine import runs

        home = self.app.settings.home
        mark = runs.listing_mark(home, running)  # before listing: a change meanwhile shows
        try:
            summaries = [runs.summarize_cached(d) for d in runs.list_runs(home)]
        except UserFacing as error:  # the runs folder itself cannot be read
            self.app.call_from_thread(self.show_problem, str(error))
            return
        finally:
            self.app.call_from_thread(self._runs_listed, mark, time.monotonic())
        self.app.call_from_thread(self.show_runs, summaries)

    def _runs_listed(self, mark: tuple, when: float) -> None:
        self._runs_mark, self._runs_listed_at = mark, when

    def show_problem(self, text: str) -> None:
        self.query_one("#run-note", Static).update(text)

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show_runs(self._shown, force=True)

    def show_runs(self, summaries: list, force: bool = False) -> None:
        if summaries == self._shown and not force:
            return  # nothing new: leave the table (and its cursor) as it is
        self._shown = summaries
        # the newest HOME_RUNS: the Runs screen (3) lists them all
        shown = self.query_one(RunsTable).show(summaries, force=force)
        usable = [
            s.id for s in summaries if s.status != DAMAGED and s.best_val_accuracy is not None
        ]
        selected = self.app.selected_run or (usable[-1] if usable else None)
        older = len(summaries) - len(shown)
        more = f"; {older:,} older runs: 3 lists every run" if older > 0 else ""
        if selected:
            note = f"analyses use: {selected} ({self.app.checkpoint}.pt; b switches){more}"
            if self.app.versus_run:
                note += f"\nbeside: {self.app.versus_run} (the pictures show both; s ends it)"
        elif summaries:
            note = "no run has a best checkpoint yet: train one (1) for the analyses"
        else:
            note = "no runs yet: press 1, choose the fast recipe (seconds on a CPU)"
        damaged = [s for s in summaries if s.status == DAMAGED]
        if damaged:
            note += f"\ndamaged: {damaged[-1].id}: {damaged[-1].error}"
            if len(damaged) > 1:
                note += f" (and {len(damaged) - 1} more; `mnist-tui runs` lists them)"
        self.query_one("#run-note", Static).update(note)

    def action_checkpoint(self) -> None:
        """Analyses look at the best checkpoint (the study's) or the last one."""
        self.app.checkpoint = LAST if self.app.checkpoint == BEST else BEST
        self.app.notify(f"the analyses use each run's {self.app.checkpoint}.pt")
        if self._shown is not None:
            self.show_runs(self._shown, force=True)

    def action_about(self) -> None:
        from tui.screens.study import StudyScreen

        self.app.push_screen(StudyScreen())

    def action_move(self, step: int) -> None:
        focused = self.focused
        if isinstance(focused, (OptionList, DataTable)):
            focused.action_cursor_down() if step > 0 else focused.action_cursor_up()

    def action_open(self, key: str) -> None:
        experiment = next(e for e in self.experiments if e.key == key)
        self.app.open_experiment(experiment)

    @on(OptionList.OptionSelected, "#experiments")
    def experiment_chosen(self, event: OptionList.OptionSelected) -> None:
        self.action_open(event.option.id)

    @on(OptionList.OptionHighlighted, "#experiments")
    def experiment_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        experiment = next(e for e in self.experiments if e.key == event.option.id)
        self.query_one("#description", Static).update(experiment.description)

    def _run_under_cursor(self) -> str | None:
        return self.query_one(RunsTable).run_under_cursor()

    @on(DataTable.RowSelected, "#runs")
    def run_chosen(self, event: DataTable.RowSelected) -> None:
        from tui.screens.train import open_run

        open_run(self.app, str(event.row_key.value), self._shown or [])

    def action_select_run(self) -> None:
        run_id = self._run_under_cursor()
        summary = next((s for s in self._shown or [] if s.id == run_id), None)
        if summary is not None and summary.status == DAMAGED:
            self.app.notify(f"{run_id} is damaged: {summary.error}", severity="error")
        elif run_id:
            self.app.select_run(run_id)
            self.app.compare_with(None)
            self.query_one("#run-note", Static).update(f"analyses use: {run_id}")
