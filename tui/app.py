"""The Textual app: a home screen listing the experiments and the runs, one screen per
experiment. Built by ``make_app`` so tests can hand it a tiny engine set-up.

torch is imported lazily, off the first paint: the home screen needs none of it.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from engine.atomic import write_json
from engine.errors import RunNotFound, UserFacing
from engine.locations import is_run_id, runs_folder
from engine.runs import CONFIG
from engine.runs.snapshots import BEST
from tui.graphics import SIXEL_COLOURS
from tui.screens.catalogue import Experiment, experiments

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_GC_THRESHOLD = gc.get_threshold()


@dataclass
class AppSettings:
    """What the app works with; tests shrink the defaults to run in seconds."""

    home: Path
    graphics: str = "halfblock"  # halfblock | ascii | sixel | kitty (tui.graphics.MODES)
    sixel_colours: int = SIXEL_COLOURS  # colour registers a sixel picture may use
    notice: str = ""  # shown once the app opens (why pictures are not drawn as asked)
    data: str | None = None  # a data folder for runs started here (None: MNIST)
    train_defaults: dict = field(default_factory=dict)  # overrides of TrainConfig's defaults
    # Values over the analyses' own "app" givens (engine.analyses), by analysis name: tests
    # run the attacks with a few steps this way, e.g. {"synthesize": {"steps": 40}}.
    givens: dict = field(default_factory=dict)
    # Following a live run: its log read every 2 s (as btop refreshes), the loss chart
    # (which grows every batch) redrawn at most every 10 s; each Textual repaint costs a few
    # ms of Python, so this is what keeps the view under 1% of a core while nobody touches
    # it (bench/idle_cpu.py --live; docs/results.md "The app when idle")
    poll_seconds: float = 2.0
    chart_seconds: float = 0.5  # at most one redraw this often while data streams in
    live_chart_seconds: float = 10.0
    # How a command draws, as tui.cli.main.drawn: handed in by the CLI that opens the
    # app (the app never imports the CLI), so the side-by-side screen shows each run as its
    # command prints it. None: side by side is not offered.
    draw_command: Callable | None = None

    @property
    def colour(self) -> bool:
        return self.graphics != "ascii" and not os.environ.get("NO_COLOR")


class MnistApp(App):
    """Train a CNN on MNIST, watch it learn, look inside it, break it."""

    TITLE = "mnist-tui"
    CSS_PATH = str(ASSETS / "app.tcss")
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Keys", key_display="?"),
    ]

    def __init__(self, settings: AppSettings) -> None:
        super().__init__()
        self.settings = settings
        # the run the analysis screens look at, remembered from the last session
        self.selected_run: str | None = remembered_run(settings.home)
        self.checkpoint = BEST  # which checkpoint of it: best or last (b on the home screen)
        self.moment: str | None = None  # or a snapshot (epoch:3 ...): , and . on a picture screen
        # a second run (two picked in the Runs screen, then s): the picture screens show both
        self.versus_run: str | None = None
        self._subjects = None  # engine.subject.Subjects, made on first use (it imports torch)
        self._told: set[str] = set()  # the subjects' notices already shown

    def on_mount(self) -> None:
        # Full garbage collections over Textual's many objects were the long tail of key
        # latency (p95 169 -> 62 ms when idle): keep start-up objects out of them and
        # collect less often.
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        from tui.screens.home import HomeScreen

        self.push_screen(HomeScreen())
        from tui.screens.too_small import TooSmallScreen, too_small

        if too_small(*self.size):
            self.push_screen(TooSmallScreen())
        from engine.models.files import SLOW_IMPORT_LISTENERS

        SLOW_IMPORT_LISTENERS.append(self.say_slow_import)
        if self.settings.notice:
            self.notify(self.settings.notice, severity="warning", timeout=10)

    def on_resize(self, event) -> None:
        """Below 80x24 one line says the size needed; it goes once the terminal is larger."""
        from tui.screens.too_small import TooSmallScreen, too_small

        showing = isinstance(self.screen, TooSmallScreen)
        small = too_small(event.size.width, event.size.height)
        if small and not showing:
            self.push_screen(TooSmallScreen())
        elif showing and not small:
            self.pop_screen()

    def say_slow_import(self, path) -> None:
        """A model file whose import has not returned after a second (from a worker's timer
        thread): said, so a screen waiting on it says what it waits for."""
        self.call_from_thread(self.notify, f"importing {path}... (its code has not returned"
                              " yet; the screen stays usable, Escape leaves it)",
                              severity="warning", timeout=30)  # fmt: skip

    def on_unmount(self) -> None:
        from engine.models.files import SLOW_IMPORT_LISTENERS

        if self.say_slow_import in SLOW_IMPORT_LISTENERS:
            SLOW_IMPORT_LISTENERS.remove(self.say_slow_import)
        gc.unfreeze()  # give the objects back to the collector (and to interpreter shutdown)
        gc.set_threshold(*DEFAULT_GC_THRESHOLD)

    def open_experiment(self, experiment: Experiment) -> None:
        """Push the screen of an experiment; an analysis with a second run picked: both runs
        side by side."""
        if self.versus_run and experiment.analysis and self.settings.draw_command:
            from tui.screens.side_by_side import SideBySideScreen

            self.push_screen(SideBySideScreen(experiment.analysis))
            return
        self.push_screen(experiment.make_screen())

    def given(self, analysis, **more) -> dict:
        """The values the app runs ``analysis`` with: its declared "app" givens, this app's
        settings over them, then ``more`` (what the screen's keys chose)."""
        return {**analysis.given("app"), **self.settings.givens.get(analysis.name, {}), **more}

    def compare_with(self, run_id: str | None) -> None:
        """A second run for the analyses, side by side with the selected one (None: none)."""
        self.versus_run = run_id
        self.update_sub_title()

    def update_sub_title(self) -> None:
        parts = [f"weights at {self.moment}"] if self.moment else []
        parts += [f"beside {self.versus_run}"] if self.versus_run else []
        self.sub_title = ", ".join(parts)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for experiment in experiments():
            yield SystemCommand(
                experiment.title,
                experiment.description,
                lambda e=experiment: self.open_experiment(e),
            )

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen, keys_here

        self.push_screen(HelpScreen(self.BINDINGS, here=keys_here(self.screen)))

    def select_run(self, run_id: str | None) -> None:
        """Make ``run_id`` the run the analyses use (None: the latest), here and next time."""
        self.selected_run = run_id
        try:
            write_json(self.settings.home / APP_STATE, {"selected_run": run_id})
        except OSError as error:  # a read-only home: it holds for this session only
            self.notify(f"cannot remember the run picked: {error.strerror}", severity="warning")

    def moment_series(self) -> tuple[Path, list[str]]:
        """The selected run's folder and its moments in order: its snapshots, then the
        checkpoint the analyses use (UserFacing where it kept no snapshots)."""
        from engine import runs
        from engine.runs import snapshots

        run_dir = runs.find_run(self.settings.home, self.selected_run or "latest")
        return run_dir, snapshots.series(run_dir, self.checkpoint)

    def step_moment(self, step: int) -> str:
        """Move the analyses' weights one moment back or forward through the selected run's
        snapshots (then its best checkpoint); the moment now shown."""
        _, series = self.moment_series()
        current = self.moment or self.checkpoint
        at = series.index(current) if current in series else len(series) - 1
        chosen = series[max(0, min(len(series) - 1, at + step))]
        self.moment = None if chosen == self.checkpoint else chosen
        self.update_sub_title()
        return chosen

    def subject(self, run_id: str | None = None, checkpoint: str | None = None):
        """The model of a run (the selected one, else the latest with a best checkpoint)
        with its test images; loaded again when the checkpoint file changed. Called from
        worker threads: it imports torch."""
        from engine import runs
        from engine.subject import Subjects

        if self._subjects is None:
            self._subjects = Subjects(self.settings.home)
        try:
            run_dir = runs.find_run(self.settings.home, run_id or self.selected_run or "latest")
        except RunNotFound:  # (looked for only then: this is called at every picture)
            if any(runs.has_checkpoint(d) for d in runs.list_runs(self.settings.home)):
                raise
            raise UserFacing(NO_RUNS_YET) from None  # in the app's terms, not the shell's
        subject = self._subjects.get(run_dir, checkpoint or self.moment or self.checkpoint)
        if subject.notice and subject.notice not in self._told:
            self._told.add(subject.notice)  # once a session, not at every picture
            self.call_from_thread(self.notify, subject.notice, severity="warning", timeout=10)
        return subject


APP_STATE = "app.json"  # what the app remembers between sessions, in the home
# What an analysis screen says before any run has a trained network to look at.
NO_RUNS_YET = ("no trained run yet: Escape, then 1, choose the fast recipe in the form"
               " (seconds on a CPU), and come back")  # fmt: skip


def remembered_run(home: Path) -> str | None:
    """The run picked for analyses last time, if it is still there."""
    import json

    try:
        run_id = json.loads((home / APP_STATE).read_text()).get("selected_run")
    except (OSError, ValueError, AttributeError):
        return None
    if is_run_id(run_id) and (runs_folder(home) / run_id / CONFIG).is_file():
        return run_id
    return None


def make_app(settings: AppSettings) -> MnistApp:
    """The app, as the command line and the tests build it."""
    return MnistApp(settings)


def run_app(home: Path, graphics: str = "auto", data: str | None = None,
            draw_command: Callable | None = None) -> int:  # fmt: skip
    """Open the app (``mnist-tui`` with no command) on ``home``; ``graphics`` as
    ``--graphics`` takes it, ``data`` an MNIST-format folder for runs started here,
    ``draw_command`` how a command draws (the side-by-side screen's)."""
    from tui.graphics import resolve

    # the terminal is asked what it draws before Textual owns it
    drawing = resolve(graphics)
    settings = AppSettings(home, drawing.mode, sixel_colours=drawing.sixel_colours,
                           notice=drawing.notice, data=data, draw_command=draw_command)  # fmt: skip
    make_app(settings).run()
    return 0
