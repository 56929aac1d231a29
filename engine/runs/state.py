"""A run's events folded into its state, once, for every view: the CLI's progress lines,
``mnist-tui runs``, the home and runs screens and the training view all read a
``RunState`` instead of interpreting the events themselves.

Pure: events in, state out; no files, no processes (``engine.runs`` adds those).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine import events as ev
from engine.runs.snapshots import BEST

# A run's status, declared once: its summary, every list of runs and the views say one of
# these. An imported run is as usable as a finished one (its weights came from elsewhere).
RUNNING, FINISHED, IMPORTED, STOPPED, FAILED, DAMAGED = STATUSES = (
    "running", "finished", "imported", "stopped", "failed", "damaged"
)  # fmt: skip
USABLE = (FINISHED, IMPORTED)  # what an analysis or a report can use
# The events after which a run's process has nothing more to say.
FINAL_EVENTS = (ev.RunFinished, ev.RunStopped, ev.RunFailed)
# Weight of the past in the training-loss average (TensorBoard's default smoothing is 0.6
# over logged points; per batch a longer memory is needed to see a trend).
SMOOTHING = 0.98


@dataclass
class RunState:
    """Everything a run's events say about it."""

    started: ev.RunStarted | None = None
    last_batch: ev.BatchTrained | None = None
    epochs: list[ev.EpochEvaluated] = field(default_factory=list)
    best: ev.CheckpointSaved | None = None
    test: ev.TestEvaluated | None = None
    end: ev.Event | None = None  # the final event, if the run has ended
    # The training loss per step: raw, and as a debiased exponential average (the first
    # points are not dragged toward zero as a plain average started at 0 would drag them).
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    train_seconds: float = 0.0  # summed over the evaluated epochs
    first_time: float | None = None  # when the first event was made
    collapses: list[ev.RobustnessCollapsed] = field(default_factory=list)  # robust acc fell
    _average: float = 0.0
    _weight: float = 0.0
    imported: ev.WeightsImported | None = None  # weights trained elsewhere (mnist-tui import)
    gradients: ev.GradientsMeasured | None = None  # the latest measurement
    # each layer's first vanishing/exploding warning ("layer: kind" -> the sentence)
    gradient_warnings: dict[str, str] = field(default_factory=dict)
    _rate_start: tuple[float, int] | None = None  # (time, step) since (re)start, for the ETA

    def add(self, event: ev.Event) -> None:
        """Fold one more event in."""
        if self.first_time is None:
            self.first_time = event.time
        if isinstance(event, ev.RunStarted):
            self.started, self.end, self._rate_start = event, None, None
            # a resumed run picks up after its last full epoch: forget what came later
            self.epochs = [e for e in self.epochs if e.epoch <= event.start_epoch]
            self.collapses = [e for e in self.collapses if e.epoch <= event.start_epoch]
            self.train_seconds = sum(e.seconds for e in self.epochs)
        elif isinstance(event, ev.BatchTrained):
            self._add_batch(event)
        elif isinstance(event, ev.EpochEvaluated):
            self.epochs.append(event)
            self.train_seconds += event.seconds
        elif isinstance(event, ev.CheckpointSaved) and event.kind == BEST:
            self.best = event
        elif isinstance(event, ev.TestEvaluated):
            self.test = event
        elif isinstance(event, ev.RobustnessCollapsed):
            self.collapses.append(event)
        elif isinstance(event, ev.WeightsImported):
            self.imported = event
        elif isinstance(event, ev.GradientsMeasured):
            self.gradients = event
            for line in event.warnings:
                self.gradient_warnings.setdefault(warning_key(line), line)
        elif isinstance(event, FINAL_EVENTS):
            self.end = event

    def unsaid(self, event: ev.GradientsMeasured) -> list[str]:
        """The warnings of ``event`` that folding it would add (each layer's kind once)."""
        return [w for w in event.warnings if warning_key(w) not in self.gradient_warnings]

    def add_all(self, events: list[ev.Event]) -> RunState:
        for event in events:
            self.add(event)
        return self

    def _add_batch(self, event: ev.BatchTrained) -> None:
        self.last_batch = event
        self.steps.append(event.step)
        self.losses.append(event.loss)
        self._average = SMOOTHING * self._average + (1 - SMOOTHING) * event.loss
        self._weight = SMOOTHING * self._weight + (1 - SMOOTHING)
        self.smoothed.append(self._average / self._weight)
        if self._rate_start is None:
            self._rate_start = (event.time, event.step)

    # --- what the views show -------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.end is not None

    @property
    def outcome(self) -> str | None:
        """finished | imported | stopped | failed once the run has ended, else None."""
        kinds = {ev.RunFinished: "finished", ev.RunStopped: "stopped", ev.RunFailed: "failed"}
        if isinstance(self.end, ev.RunFinished) and self.imported is not None:
            return "imported"  # as usable as a finished run; its weights came from elsewhere
        return kinds.get(type(self.end)) if self.end is not None else None

    @property
    def error(self) -> str:
        return self.end.error if isinstance(self.end, ev.RunFailed) else ""

    @property
    def epoch(self) -> int:
        """Full epochs done."""
        if self.epochs:
            return self.epochs[-1].epoch
        return self.started.start_epoch if self.started else 0

    @property
    def smoothed_loss(self) -> float | None:
        return self.smoothed[-1] if self.smoothed else None

    @property
    def best_val_accuracy(self) -> float | None:
        if isinstance(self.end, ev.RunFinished):
            return self.end.best_val_accuracy
        return self.epochs[-1].best_val_accuracy if self.epochs else None

    @property
    def robust_val_accuracy(self) -> float | None:
        """An adversarial run's best robust validation accuracy (None for others)."""
        if isinstance(self.end, ev.RunFinished) and self.end.best_robust_val_accuracy is not None:
            return self.end.best_robust_val_accuracy
        return self.epochs[-1].best_robust_val_accuracy if self.epochs else None

    def eta_seconds(self) -> float | None:
        """Seconds left for the whole run at the pace since it (re)started, from batch
        progress (an epoch-level rate would say nothing until an epoch ends)."""
        if self._rate_start is None or self.last_batch is None or self.started is None:
            return None
        if self.ended:
            return None
        t0, s0 = self._rate_start
        done = self.last_batch.step - s0
        if done <= 0 or self.last_batch.time <= t0:
            return None
        rate = done / (self.last_batch.time - t0)
        total = self.started.epochs * self.started.batches_per_epoch
        return max(total - self.last_batch.step, 0) / rate

    def figures(self) -> dict:
        """The summary figures: what `mnist-tui runs` and the runs tables show."""
        finished = self.end if isinstance(self.end, ev.RunFinished) else None
        images = self.epoch * self.started.train_size if self.started else 0
        return {
            "train_images": images or None,
            "test_images": self.started.test_size if self.started and finished else None,
            "epoch": self.epoch,
            "best_val_accuracy": self.best_val_accuracy,
            "robust_val_accuracy": self.robust_val_accuracy,
            "test_accuracy": finished.test_accuracy if finished else None,
            "test_loss": finished.test_loss if finished else None,
            "train_seconds": finished.train_seconds if finished else (self.train_seconds or None),
            "test_seconds": finished.test_seconds if finished else None,
        }


def warning_key(line: str) -> str:
    """'conv1: vanishing' of 'conv1: vanishing — its gradient ...': a layer's kind of
    warning, said once however often it is measured."""
    return line.split(" — ")[0]


def fold(events: list[ev.Event]) -> RunState:
    """The state that ``events`` amount to."""
    return RunState().add_all(events)
