"""Train: a form with study §3's settings (``RunForm``), then a live view of the run it
starts (``LiveRun``) — or of any run, followed through its log from where it is. Leaving the
screen does not stop the run."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Header, Static

from engine.config import DEFAULT_MODEL, TrainConfig, model_label
from engine.errors import UserFacing
from engine.runs.state import DAMAGED, FAILED, STOPPED
from tui.screens.base import ExperimentScreen
from tui.widgets.keys_footer import KeysFooter
from tui.widgets.live_run import LiveRun
from tui.widgets.run_form import RunForm, recent_model_files


class TrainScreen(ExperimentScreen):
    """Start a run of ``model`` from the form, or follow ``run_id``."""

    STUDY_SECTION = "3"

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (116, "-wide")]  # the form's columns
    BINDINGS = [
        Binding("ctrl+s", "start", "Start run"),
        Binding("x", "stop", "Stop run"),
        Binding("r", "resume", "Resume run"),
        Binding("n", "new_run", "New run like this"),
        Binding("l", "log_scale", "Log scale"),
    ]

    def __init__(
        self, model: str = DEFAULT_MODEL, run_id: str | None = None, settings: dict | None = None
    ) -> None:
        super().__init__()
        self.starting = False
        self.stop_wanted = False  # x pressed before the run had started
        self.model = model
        self.run_id = run_id
        self.settings = settings  # a run's settings to start from, else the defaults
        self.live: LiveRun | None = None  # the run followed, once there is one

    @property
    def follower(self):
        """The followed run's engine.runs.RunFollower (None while the form shows)."""
        return None if self.live is None else self.live.follower

    def refusal(self, action: str) -> str | None:
        """Only the keys that apply show and work: the form's start, a running run's stop,
        a stopped run's resume; the others, pressed, say why."""
        following = self.follower is not None
        if action == "start" and (following or self.run_id):
            return "this screen follows a run: n opens the form for a new run like it"
        if action == "stop" and not (self.starting or (following and not self.follower.over)):
            return "x stops a running run: none is running here"
        if action == "resume" and not (following and self.follower.over
                                       and self.follower.status in (STOPPED, FAILED)):  # fmt: skip
            return "r resumes a stopped or failed run: this one is not stopped"
        if action in ("new_run", "log_scale") and not following:
            return "start a run first (ctrl+s): n and l act on the run followed here"
        if action == "toggle_view" and not (following and self.short):
            return super().refusal(action) or "v switches the live run's views"
        if action == "toggle_view":
            return None
        return super().refusal(action)

    def apply_view(self) -> None:
        if self.live is not None:
            self.live.show_view(self.short, self.has_class("-tables"))

    def action_toggle_view(self) -> None:
        self.toggle_class("-tables")
        self.apply_view()

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="train-body"):
            yield Static(
                f"Train {self.model}" if not self.run_id else f"Run {self.run_id}",
                id="train-title",
                classes="title",
            )
            if not self.run_id:
                home = self.app.settings.home
                yield RunForm(self.settings or {"model": self.model},
                              self.app.settings.train_defaults, self.app.settings.data,
                              recent_model_files(home), cost=self.cost)  # fmt: skip
        yield Static("", classes="status")
        yield KeysFooter()

    def cost(self, config) -> str:
        """What a run of ``config`` costs here, from this machine's runs ('' if unknown)."""
        from engine.runs.estimate import estimate_seconds, said

        return said(estimate_seconds(self.app.settings.home, config))

    def on_mount(self) -> None:
        if self.run_id:
            self.follow(self.run_id)
        else:
            self.query_one(RunForm).focus_first()

    # --- the form ---------------------------------------------------------------------

    @on(RunForm.ModelChosen)
    def model_chosen(self, event: RunForm.ModelChosen) -> None:
        """The title names the network the form will train (a recipe may choose another)."""
        if self.follower is None:
            self.query_one("#train-title", Static).update(f"Train {model_label(event.model)}")

    def action_start(self) -> None:
        if not self.run_id and not self.starting and self.query(RunForm):
            self.query_one(RunForm).submit()

    @on(RunForm.Submitted)
    def form_submitted(self, event: RunForm.Submitted) -> None:
        if self.run_id or self.starting:
            return
        self.starting = True
        self.set_status("checking the device and loading the data before the run starts ...")
        self.start_run(event.config)

    @work(thread=True, exclusive=True, exit_on_error=False, group="start")
    def start_run(self, config: TrainConfig) -> None:
        """The same start as `mnist-tui train --detach`: pre-flight checks, then the run."""
        from engine import launch

        home = self.app.settings.home
        try:
            run_dir, _, _ = launch.start(home, launch.prepare(home, config), detach=True)
        except UserFacing as error:
            self.app.call_from_thread(self.start_refused, str(error).splitlines()[0])
            return
        self.app.call_from_thread(self.started, run_dir.name)

    def start_refused(self, reason: str) -> None:
        self.starting = False
        self.query_one(RunForm).refuse(reason)
        self.set_status(f"not started: {reason}", error=True)

    def started(self, run_id: str) -> None:
        self.starting = False
        self.app.select_run(run_id)
        self.follow(run_id)
        if self.stop_wanted:  # x pressed while it started: a stop request is never lost
            self.action_stop()

    # --- following a run --------------------------------------------------------------

    def follow(self, run_id: str) -> None:
        from engine import runs

        try:
            run_dir = runs.find_run(self.app.settings.home, run_id)
        except UserFacing as error:  # deleted since the list was read
            self.set_status(str(error).splitlines()[0], error=True)
            return
        self.run_id = run_id
        # the form removed, not hidden: a screen with fewer widgets restyles and redraws faster
        for form in self.query(RunForm):
            form.remove()
        self.live = LiveRun(run_dir, self.app.settings.live_chart_seconds)
        self.query_one("#train-body").mount(self.live)
        self.call_after_refresh(self.started_following)

    def started_following(self) -> None:
        self.apply_view()
        self.show_title()
        self.set_status("")
        self.poll()
        self.set_interval(self.app.settings.poll_seconds, self.poll)

    @property
    def run_dir(self):
        return self.live.run_dir

    def poll(self) -> None:
        """Read what the run logged since the last look; say what it means."""
        if self.live is None:
            return
        happened = self.live.poll()
        if happened == "resumed":
            self.show_title()
            self.set_status("resumed: x stops it")
        if self.follower.over and happened:
            self.set_status(*self.live.end_words(self.run_id))
            self.show_title()

    def show_title(self) -> None:
        follower = self.follower
        if follower is None or not follower.over:
            what = "x stops it, Escape leaves it running"
        elif follower.status in (STOPPED, FAILED):
            what = f"{follower.status}: r resumes it, n a new run like it"
        else:  # (short: a title on two lines at 80 columns pushed the charts' axes out)
            what = f"{follower.status}: n a new run like it"
        self.query_one("#train-title", Static).update(f"Run {self.run_id} — {what}")
        self.refresh_bindings()

    def action_stop(self) -> None:
        from engine.runs import process as run_process

        if self.follower is None:
            if self.starting:
                self.stop_wanted = True
                self.set_status("it stops as soon as it has started ...")
            return
        self.stop_wanted = False
        asked, why = run_process.stop(self.run_dir)
        if asked:
            self.set_status("asked the run to stop; it finishes the batch and saves last.pt")
        else:
            self.set_status(f"the run is not running: {why}")

    def action_resume(self) -> None:
        """Resume a stopped run, as `mnist-tui train --resume RUN --detach` does."""
        if not self.check_action("resume", ()):
            return
        self.set_status(f"resuming {self.run_id} from its last.pt ...")
        self.resume_run(self.run_dir)

    @work(thread=True, exclusive=True, exit_on_error=False, group="start")
    def resume_run(self, run_dir) -> None:
        from engine import launch

        home = self.app.settings.home
        try:
            launch.start(home, launch.prepare_resume(home, run_dir), detach=True)
        except UserFacing as error:
            self.app.call_from_thread(
                self.set_status, f"not resumed: {str(error).splitlines()[0]}", True
            )
            return
        self.app.call_from_thread(self.resumed)

    def resumed(self) -> None:
        self.live.resumed()
        self.show_title()
        self.set_status("resumed: x stops it")

    def action_new_run(self) -> None:
        """The form again, filled in with this run's settings."""
        if self.follower is None:
            return
        from engine import runs

        config = runs.read_config(self.run_dir).to_dict()
        config.pop("data", None)  # the app's own --data decides
        self.app.push_screen(TrainScreen(config["model"], settings=config))

    def action_log_scale(self) -> None:
        self.live.toggle_log()


def open_run(app, run_id: str, summaries: list) -> None:
    """Follow a run in the training view — unless it is damaged or gone, which is said."""
    summary = next((s for s in summaries if s.id == run_id), None)
    if summary is not None and summary.status == DAMAGED:
        app.notify(f"{run_id} is damaged: {summary.error}", severity="error", timeout=8)
        return
    from engine.locations import runs_folder

    if not (runs_folder(app.settings.home) / run_id).is_dir():
        app.notify(f"run {run_id} is gone (deleted since the list was read)", severity="error")
        return
    app.push_screen(TrainScreen(run_id=run_id))
