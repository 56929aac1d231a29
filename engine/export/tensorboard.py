"""A run as TensorBoard logs, written by TensorBoard's own writer (``torch.utils.tensorboard``,
the ``tensorboard`` extra): the training loss of each logged batch and its learning rate,
validation loss and accuracy each epoch, the test figures, each weighted layer's weight and
gradient histograms at each moment the run keeps (engine.runs.snapshots), a few test digits with
their predictions, and the run's settings as hparams.

One listener of a run's events does it all: live, beside the run's own log
(``train --tensorboard DIR``), or afterwards, by replaying that log
(``export RUN --tensorboard DIR``). Every value is on the run's step axis (batches trained),
so that live and exported logs of one run draw the same curves. Logs go to ``DIR/RUN_ID``:
``tensorboard --logdir DIR`` shows every run written there side by side.
"""

from __future__ import annotations

import math
from pathlib import Path

from engine import events as ev
from engine.errors import UserFacing
from engine.runs import snapshots

EXTRA = "pip install 'mnist-tui[tensorboard]'"
PREDICTION_DIGITS = 8  # test digits drawn with their predictions, at the end of the run


def check_available() -> None:
    """UserFacing, before anything starts, when the tensorboard package is missing."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise UserFacing(f"TensorBoard logs need the tensorboard package: {EXTRA}") from None


def log_folder(log_dir: str | Path, run_id: str) -> Path:
    return Path(log_dir).expanduser() / run_id


class TensorBoardLog:
    """An ``emit`` that writes a run's events as TensorBoard logs (see the module)."""

    def __init__(self, run_dir: Path, log_dir: str | Path, home: Path) -> None:
        check_available()
        from torch.utils.tensorboard import SummaryWriter

        self.run_dir, self.home = run_dir, home
        self.folder = log_folder(log_dir, run_dir.name)
        try:
            self.writer = SummaryWriter(log_dir=str(self.folder))
        except OSError as error:
            raise UserFacing(f"cannot write TensorBoard logs in {self.folder}:"
                             f" {error.strerror or error}") from None  # fmt: skip
        self.batches = 1  # per epoch, from RunStarted
        self.config: dict = {}
        self.written: set[str] = set()  # moments whose histograms are written
        self._subjects = None

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.batches = max(event.batches_per_epoch, 1)
            self.config = event.config
        elif isinstance(event, ev.BatchTrained):
            self.writer.add_scalar("loss/train", event.loss, event.step)
            self.writer.add_scalar("learning rate", event.lr, event.step)
        elif isinstance(event, ev.GradientsMeasured):
            self.moments()  # the early snapshots (batch 10, 50, 200) as they come
        elif isinstance(event, ev.EpochEvaluated):
            step = event.epoch * self.batches
            self.writer.add_scalar("loss/validation", event.val_loss, step)
            self.writer.add_scalar("accuracy/validation", event.val_accuracy, step)
            if event.robust_val_accuracy is not None:
                self.writer.add_scalar("accuracy/robust validation", event.robust_val_accuracy,
                                       step)  # fmt: skip
            self.moments()
            self.writer.flush()
        elif isinstance(event, ev.TestEvaluated):
            step = self.last_step()
            self.writer.add_scalar("accuracy/test", event.test_accuracy, step)
            self.writer.add_scalar("loss/test", event.test_loss, step)
        elif isinstance(event, ev.RunFinished):
            self.moments()
            if not self.written:  # an imported run keeps no snapshots: its weights once
                self.written.add(snapshots.BEST)
                self.histograms(snapshots.BEST)
            self.predictions()
            self.hparams(event)
            self.writer.flush()

    def close(self) -> None:
        self.writer.close()

    # --- what needs the network ------------------------------------------------------------

    def last_step(self) -> int:
        epochs = int(self.config.get("epochs", 0) or 0)
        return epochs * self.batches

    def step_of(self, moment: str) -> int:
        """The batches trained at ``moment`` (best and last: the end of the run)."""
        moment = snapshots.Moment.parse(moment)
        if moment.is_checkpoint:
            return self.last_step()
        kind, number = moment.order  # (0: start, 1: batch:N, 2: epoch:N; N)
        return number * (self.batches if kind == 2 else 1)

    def subject(self, moment: str):
        from engine.subject import Subjects

        if self._subjects is None:
            self._subjects = Subjects(self.home)
        return self._subjects.get(self.run_dir, moment)

    def moments(self) -> None:
        """Weight and gradient histograms of each weighted layer at every moment the run has
        kept and this log has not yet shown."""
        for moment in snapshots.moments(self.run_dir):
            if moment not in self.written:
                self.written.add(moment)
                self.histograms(moment)

    def histograms(self, moment: str) -> None:
        from engine.inside.histograms import PROBE_IMAGES, layer_gradients
        from engine.models.layers import weighted

        subject = self.subject(moment)
        layers = weighted(subject.model)
        probe = min(PROBE_IMAGES, len(subject.test))
        _, gradients = layer_gradients(subject.model, [m for _, m in layers],
                                       subject.test.images[:probe], subject.test.labels[:probe])  # fmt: skip
        step = self.step_of(moment)
        for (name, module), gradient in zip(layers, gradients, strict=True):
            self.writer.add_histogram(f"weights/{name}", module.weight.detach(), step)
            self.writer.add_histogram(f"gradients/{name}", gradient.detach(), step)

    def predictions(self) -> None:
        """The first test digits with the best network's predictions, as one figure."""
        from matplotlib.figure import Figure  # no pyplot: no global figure, no backend chosen

        from engine.inside.network import predict

        subject = self.subject(snapshots.BEST)
        indices = list(range(min(PREDICTION_DIGITS, len(subject.test))))
        found = predict(subject.model, subject.test, indices)
        figure = Figure(figsize=(1.4 * len(indices), 1.8))
        axes = figure.subplots(1, len(indices), squeeze=False)[0]
        for axis, p in zip(axes, found, strict=True):
            axis.imshow(subject.test.images[p.index].numpy(), cmap="gray")
            mark = "" if p.predicted == p.label else " ✗"
            axis.set_title(f"{subject.classes[p.label]} → {subject.classes[p.predicted]}"
                           f" {p.probability:.0%}{mark}", fontsize=8)  # fmt: skip
            axis.axis("off")
        figure.tight_layout()
        self.writer.add_figure("test digits (true → predicted)", figure, self.last_step())

    def hparams(self, finished: ev.RunFinished) -> None:
        """The run's settings against its results (TensorBoard's HPARAMS tab)."""
        settings = {k: (v if isinstance(v, bool | int | float | str) else str(v))
                    for k, v in self.config.items()}  # fmt: skip
        metrics = {"hparam/test_accuracy": finished.test_accuracy,
                   "hparam/best_val_accuracy": finished.best_val_accuracy}  # fmt: skip
        metrics = {k: v for k, v in metrics.items() if v is not None and math.isfinite(v)}
        self.writer.add_hparams(settings, metrics, run_name=".", global_step=self.last_step())


def export(home: Path, run_dir: Path, log_dir: str | Path, emit: ev.Emit = ev.ignore) -> Path:
    """Write a run's TensorBoard logs from its event log and snapshots (a finished,
    stopped or imported run); the folder written."""
    from engine import runs

    events = runs.read_events(run_dir)
    log = TensorBoardLog(run_dir, log_dir, home)
    try:
        for done, event in enumerate(events):
            log(event)
            if done % 500 == 0:
                emit(ev.ProgressMade("tensorboard", done, len(events)))
        if not any(isinstance(e, ev.RunFinished) for e in events):
            log.moments()  # a stopped run: its moments all the same
        emit(ev.ProgressMade("tensorboard", len(events), len(events)))
    finally:
        log.close()
    return log.folder
