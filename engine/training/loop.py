"""The training loop of study §3: SGD with momentum and weight decay (or Adam), cosine
annealing per epoch, validation every epoch, best and last checkpoints, the test set at the
end.

``train`` takes an ``emit`` callable and a cancel flag, emits the events of
``engine.events`` and returns a ``TrainResult``; it never prints.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from torch import nn
from torch.nn import functional as F

from engine import events as ev
from engine.config import COLLAPSE_DROP, TrainConfig
from engine.data import Splits, batch_count, normalise
from engine.errors import CheckpointError, UserFacing
from engine.inside.histograms import judge
from engine.models.checkpoints import (
    check_weights,
    load_checkpoint,
    load_model,
    save_checkpoint,
    weights_record,
)
from engine.models.files import is_model_file, parse_args, run_source
from engine.models.layers import weighted
from engine.models.zoo import build_model, fold_batchnorm
from engine.pixels import to_pixels
from engine.runs import BEST, LAST, snapshots
from engine.training.cuda_graphs import GraphedStep, graphs_apply
from engine.training.device import autocast_dtype, resolve_device
from engine.training.evaluation import ShiftedViews, evaluate, per_class_accuracy
from engine.training.robust import adversarial_loss, certified_accuracy, robust_accuracy

# Reading a batch's loss waits for the GPU; on one, the losses are read this many batches
# at a time (their events then come in a burst), so the GPU is never left idle waiting.
GPU_SYNC_EVERY = 25

# Each weighted layer's gradient is measured after every this many batches (and the
# first): the live view shows it beside the loss, and says where it vanishes or explodes.
GRADIENTS_EVERY = 50

# A cross-entropy over 10 classes starts near 2.3; past this the weights have blown up and
# every later number would be noise (`--lr 50` reached a test loss of 6.5e12).
DIVERGED_LOSS = 1e4


class TrainingDiverged(UserFacing):
    """The loss became NaN or exploded; the message says where and what to change."""


class CudaGraphFailed(UserFacing):
    """This PyTorch or GPU could not record the training step; --no-cuda-graphs avoids it."""


class CancelFlag(Protocol):
    """Anything with ``is_set()``, such as ``threading.Event``."""

    def is_set(self) -> bool: ...


class NeverCancel:
    """A cancel flag that is never set."""

    def is_set(self) -> bool:
        return False


@dataclass
class TrainResult:
    """What a run produced; ``stopped`` is True when it was cancelled before the end."""

    model: nn.Module
    history: list[ev.EpochEvaluated] = field(default_factory=list)  # an EpochEvaluated each
    best_epoch: int = 0
    best_val_accuracy: float = 0.0
    test_accuracy: float | None = None
    test_loss: float | None = None
    confusion: list[list[int]] | None = None
    train_seconds: float = 0.0
    test_seconds: float = 0.0
    stopped: bool = False


# A run still within this much of chance after STUCK_EPOCH epochs is not learning.
STUCK_MARGIN = 0.05
STUCK_EPOCH = 1


def collapse_cause(config: TrainConfig) -> str:
    """Why a defence's robust accuracy falls, and what to change: single-step attacks
    overfit (Wong et al.); interval bound training diverges when its eps grows at a high
    learning rate (seen with ibp at eps 0.3, lr 0.01: 86% proven, then chance)."""
    if config.adversarial == "ibp":
        return (f"the bounded loss diverged as eps grew: try a lower --lr (now {config.lr:g})"
                f" or a longer --eps-warmup (now {config.eps_warmup})")  # fmt: skip
    return ev.OVERFITTING


def stuck_at_chance(
    config: TrainConfig, epoch: int, val_accuracy: float, classes: int
) -> ev.RunStuckAtChance | None:
    """The warning for a run whose validation accuracy is still about chance, with what to
    change; None while it learns."""
    if val_accuracy > 1 / classes + STUCK_MARGIN:
        return None
    # measured: `--epochs 1 --subset 20000` stays at 11.23% with the cosine schedule and
    # reaches 96.60% with one-cycle; `--epochs 3 --subset 20000 --adversarial fgsm-rs --eps
    # 0.3` reaches 98.27% clean, 83.7% robust with it (docs/results.md)
    warm_up = "" if config.lr_schedule == "onecycle" else "--schedule onecycle (a warm-up), "
    if config.defended:
        advice = (f"try {warm_up}a longer --eps-warmup (now {config.eps_warmup}), a lower --lr"
                  f" (now {config.lr:g}) or --eps")  # fmt: skip
    else:
        advice = f"try {warm_up}a lower --lr (now {config.lr:g}), or check the data's labels"
    return ev.RunStuckAtChance(epoch, val_accuracy, classes, advice)


class FastModel(nn.Module):
    """Wraps a model with the speed settings: channels-last input and autocast."""

    def __init__(self, model: nn.Module, dtype: torch.dtype | None, channels_last: bool):
        super().__init__()
        self.model = model
        self.dtype = dtype
        self.channels_last = channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.dtype is None:
            return self.model(x)
        # no cast cache: nothing is cast twice in a step, and a CUDA graph cannot keep one
        with torch.autocast(x.device.type, dtype=self.dtype, cache_enabled=False):
            return self.model(x).float()


def scorer_for(model: nn.Module, fast: FastModel, tta: bool = False) -> nn.Module:
    """The model as validation and test score it: BatchNorm folded away, same speed
    settings as training; with ``tta``, averaged over shifted views (ShiftedViews)."""
    model.eval()
    plain = fold_batchnorm(model)
    if fast.channels_last:
        plain = plain.to(memory_format=torch.channels_last)
    scorer = FastModel(plain, fast.dtype, fast.channels_last)
    return ShiftedViews(scorer) if tta else scorer


def make_optimiser(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The study's SGD with momentum, or Adam (Wong et al.'s FGSM-RS recipe, the fast
    recipe's) with the momentum as its first beta; both with L2 weight decay."""
    if config.optimiser == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, betas=(config.momentum, config.beta2),
                                weight_decay=config.weight_decay)  # fmt: skip
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay)  # fmt: skip


