"""Train: a form with SPEC §3's settings, then a live view of the run it starts — or of any
run, followed through its log from where it is. Leaving the screen does not stop the run."""

from __future__ import annotations

import time

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.validation import Function, Integer, Number
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
from engine.config import TrainConfig
from tui.screens.base import ExperimentScreen
from tui.widgets.chart_view import ChartView


def optional_int(text: str) -> int | None:
    return int(text) if text else None


def form_fields() -> list[tuple[str, str, list, type]]:
    """(name, label, validators, converter) of the free-text settings."""
    return [
        ("epochs", "epochs", [Integer(minimum=1, maximum=1000)], int),
        ("lr", "learning rate", [Number(minimum=1e-12)], float),
        ("momentum", "momentum", [Number(minimum=0, maximum=0.999)], float),
        ("weight_decay", "weight decay", [Number(minimum=0)], float),
        ("batch_size", "batch size", [Integer(minimum=1, maximum=60000)], int),
        ("seed", "seed", [Integer(minimum=0)], int),
        ("subset", "subset", [Function(lambda v: v == "" or (v.isdigit() and int(v) >= 10),
                                                    "a whole number >= 10, or blank")], optional_int),
    ]  # fmt: skip


class RunView:
    """What the screen knows of the run it follows, folded from its events."""

    def __init__(self) -> None:
        self.started: ev.RunStarted | None = None
        self.steps: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.epochs: list[ev.EpochEvaluated] = []
        self.last_batch: ev.BatchTrained | None = None
        self.best: ev.CheckpointSaved | None = None
        self.test: ev.TestEvaluated | None = None
        self.end: ev.Event | None = None
        self.rate_start: tuple[float, int] | None = None  # (time, step) for the ETA

    def add(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.started, self.end = event, None
        elif isinstance(event, ev.BatchTrained):
            self.last_batch = event
            self.steps.append(event.step)
            self.losses.append(event.loss)
            previous = self.smoothed[-1] if self.smoothed else event.loss
            self.smoothed.append(0.98 * previous + 0.02 * event.loss)
            if self.rate_start is None:
                self.rate_start = (event.time, event.step)
        elif isinstance(event, ev.EpochEvaluated):
            self.epochs.append(event)
        elif isinstance(event, ev.CheckpointSaved) and event.kind == "best":
            self.best = event
        elif isinstance(event, ev.TestEvaluated):
            self.test = event
        elif isinstance(event, (ev.RunFinished, ev.RunStopped, ev.RunFailed)):
            self.end = event

    def eta_seconds(self) -> float | None:
        if self.rate_start is None or self.last_batch is None or self.started is None:
            return None
        t0, s0 = self.rate_start
        done = self.last_batch.step - s0
        if done <= 0 or self.last_batch.time <= t0:
            return None
        rate = done / (self.last_batch.time - t0)
        total = self.started.epochs * self.started.batches_per_epoch
        return (total - self.last_batch.step) / rate


class TrainScreen(ExperimentScreen):
    """Start a run of ``model`` from the form, or follow ``run_id``."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (116, "-wide")]  # the form's columns
    BINDINGS = [
        Binding("ctrl+s", "start", "Start run"),
        Binding("x", "stop", "Stop run"),
        Binding("l", "log_scale", "Log y"),
    ]

    def __init__(self, model: str = "convnet", run_id: str | None = None) -> None:
        super().__init__()
        self.model = model
        self.run_id = run_id
        self.view = RunView()
        self.reader = None

    def compose(self) -> ComposeResult:
        defaults = TrainConfig(model=self.model, **self.app.settings.train_defaults)
        yield Header()
        with VerticalScroll():
            yield Static(
                f"Train {self.model}" if not self.run_id else f"Run {self.run_id}",
                id="train-title",
                classes="title",
            )
            with Vertical(id="train-form"):
                with Grid(id="form-grid"):  # label, field; three pairs a row, two when narrow
                    yield Label("model")
                    yield Select([("convnet", "convnet"), ("convnet-bn", "convnet-bn")], value=self.model,
                                 allow_blank=False, id="model")  # fmt: skip
                    yield Label("device")
                    yield Select([(d, d) for d in ("auto", "cpu", "cuda", "mps")], value=defaults.device,
                                 allow_blank=False, id="device")  # fmt: skip
                    for name, label, validators, _ in form_fields():
                        value = getattr(defaults, name)
                        yield Label(label)
                        yield Input(
                            "" if value is None else str(value), validators=validators, id=name
                        )
                yield Button("Start (Enter or ctrl+s)", id="start", variant="primary")
                yield Static("", id="form-error", classes="error")
            with Vertical(id="train-progress"):
                yield Static("", id="bars")
                yield Static("", id="train-stats")
            with Horizontal(id="charts"):
                yield ChartView(
                    "training loss (smoothed) and validation loss",
                    "step",
                    id="loss-chart",
                    classes="chart",
                )
                yield ChartView("validation accuracy (%)", "epoch", id="acc-chart", classes="chart")
            yield DataTable(id="epoch-table", zebra_stripes=True)
            yield Static("", id="results")
        yield Static("", classes="status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#epoch-table", DataTable)
        table.add_columns(
            "epoch", "train loss", "val loss", "val acc", "best", "lr", "seconds", "img/s"
        )
        self.query_one("#train-progress").display = False
        self.query_one("#charts").display = False
        if self.run_id:
            self.follow(self.run_id)
        else:
            self.query_one("#epoch-table").display = False
            self.query_one("#epochs", Input).focus()

    # --- the form ---------------------------------------------------------------------

    def read_form(self) -> TrainConfig | None:
        """The settings typed in, or None (with the bad fields marked) if any is invalid."""
        values: dict = {}
        bad = []
        for name, label, _, convert in form_fields():
            field_input = self.query_one(f"#{name}", Input)
            result = field_input.validate(field_input.value)
            if result is not None and not result.is_valid:
                bad.append(label)
                continue
            values[name] = convert(field_input.value.strip())
        if bad:
            self.query_one("#form-error", Static).update(f"fix: {', '.join(bad)}")
            return None
        base = {**self.app.settings.train_defaults, **values}
        base["model"] = self.query_one("#model", Select).value
        base["device"] = self.query_one("#device", Select).value
        if self.app.settings.data:
            base["data"] = self.app.settings.data
        config = TrainConfig(**base)
        try:
            config.validate()
        except ValueError as error:
            self.query_one("#form-error", Static).update(str(error))
            return None
        return config

    @on(Input.Changed)
    def field_changed(self, event: Input.Changed) -> None:
        if event.validation_result is not None:
            event.input.set_class(not event.validation_result.is_valid, "-invalid")
            self.query_one("#form-error", Static).update(
                ""
                if event.validation_result.is_valid
                else "; ".join(event.validation_result.failure_descriptions)
            )

    @on(Input.Submitted)
    @on(Button.Pressed, "#start")
    def submitted(self) -> None:
        self.action_start()

    def action_start(self) -> None:
        if self.run_id:
            return
        config = self.read_form()
        if config is None:
            return
        from engine import runs, worker

        home = self.app.settings.home
        run_dir = runs.create_run(home, config)
        worker.detach(run_dir, home)
        self.app.selected_run = run_dir.name
        self.follow(run_dir.name)

    # --- following a run --------------------------------------------------------------

    def follow(self, run_id: str) -> None:
        from engine import runs

        self.run_id = run_id
        self.run_dir = runs.find_run(self.app.settings.home, run_id)
        self.reader = runs.EventReader(self.run_dir)
        # Removed, not hidden: a screen with fewer widgets restyles and redraws faster.
        self.query_one("#train-form").remove()
        self.query_one("#train-progress").display = True
        self.query_one("#charts").display = True
        self.query_one("#epoch-table").display = True
        self.query_one("#train-title", Static).update(
            f"Run {run_id} — x stops it, Escape leaves it running"
        )
        self.poll()
        self.set_interval(self.app.settings.poll_seconds, self.poll)

    def poll(self) -> None:
        """Read what the run logged since the last look, and show it."""
        if self.reader is None:
            return
        new = self.reader.read()
        if not new:
            if self.view.end is None and self.view.started is not None:
                self.show_stats()
            return
        for event in new:
            self.view.add(event)
            if isinstance(event, ev.EpochEvaluated):
                self.add_epoch_row(event)
        self.show_progress()
        self.show_charts()
        self.show_stats()
        if self.view.end is not None:
            self.show_end()

    def add_epoch_row(self, e: ev.EpochEvaluated) -> None:
        self.query_one("#epoch-table", DataTable).add_row(
            f"{e.epoch}/{e.epochs}", f"{e.train_loss:.4f}", f"{e.val_loss:.4f}", f"{e.val_accuracy:.2%}",
            f"{e.best_val_accuracy:.2%}", f"{e.lr:.4f}", f"{e.seconds:.1f}", f"{e.images_per_s:,.0f}",
        )  # fmt: skip

    def show_progress(self) -> None:
        view = self.view
        if view.started is None:
            return
        done_epochs = view.epochs[-1].epoch if view.epochs else view.started.start_epoch
        batch = view.last_batch
        # One Static with two Rich bars: far cheaper to restyle and redraw than two
        # ProgressBar widgets with their children and timers.
        bars = Table.grid(padding=(0, 1))
        bars.add_row("epoch", ProgressBar(view.started.epochs, done_epochs, width=50),
                     f"{done_epochs}/{view.started.epochs}")  # fmt: skip
        if batch is not None:
            bars.add_row(
                "batch",
                ProgressBar(batch.batches, batch.batch, width=50),
                f"{batch.batch}/{batch.batches}",
            )
        self.query_one("#bars", Static).update(bars)

    def show_stats(self) -> None:
        view = self.view
        parts = []
        if view.started is not None:
            parts.append(f"{view.started.model} on {view.started.dataset}, {view.started.device}")
        if view.last_batch is not None:
            b = view.last_batch
            parts.append(f"epoch {b.epoch} batch {b.batch}/{b.batches}  loss {view.smoothed[-1]:.4f}"
                         f"  {b.images_per_s:,.0f} img/s  lr {b.lr:.4f}")  # fmt: skip
        eta = view.eta_seconds()
        if eta is not None and view.end is None:
            parts.append(
                f"ETA {time.strftime('%M:%S', time.gmtime(eta)) if eta < 3600 else f'{eta / 3600:.1f} h'}"
            )
        if view.best is not None:
            parts.append(f"best: epoch {view.best.epoch}, val acc {view.best.val_accuracy:.2%}")
        self.query_one("#train-stats", Static).update("   ".join(parts))

    def show_charts(self) -> None:
        view = self.view
        series = {"train (smoothed)": (view.steps, view.smoothed)}
        if view.epochs and view.started is not None:
            per = view.started.batches_per_epoch
            series["validation"] = (
                [e.epoch * per for e in view.epochs],
                [e.val_loss for e in view.epochs],
            )
        self.query_one("#loss-chart", ChartView).set_data(series)
        if view.epochs:
            self.query_one("#acc-chart", ChartView).set_data(
                {
                    "validation": (
                        [e.epoch for e in view.epochs],
                        [100 * e.val_accuracy for e in view.epochs],
                    )
                }
            )

    def show_end(self) -> None:
        from tui.train_output import finish_lines, per_class_table, stopped_line

        end = self.view.end
        if isinstance(end, ev.RunFinished):
            parts = [Text("\n".join(finish_lines(end)), style="bold green")]
            if self.view.test is not None:
                parts.append(per_class_table(self.view.test))
            self.query_one("#results", Static).update(Group(*parts))
            self.set_status(f"finished: test accuracy {end.test_accuracy:.2%}")
        elif isinstance(end, ev.RunStopped):
            self.set_status(stopped_line(end))
        elif isinstance(end, ev.RunFailed):
            self.set_status(f"run failed: {end.error}", error=True)

    def action_stop(self) -> None:
        from engine import runs

        if self.reader is None:
            return
        if runs.stop(self.run_dir):
            self.set_status("asked the run to stop; it finishes the batch and saves last.pt")
        else:
            self.set_status("the run is not running")

    def action_log_scale(self) -> None:
        self.query_one("#loss-chart", ChartView).toggle_log()
