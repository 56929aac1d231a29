"""Train: a form with study §3's settings, then a live view of the run it starts — or of any
run, followed through its log from where it is. Leaving the screen does not stop the run."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.validation import ValidationResult, Validator
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    Select,
    Static,
)

from engine import events as ev
from engine.config import RECIPES, SETTINGS, Setting, TrainConfig, model_label
from engine.errors import SettingError, UserFacing
from tui.draw.columns import EPOCH_COLUMNS, cells
from tui.draw.tables import bar_line, clock
from tui.screens.base import ExperimentScreen
from tui.widgets.chart_view import ChartView

FORM_SETTINGS = tuple(spec for spec in SETTINGS if spec.in_form)


class SettingValidator(Validator):
    """Checks a typed value against its setting's declaration, with the same message the
    command line gives."""

    def __init__(self, spec: Setting) -> None:
        super().__init__()
        self.spec = spec

    def validate(self, value: str) -> ValidationResult:
        try:
            self.spec.parse(value)
        except SettingError as error:
            return self.failure(str(error))
        return self.success()


def recent_model_files(home, most: int = 5) -> tuple[str, ...]:
    """The model files of the newest runs (``FILE.py:Class``), newest first, at most ``most``."""
    from engine import runs
    from engine.models.files import is_model_file

    found: list[str] = []
    for run_dir in reversed(runs.list_runs(home)[-50:]):
        try:
            model = runs.read_config(run_dir).model
        except UserFacing:
            continue
        if is_model_file(model) and model not in found:
            found.append(model)
        if len(found) == most:
            break
    return tuple(found)


def setting_field(spec: Setting, value, more: tuple[str, ...] = ()) -> Input | Select:
    """The form's widget for one setting: a list for choices (with ``more`` of them where
    the choices are open, such as the model files used before), a checked text field else."""
    if spec.kind is bool:
        return Select([("on", True), ("off", False)], value=value, allow_blank=False, id=spec.name)
    if spec.choices:
        extra = [c for c in dict.fromkeys((*more, value)) if c not in spec.choices]
        options = [(c, c) for c in spec.choices] + [(f"{model_label(c)} ({c})", c) for c in extra]
        return Select(options, value=value, allow_blank=False, id=spec.name)
    return Input(spec.show(value), validators=[SettingValidator(spec)], id=spec.name,
                 tooltip=f"{spec.help}; {spec.rule()}")  # fmt: skip


class TrainScreen(ExperimentScreen):
    """Start a run of ``model`` from the form, or follow ``run_id``."""

    STUDY_SECTION = "3"

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (116, "-wide")]  # the form's columns
    BINDINGS = [
        Binding("ctrl+s", "start", "Start run"),
        Binding("x", "stop", "Stop run"),
        Binding("r", "resume", "Resume run"),
        Binding("n", "new_run", "New run like this"),
        Binding("l", "log_scale", "Log y"),
    ]

    def __init__(
        self, model: str = "convnet", run_id: str | None = None, settings: dict | None = None
    ) -> None:
        super().__init__()
        self.starting = False
        self.stop_wanted = False  # x pressed before the run had started
        self.field_problems: dict[str, str] = {}  # form field id -> why its value is refused
        self.model = model
        self.run_id = run_id
        self.settings = settings  # a run's settings to start from, else the defaults
        self.follower = None  # engine.runs.RunFollower of the run shown
        self.best_shown = -1.0  # the best validation accuracy in the epoch table so far
        self._live_lines = 0  # show_live's: the lines it showed last

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """Only the keys that apply show and work: the form's start, a running run's stop,
        a stopped run's resume."""

        following = self.follower is not None
        if action == "start":
            return not following and not self.run_id
        if action == "stop":
            return self.starting or (following and not self.follower.over)
        if action == "resume":
            return (
                following and self.follower.over and self.follower.status in ("stopped", "failed")
            )
        if action in ("new_run", "log_scale"):
            return following
        if action == "toggle_view":
            return following and self.short
        return super().check_action(action, parameters)

    def apply_view(self) -> None:
        """A followed run on a short terminal: the charts, or (v) the epoch table and the
        results — both at once would leave the charts a few rows tall."""
        if self.follower is None:
            return
        short = self.short
        charts = not short or not self.has_class("-tables")
        self.query_one("#charts").display = charts
        self.query_one("#epoch-table").display = not short or not charts
        self.query_one("#results").display = not short or not charts

    def action_toggle_view(self) -> None:
        self.toggle_class("-tables")
        self.apply_view()

    def compose(self) -> ComposeResult:
        base = self.settings or {"model": self.model}
        defaults = TrainConfig(**{**self.app.settings.train_defaults, **base})
        yield Header()
        with VerticalScroll():
            yield Static(
                f"Train {self.model}" if not self.run_id else f"Run {self.run_id}",
                id="train-title",
                classes="title",
            )
            with Vertical(id="train-form"):
                with Grid(id="form-grid"):  # label, field; three pairs a row, two when narrow
                    yield Label("recipe")
                    yield Select([(name, name) for name in RECIPES], value="study",
                                 allow_blank=False, id="recipe",
                                 tooltip="; ".join(f"{r.name}: {r.description}"
                                                   for r in RECIPES.values()))  # fmt: skip
                    for spec in FORM_SETTINGS:
                        yield Label(spec.label)
                        more = (
                            recent_model_files(self.app.settings.home)
                            if spec.name == "model"
                            else ()
                        )
                        yield setting_field(spec, getattr(defaults, spec.name), more)
                yield Button("Start (Enter or ctrl+s)", id="start", variant="primary")
                yield Static("", id="form-error", classes="error")
            with Vertical(id="train-progress"):
                yield Static("", id="live")
            with Horizontal(id="charts"):
                yield ChartView(
                    "loss (training smoothed, validation)",
                    "step",
                    id="loss-chart",
                    classes="chart",
                    ylim=(0, None),
                    integer_x=True,
                    seconds=self.app.settings.live_chart_seconds,
                )
                yield ChartView(
                    "validation accuracy (%)",
                    "epoch",
                    id="acc-chart",
                    classes="chart",
                    ylim=(0, 100),
                    integer_x=True,
                )
            yield DataTable(id="epoch-table", zebra_stripes=True)
            yield Static("", id="results")
        yield Static("", classes="status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#epoch-table", DataTable)
        table.add_columns(*(c.label for c in EPOCH_COLUMNS))
        self.query_one("#train-progress").display = False
        self.query_one("#charts").display = False
        if self.run_id:
            self.follow(self.run_id)
        else:
            self.query_one("#epoch-table").display = False
            self.query_one(f"#{FORM_SETTINGS[1].name}").focus()

    # --- the form ---------------------------------------------------------------------

    @on(Select.Changed, "#recipe")
    def recipe_chosen(self, event: Select.Changed) -> None:
        """Fill the form with the recipe's settings (the rest as the app's defaults); every
        field stays editable, as a setting given on the command line overrides the recipe."""
        if event.value not in RECIPES or self.follower is not None:
            return
        base = {**self.app.settings.train_defaults, **(self.settings or {"model": self.model})}
        chosen = TrainConfig(**{**base, **RECIPES[event.value].settings})
        for spec in FORM_SETTINGS:
            widget = self.query_one(f"#{spec.name}")
            value = getattr(chosen, spec.name)
            if isinstance(widget, Select):
                widget.value = value
            else:
                widget.value = spec.show(value)

    @on(Select.Changed, "#model")
    def model_chosen(self, event: Select.Changed) -> None:
        """The title names the network the form will train (a recipe may choose another)."""
        if self.follower is None and isinstance(event.value, str):
            self.query_one("#train-title", Static).update(f"Train {model_label(event.value)}")

    def read_form(self) -> TrainConfig | None:
        """The settings entered, or None (with the bad fields named) if any is invalid."""
        values: dict = dict(self.app.settings.train_defaults)
        bad = []
        for spec in FORM_SETTINGS:
            widget = self.query_one(f"#{spec.name}")
            try:
                if isinstance(widget, Select):
                    values[spec.name] = spec.check(widget.value)
                else:
                    values[spec.name] = spec.parse(widget.value)
            except SettingError as error:
                bad.append(str(error))
        if bad:
            self.query_one("#form-error", Static).update("fix: " + "; ".join(bad))
            return None
        if self.app.settings.data:
            values["data"] = self.app.settings.data
        config = TrainConfig(**values)
        try:
            config.validate()
        except SettingError as error:
            self.query_one("#form-error", Static).update(str(error))
            return None
        return config

    @on(Input.Changed)
    @on(Input.Blurred)
    def field_changed(self, event: Input.Changed | Input.Blurred) -> None:
        """The form's error line names every field still wrong, whichever has the focus: a
        red field never stands without its reason."""
        if event.validation_result is None:
            return
        valid = event.validation_result.is_valid
        event.input.set_class(not valid, "-invalid")
        problems = self.field_problems
        if valid:
            problems.pop(event.input.id, None)
        else:
            problems[event.input.id] = "; ".join(event.validation_result.failure_descriptions)
        self.query_one("#form-error", Static).update(Text("; ".join(problems.values())))

    @on(Input.Submitted)
    @on(Button.Pressed, "#start")
    def submitted(self) -> None:
        self.action_start()

    def action_start(self) -> None:
        if self.run_id or self.starting:
            return
        config = self.read_form()
        if config is None:
            return
        self.starting = True
        self.query_one("#form-error", Static).update("")
        self.set_status("checking the device and loading the data before the run starts ...")
        self.start_run(config)

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
        self.query_one("#form-error", Static).update(reason)
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
            self.run_dir = runs.find_run(self.app.settings.home, run_id)
        except UserFacing as error:  # deleted since the list was read
            self.set_status(str(error).splitlines()[0], error=True)
            return
        self.run_id = run_id
        self.follower = runs.RunFollower(self.run_dir)
        # Removed, not hidden: a screen with fewer widgets restyles and redraws faster.
        for form in self.query("#train-form"):
            form.remove()
        self.query_one("#train-progress").display = True
        self.query_one("#charts").display = True
        self.query_one("#epoch-table").display = True
        self.apply_view()
        self.call_after_refresh(self.apply_view)  # once the screen knows its size
        self.show_title()
        self.set_status("")
        self.poll()
        self.set_interval(self.app.settings.poll_seconds, self.poll)

    def poll(self) -> None:
        """Read what the run logged since the last look, and show it."""
        follower = self.follower
        if follower is None:
            return
        was_over = follower.over
        new = follower.poll()
        if was_over and not follower.over:  # resumed (here or elsewhere): follow it as new
            self.query_one("#results", Static).update("")
            self.show_title()
            self.set_status("resumed: x stops it")
        if not new and not (follower.over and not was_over):
            if not follower.over and follower.state.started is not None:
                self.show_live()
            return
        for event in new:
            if isinstance(event, ev.RunStarted):
                self.reserve_epoch_rows(event.epochs)
            elif isinstance(event, ev.EpochEvaluated):
                self.add_epoch_row(event)
            elif isinstance(event, ev.RobustnessCollapsed):
                from tui.draw.tables import collapse_line

                self.notify(collapse_line(event).strip(), severity="warning", timeout=10)
            elif isinstance(event, ev.RunStuckAtChance):
                from tui.draw.tables import stuck_line

                self.notify(stuck_line(event).strip(), severity="warning", timeout=15)
        self.show_live()
        self.show_charts()
        if follower.over:
            self.show_end()
            self.show_title()

    def show_title(self) -> None:
        follower = self.follower
        if follower is None or not follower.over:
            what = "x stops it, Escape leaves it running"
        elif follower.status in ("stopped", "failed"):
            what = f"{follower.status}: r resumes it from last.pt, n starts a new run like it"
        else:
            what = f"{follower.status}: n starts a new run with these settings"
        self.query_one("#train-title", Static).update(f"Run {self.run_id} — {what}")
        self.refresh_bindings()

    def reserve_epoch_rows(self, epochs: int) -> None:
        """Give the epoch table the room of the epochs the run will have (as many as its
        most rows): a table that grew a row an epoch laid the screen out again and redrew
        both charts at their new height each time."""
        table = self.query_one("#epoch-table", DataTable)
        rows = epochs + 1  # and the header; no taller than the stylesheet's max-height
        most = table.styles.max_height
        table.styles.min_height = rows if most is None else min(rows, int(most.value))

    def add_epoch_row(self, e: ev.EpochEvaluated) -> None:
        table = self.query_one("#epoch-table", DataTable)
        # the epoch whose weights became best.pt (a tie does not replace it); an adversarial
        # run keeps its most robust epoch
        score = e.val_accuracy if e.robust_val_accuracy is None else e.robust_val_accuracy
        best = "*" if score > self.best_shown else ""
        self.best_shown = max(self.best_shown, score)
        epoch, *rest = cells(EPOCH_COLUMNS, [e])[0]
        table.add_row(epoch.strip() + best, *rest)
        table.move_cursor(row=table.row_count - 1)  # the newest epoch stays in view

    def show_live(self) -> None:
        """The bars and figures of a followed run, as one Static: one widget to repaint at
        each poll (Textual's repaint is most of what a followed run costs the app)."""
        state = self.follower.state
        if state.started is None:
            return
        # Two lines of Text drawn as Rich's bars: cheaper to redraw than ProgressBar widgets
        # with their timers, and no Table to lay out
        colour = self.app.settings.colour
        live = bar_line("epoch", state.epoch, state.started.epochs, colour=colour)
        if state.last_batch is not None:
            b = state.last_batch
            live.append("\n").append_text(bar_line("batch", b.batch, b.batches, colour=colour))
        live.append("\n").append_text(self.stats_text())
        widget = self.query_one("#live", Static)
        lines = len(live.wrap(self.app.console, max(widget.size.width or self.size.width, 10)))
        # the screen is laid out again only when the height changes (laying it out at every
        # update was most of what following a run cost)
        widget.update(live, layout=lines != self._live_lines)
        self._live_lines = lines

    def stats_text(self) -> Text:
        """The run's figures in short lines that fit 80 columns: what it is and its best,
        where it is now, its layers' gradients, any warning."""
        state = self.follower.state
        started = state.started
        about = f"{started.model} on {started.dataset}, {started.device}"
        if state.best is not None:
            about += f"   best: epoch {state.best.epoch}, val acc {state.best.val_accuracy:.2%}"
        stats = Text(about)
        if state.last_batch is not None:
            b = state.last_batch
            now = (f"epoch {b.epoch} batch {b.batch}/{b.batches}  loss {state.smoothed_loss:.4f}"
                   f"  {b.images_per_s:,.0f} img/s  lr {b.lr:.4f}")  # fmt: skip
            eta = state.eta_seconds()
            if eta is not None and not self.follower.over:
                now += f"  ETA {clock(eta)}"
            stats.append("\n" + now)
        if state.gradients is not None:
            g = state.gradients
            sizes = "  ".join(f"{name} {grad / weight if weight else 0:.1e}"
                              for name, grad, weight in zip(g.layers, g.gradient_norms,
                                                            g.weight_norms, strict=True))  # fmt: skip
            stats.append(f"\ngradient/weight: {sizes}", "dim")
        for warning in state.gradient_warnings.values():
            stats.append(f"\n{warning}", "bold yellow")
        return stats

    def show_charts(self) -> None:
        state = self.follower.state
        series = {"train (smoothed)": (state.steps, state.smoothed)}
        if state.epochs and state.started is not None:
            per = state.started.batches_per_epoch
            series["validation"] = (
                [e.epoch * per for e in state.epochs],
                [e.val_loss for e in state.epochs],
            )
        self.query_one("#loss-chart", ChartView).set_data(series)
        if state.epochs:
            epochs = [e.epoch for e in state.epochs]
            series = {"validation": (epochs, [100 * e.val_accuracy for e in state.epochs])}
            if state.epochs[-1].robust_val_accuracy is not None:
                series["robust (PGD)"] = (
                    epochs, [100 * (e.robust_val_accuracy or 0) for e in state.epochs]
                )  # fmt: skip
            self.query_one("#acc-chart", ChartView).set_data(series)

    def show_end(self) -> None:
        from tui.draw.tables import finish_lines, per_class_table, stopped_line

        follower = self.follower
        end = follower.state.end
        if isinstance(end, ev.RunFinished):
            parts = [Text("\n".join(finish_lines(end)), style="bold green")]
            if follower.state.test is not None:
                parts.append(per_class_table(follower.state.test))
            self.query_one("#results", Static).update(Group(*parts))
            self.set_status(f"finished: test accuracy {end.test_accuracy:.2%}")
        elif isinstance(end, ev.RunStopped):
            self.set_status(stopped_line(end, self.run_id).split(" — ")[0] + " — r resumes it")
        else:  # failed: by its own account, or its process died without one
            self.set_status(f"run {follower.status}: {follower.error}", error=True)

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
        self.follower.follow_again()  # the same run goes on
        self.query_one("#results", Static).update("")
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
        self.query_one("#loss-chart", ChartView).toggle_log()


def open_run(app, run_id: str, summaries: list) -> None:
    """Follow a run in the training view — unless it is damaged or gone, which is said."""
    summary = next((s for s in summaries if s.id == run_id), None)
    if summary is not None and summary.status == "damaged":
        app.notify(f"{run_id} is damaged: {summary.error}", severity="error", timeout=8)
        return
    from engine.locations import runs_folder

    if not (runs_folder(app.settings.home) / run_id).is_dir():
        app.notify(f"run {run_id} is gone (deleted since the list was read)", severity="error")
        return
    app.push_screen(TrainScreen(run_id=run_id))