def make_scheduler(config: TrainConfig, optimiser: torch.optim.Optimizer, batches: int):
    """The learning rate's schedule: the study's cosine from ``lr`` to 0, stepped each epoch;
    or one-cycle (Smith & Topin 2019), stepped each batch: a quarter of the run warming up
    from lr/25 to ``lr``, then a cosine to nearly 0 — what fast MNIST recipes use. The
    momentum stays the setting's."""
    if config.lr_schedule == "onecycle":
        total = config.epochs * batches
        if total < 2:  # one step: nothing to warm up or anneal; the rate is lr
            return torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1.0)
        # a warm-up of at least one and a half steps: torch divides by its length, so a run
        # of 4 batches or fewer (a small subset in large batches) failed at its first step
        warm_up = max(0.25, 1.5 / total)
        return torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=config.lr, total_steps=total, pct_start=warm_up,
            cycle_momentum=False,
        )  # fmt: skip
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.epochs)


def _epoch_plan(
    n: int, seed: int, epoch: int, shift: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The shuffle of one epoch and each image's (dy, dx) shift, a function of (seed, epoch)
    only, so a resumed run sees the same batches as an uninterrupted one."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(n, generator=generator).to(device)
    if not shift:
        return order, None
    shifts = torch.randint(-shift, shift + 1, (n, 2), generator=generator).to(device)
    return order, shifts


def shift_images(images: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Translate each image (n, H, W) by its own (dy, dx), filling with zeros; batched."""
    n, height, width = images.shape
    pad = int(shifts.abs().max()) if len(shifts) else 0
    if pad == 0:
        return images
    padded = F.pad(images, (pad, pad, pad, pad))
    rows = (pad - shifts[:, 0]).view(n, 1) + torch.arange(height, device=images.device)
    cols = (pad - shifts[:, 1]).view(n, 1) + torch.arange(width, device=images.device)
    batch = torch.arange(n, device=images.device).view(n, 1, 1)
    return padded[batch, rows.view(n, height, 1), cols.view(n, 1, width)]


def resume_state(path: Path, config: TrainConfig, batches: int, device: torch.device) -> dict:
    """``last.pt``, checked to be this run's: same model, weights that fit it, and a place
    in training (epoch, batch) inside the run. CheckpointError naming the file otherwise."""
    state = load_checkpoint(path, device)
    check_weights(path, state, expected=config.model)
    missing = [
        key
        for key in ("optimiser", "scheduler", "progress")
        if not isinstance(state.get(key), dict)
    ]
    if missing:
        raise CheckpointError(f"{path}: has no {', '.join(missing)} to resume from")
    progress = state["progress"]
    epoch, batch = progress.get("epoch"), progress.get("batch")
    if not (isinstance(epoch, int) and 0 <= epoch <= config.epochs):
        raise CheckpointError(f"{path}: epoch {epoch!r} is outside the run's 0-{config.epochs}")
    if not (isinstance(batch, int) and 0 <= batch <= batches):
        raise CheckpointError(f"{path}: batch {batch!r} is outside an epoch's 0-{batches}")
    if not isinstance(progress.get("history", []), list):
        raise CheckpointError(f"{path}: its history is not a list")
    Progress.from_dict(progress, config, path)  # every field what it says, before any work
    return state


@dataclass
class Progress:
    """Where a run is and what it has reached: kept in ``last.pt`` (as plain data) so that a
    resumed run continues exactly where it stopped. ``history`` holds each epoch's
    ``EpochEvaluated``: the epoch record, in one shape everywhere."""

    epoch: int = 0  # epochs completed
    batch: int = 0  # batches of the current epoch completed
    loss_sum: float = 0.0  # over the current epoch's images so far
    best_val_accuracy: float = -1.0
    best_epoch: int = 0
    best_robust_val_accuracy: float | None = None
    train_seconds: float = 0.0
    history: list[ev.EpochEvaluated] = field(default_factory=list)

    def to_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {**data, "history": [ev.event_to_dict(e) for e in self.history]}

    @classmethod
    def from_dict(cls, data: dict, config: TrainConfig, path: Path) -> Progress:
        """The progress kept in ``path``; CheckpointError if a field is not what it says."""
        progress = cls()
        for f in dataclasses.fields(cls):
            if f.name == "history" or f.name not in data:
                continue
            value = data[f.name]
            counts = f.name in ("epoch", "batch", "best_epoch")
            may_lack = f.name == "best_robust_val_accuracy"  # a clean run has none
            wrong = isinstance(value, bool) or not isinstance(value, int if counts else int | float)
            if wrong and not (value is None and may_lack):
                raise CheckpointError(f"{path}: its progress {f.name} is {value!r}")
            setattr(progress, f.name, value)
        progress.history = [_epoch_record(r, config, path) for r in data.get("history", [])]
        return progress


def _epoch_record(record, config: TrainConfig, path: Path) -> ev.EpochEvaluated:
    """An epoch of a kept history; a checkpoint written before epochs were kept as events
    holds a shorter record, completed here."""
    if isinstance(record, dict) and "event" not in record:
        record = {"event": "EpochEvaluated", "epochs": config.epochs, "images_per_s": 0.0,
                  "best_val_accuracy": record.get("val_accuracy"), **record}  # fmt: skip
    try:
        event = ev.event_from_dict(record)
    except ev.EventDecodeError as error:
        raise CheckpointError(f"{path}: an epoch of its history is damaged ({error})") from None
    if not isinstance(event, ev.EpochEvaluated):
        raise CheckpointError(f"{path}: its history holds a {type(event).__name__}")
    return event


def run_model_source(run_dir: Path | None, config: TrainConfig) -> Path | None:
    """Where a run builds a user's network from: its own copy of the source (None: the
    zoo's, or the spec's file where the training keeps no folder)."""
    if run_dir is None or not is_model_file(config.model):
        return None
    return run_source(run_dir)


class Training:
    """One run's training, in its steps: an epoch of batches, its evaluation, the end of the
    run. ``train`` drives it; each step emits its events."""

    def __init__(self, config: TrainConfig, splits: Splits, emit: ev.Emit, cancel: CancelFlag,
                 checkpoint_dir: Path | None) -> None:  # fmt: skip
        self.config, self.emit, self.cancel = config, emit, cancel
        self.checkpoint_dir = checkpoint_dir
        self.device = device = resolve_device(config.device)
        self.splits = splits = splits.to(device)
        torch.manual_seed(config.seed)
        model = build_model(config.model, parse_args(config.model_args),
                            run_model_source(checkpoint_dir, config)).to(device)  # fmt: skip
        if config.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.fast = FastModel(model, autocast_dtype(config.precision, device), config.channels_last)
        self.optimiser = make_optimiser(config, model)
        self.batches = batch_count(len(splits.train), config.batch_size)
        self.scheduler = make_scheduler(config, self.optimiser, self.batches)
        self.per_batch = config.lr_schedule == "onecycle"
        self.progress = Progress()
        self.graphed = graphs_apply(config, device)
        self.graph: GraphedStep | None = None  # recorded at the first full batch
        self.sync_every = 1 if device.type == "cpu" else GPU_SYNC_EVERY
        self.weighted = weighted(model)

    def resume(self) -> None:
        """Continue from ``last.pt``: weights, optimiser, schedule and progress."""
        if self.checkpoint_dir is None:
            raise ValueError("resume needs the run's checkpoint folder")
        path = self.checkpoint_dir / LAST
        state = resume_state(path, self.config, self.batches, self.device)
        try:
            self.model.load_state_dict(state["model"])
            self.optimiser.load_state_dict(state["optimiser"])
            self.scheduler.load_state_dict(state["scheduler"])
        except (ValueError, KeyError, RuntimeError, TypeError) as error:
            reason = str(error).splitlines()[0]
            raise CheckpointError(f"{path}: cannot be resumed ({reason})") from None
        self.progress = Progress.from_dict(state["progress"], self.config, path)

    def started(self, run_id: str, dataset_name: str) -> None:
        splits = self.splits
        self.emit(ev.RunStarted(
            run_id=run_id, model=self.config.model, device=str(self.device),
            epochs=self.config.epochs, start_epoch=self.progress.epoch,
            batches_per_epoch=self.batches, train_size=len(splits.train),
            val_size=len(splits.val), test_size=len(splits.test), dataset=dataset_name,
            config=self.config.to_dict(), threads=torch.get_num_threads(),
        ))  # fmt: skip

    def train_epoch(self) -> tuple[int, float, float]:
        """The current epoch's batches (from where a resumed run stopped) until its end or a
        cancel: (images seen, seconds, the learning rate it ran at)."""
        config, progress, splits = self.config, self.progress, self.splits
        epoch = progress.epoch
        order, shifts = _epoch_plan(len(splits.train), config.seed, epoch, config.augment,
                                    self.device)  # fmt: skip
        self.model.train()
        start = time.perf_counter()
        seen = 0
        lr = self.optimiser.param_groups[0]["lr"]
        # (batch, images, its loss, the gradient and weight norms measured after it or None,
        # the rate it stepped at: a per-batch schedule moves it within the epoch)
        pending: list[tuple[int, int, torch.Tensor, torch.Tensor | None, float]] = []

        def settle() -> None:
            """Read the pending batches' losses (one wait) and emit their events."""
            nonlocal seen
            losses = torch.stack([entry[2] for entry in pending]).tolist() if pending else []
            for (batch, count, _, norms, rate), loss in zip(pending, losses, strict=True):
                self.check_loss(loss, epoch, batch)
                seen += count
                progress.batch = batch + 1
                progress.loss_sum += loss * count
                elapsed = time.perf_counter() - start
                self.emit(ev.BatchTrained(
                    epoch=epoch + 1, batch=batch + 1, batches=self.batches,
                    step=epoch * self.batches + batch + 1, loss=loss, lr=rate,
                    images_per_s=seen / max(elapsed, 1e-9),
                ))  # fmt: skip
                if norms is not None:
                    self.emit_gradients(norms.tolist(), epoch, batch, rate)
            pending.clear()

        for batch in range(progress.batch, self.batches):
            moment = snapshots.wanted(config.snapshots, epoch, batch)
            if moment is not None:
                self.save_snapshot(moment)
            index = order[batch * config.batch_size : (batch + 1) * config.batch_size]
            rate = self.optimiser.param_groups[0]["lr"]
            loss = self.step(index, shifts, epoch, batch)
            step = epoch * self.batches + batch
            norms = self.norms() if step % GRADIENTS_EVERY == 0 else None
            pending.append((batch, len(index), loss, norms, rate))
            if len(pending) >= self.sync_every or batch + 1 == self.batches:
                settle()
            if self.cancel.is_set():
                settle()
                break
        seconds = time.perf_counter() - start
        progress.train_seconds += seconds
        return seen, seconds, lr

    def step(self, index: torch.Tensor, shifts: torch.Tensor | None, epoch: int,
             batch: int) -> torch.Tensor:  # fmt: skip
        """One optimiser step on the training images ``index`` (shifted by ``shifts``,
        attacked first in a defended run); its loss, still on the device."""
        config, train_split = self.config, self.splits.train
        if self.graphed and len(index) == config.batch_size:
            if self.graph is None:
                self.graph = self.record_step()
            loss = self.graph(index)
        else:
            raw = train_split.images[index]
            if shifts is not None:
                raw = shift_images(raw, shifts[index])
            labels = train_split.labels[index]
            if config.defended:
                generator = torch.Generator(device=self.device).manual_seed(
                    config.seed * 1_000_003 + epoch * self.batches + batch
                )
                eps = config.eps_at(epoch + batch / self.batches)
                loss = adversarial_loss(self.fast, to_pixels(raw), labels, config, generator, eps)
            else:
                loss = F.cross_entropy(self.fast(normalise(raw)), labels,
                                       label_smoothing=config.label_smoothing)  # fmt: skip
            self.optimiser.zero_grad(set_to_none=True)
            loss.backward()
            self.optimiser.step()
            loss = loss.detach()
            if self.graph is not None:
                self.graph.recorded_last = False  # the gradients are the parameters' own
        if self.per_batch:
            self.scheduler.step()
        return loss

    def record_step(self) -> GraphedStep:
        """The clean step recorded as a CUDA graph; a failure is one line saying how to
        train without."""
        train_split = self.splits.train
        try:
            return GraphedStep(self.model, self.fast, self.optimiser, train_split.images,
                               train_split.labels, self.config.batch_size,
                               self.config.label_smoothing)  # fmt: skip
        except RuntimeError as error:
            reason = str(error).splitlines()[0]
            raise CudaGraphFailed(f"the training step could not be recorded as a CUDA graph"
                                  f" ({reason}); train with --no-cuda-graphs") from None  # fmt: skip

    def norms(self) -> torch.Tensor:
        """Each weighted layer's gradient after the last step, then its weights (L2 norms),
        still on the device."""
        grads = [self.graph.grad_of(module.weight) if self.graph is not None
                 and self.graph.recorded_last else module.weight.grad
                 for _, module in self.weighted]  # fmt: skip
        grads = [torch.zeros((), device=self.device) if g is None else g.norm() for g in grads]
        weights = [module.weight.detach().norm() for _, module in self.weighted]
        return torch.stack([*grads, *weights])

    def emit_gradients(self, norms: list[float], epoch: int, batch: int, lr: float) -> None:
        count = len(self.weighted)
        layers = [name for name, _ in self.weighted]
        gradients, weights = norms[:count], norms[count:]
        self.emit(ev.GradientsMeasured(
            epoch=epoch + 1, batch=batch + 1, step=epoch * self.batches + batch + 1,
            layers=layers, gradient_norms=gradients, weight_norms=weights,
            warnings=judge(layers, weights, gradients, lr or self.config.lr),
        ))  # fmt: skip

    def check_loss(self, loss: float, epoch: int, batch: int) -> None:
        """TrainingDiverged where a batch's loss is not finite or has blown up."""
        if not math.isfinite(loss) or loss > DIVERGED_LOSS:
            raise TrainingDiverged(
                f"the training loss became {loss:.3g} at epoch {epoch + 1}, batch"
                f" {batch + 1}: the learning rate {self.config.lr:g} is too high for this"
                " network; try 0.1 (the study's) or lower"
            )

    def evaluate_epoch(self, seen: int, seconds: float, lr: float) -> bool:
        """Score the finished epoch on the validation set (and under attack, for a defended
        run, whose best checkpoint is its most robust epoch), keep its record, save best.pt
        where it improved and last.pt; whether it improved."""
        config, progress, splits = self.config, self.progress, self.splits
        epoch = progress.epoch
        scorer = scorer_for(self.model, self.fast, config.tta)
        val = evaluate(scorer, splits.val, config.eval_batch_size)
        # an ibp run is judged by what is proven (a lower bound), the others by what PGD
        # leaves (an upper bound): each defence by its own measure, which picks best.pt
        proven = (certified_accuracy(self.model, splits.val, config.eps)
                  if config.adversarial == "ibp" else None)  # fmt: skip
        robust = (proven if proven is not None
                  else robust_accuracy(scorer, splits.val, config.eps) if config.defended
                  else None)  # fmt: skip
        train_loss = progress.loss_sum / len(splits.train)
        if not self.per_batch:
            self.scheduler.step()
        progress.epoch, progress.batch, progress.loss_sum = epoch + 1, 0, 0.0
        if robust is None:
            improved = val.accuracy > progress.best_val_accuracy
        else:
            best = progress.best_robust_val_accuracy
            improved = best is None or robust > best
        if improved:
            progress.best_val_accuracy, progress.best_epoch = val.accuracy, epoch + 1
            if robust is not None:
                progress.best_robust_val_accuracy = robust
        record = ev.EpochEvaluated(
            epoch=epoch + 1, epochs=config.epochs, train_loss=train_loss, val_loss=val.loss,
            val_accuracy=val.accuracy, best_val_accuracy=progress.best_val_accuracy, lr=lr,
            seconds=seconds, images_per_s=seen / max(seconds, 1e-9),
            robust_val_accuracy=robust,
            best_robust_val_accuracy=progress.best_robust_val_accuracy,
            certified_val_accuracy=proven,
        )  # fmt: skip
        progress.history.append(record)
        self.emit(record)
        self.warn(record)
        if improved and self.checkpoint_dir is not None:
            path = self.checkpoint_dir / BEST
            save_checkpoint(path, self.record(epoch=epoch + 1, val_accuracy=val.accuracy,
                                              robust_val_accuracy=robust))  # fmt: skip
            self.emit(ev.CheckpointSaved(snapshots.BEST, epoch + 1, str(path), val.accuracy))
        if config.snapshots != "none":
            self.save_snapshot(f"epoch:{epoch + 1}")
        self.save_last()
        return improved

    def warn(self, record: ev.EpochEvaluated) -> None:
        """A run stuck at chance after its first epoch; a defence's robustness collapsing."""
        if record.epoch == STUCK_EPOCH:
            classes = int(self.splits.train.labels.max()) + 1
            stuck = stuck_at_chance(self.config, record.epoch, record.val_accuracy, classes)
            if stuck is not None:
                self.emit(stuck)
        robust, best = record.robust_val_accuracy, record.best_robust_val_accuracy
        if robust is not None and best - robust > COLLAPSE_DROP:
            self.emit(ev.RobustnessCollapsed(epoch=record.epoch, robust_val_accuracy=robust,
                                             best_robust_val_accuracy=best,
                                             best_epoch=self.progress.best_epoch,
                                             cause=collapse_cause(self.config)))  # fmt: skip

    def record(self, **more) -> dict:
        """What each of the run's checkpoints holds (best, last, a snapshot): the network's
        name, arguments and weights as they are now, then ``more``."""
        return weights_record(
            self.config.model, self.model.state_dict(), parse_args(self.config.model_args), **more
        )

    def save_snapshot(self, moment: str) -> None:
        """The weights as they are now, kept as the run's ``moment`` (engine.runs.snapshots)."""
        if self.checkpoint_dir is None:
            return
        folder = self.checkpoint_dir / snapshots.FOLDER
        if folder.is_symlink():
            raise CheckpointError(f"{folder} is a symlink; run files are not written through one")
        if self.checkpoint_dir.is_dir() and not folder.is_dir():
            folder.mkdir()  # else save_checkpoint says the run folder is gone
        save_checkpoint(
            folder / snapshots.Moment.parse(moment).file_name, self.record(moment=moment)
        )

    def save_last(self) -> None:
        if self.checkpoint_dir is None:
            return
        path = self.checkpoint_dir / LAST
        save_checkpoint(path, self.record(
            optimiser=self.optimiser.state_dict(), scheduler=self.scheduler.state_dict(),
            progress=self.progress.to_dict(), config=self.config.to_dict(),
        ))  # fmt: skip
        self.emit(ev.CheckpointSaved(snapshots.LAST, self.progress.epoch, str(path),
                                     self.progress.best_val_accuracy))  # fmt: skip

    def stop(self, epoch: int) -> None:
        self.emit(ev.RunStopped(epoch=epoch, reason="cancelled"))

    def finish(self, result: TrainResult) -> None:
        """Score the test set with the best checkpoint, as the study does, and in float32
        whatever the training precision: the final figures are the ones every analysis (which
        runs in float32) agrees with, image for image."""
        config, splits, device = self.config, self.splits, self.device
        exact = FastModel(self.fast.model, None, self.fast.channels_last)
        if self.checkpoint_dir is not None and (self.checkpoint_dir / BEST).is_file():
            best = load_model(self.checkpoint_dir / BEST, device)
        else:
            best = self.model
        test = evaluate(scorer_for(best, exact, config.tta), splits.test, config.eval_batch_size)
        plain = (evaluate(scorer_for(best, exact), splits.test, config.eval_batch_size).accuracy
                 if config.tta else None)  # fmt: skip
        confusion = test.confusion(splits.test.labels)
        result.test_accuracy, result.test_loss = test.accuracy, test.loss
        result.confusion, result.test_seconds = confusion, test.seconds
        self.emit(ev.TestEvaluated(
            test_accuracy=test.accuracy, test_loss=test.loss, confusion=confusion,
            per_class_accuracy=per_class_accuracy(confusion), seconds=test.seconds,
            images_per_s=len(splits.test) / max(test.seconds, 1e-9),
            plain_test_accuracy=plain,
        ))  # fmt: skip
        self.emit(ev.RunFinished(
            epochs=config.epochs, best_epoch=result.best_epoch,
            best_val_accuracy=result.best_val_accuracy, test_accuracy=test.accuracy,
            test_loss=test.loss, train_seconds=result.train_seconds, test_seconds=test.seconds,
            best_robust_val_accuracy=self.progress.best_robust_val_accuracy,
            plain_test_accuracy=plain,
        ))  # fmt: skip


def train(
    config: TrainConfig,
    splits: Splits,
    emit: ev.Emit = ev.ignore,
    cancel: CancelFlag | None = None,
    checkpoint_dir: Path | None = None,
    run_id: str = "",
    dataset_name: str = "MNIST",
    resume: bool = False,
) -> TrainResult:
    """Train ``config.model`` on ``splits``; with ``resume``, continue from ``last.pt``."""
    config.validate()
    training = Training(config, splits, emit, cancel or NeverCancel(), checkpoint_dir)
    if checkpoint_dir is not None and not resume:
        checkpoint_dir.mkdir(parents=True, exist_ok=True)  # made once, here: a folder that
        # disappears later is noticed by the next checkpoint, never silently made again
    if resume:
        training.resume()
    progress = training.progress
    result = TrainResult(model=training.model, history=progress.history)
    training.started(run_id, dataset_name)
    while progress.epoch < config.epochs:
        seen, seconds, lr = training.train_epoch()
        if progress.batch < training.batches:  # cancelled inside the epoch
            training.save_last()
            training.stop(progress.epoch)
            result.stopped = True
            break
        training.evaluate_epoch(seen, seconds, lr)
        if training.cancel.is_set() and progress.epoch < config.epochs:
            training.stop(progress.epoch)
            result.stopped = True
            break
    result.best_epoch = progress.best_epoch
    result.best_val_accuracy = max(progress.best_val_accuracy, 0.0)
    result.train_seconds = progress.train_seconds
    if not result.stopped:
        training.finish(result)
    return result
