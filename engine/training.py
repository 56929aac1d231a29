"""The training loop of study §3: SGD with momentum and weight decay (or Adam), cosine
annealing per epoch, validation every epoch, best and last checkpoints, the test set at the
end.

``train`` takes an ``emit`` callable and a cancel flag, emits the events of
``engine.events`` and returns a ``TrainResult``; it never prints.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
from torch import nn
from torch.nn import functional as F

from engine import events as ev
from engine.checkpoints import check_weights, load_checkpoint, load_model, save_checkpoint
from engine.config import COLLAPSE_DROP, TrainConfig
from engine.data import Splits, batch_count, normalise
from engine.errors import CheckpointError, DeviceUnavailable, UserFacing
from engine.evaluation import evaluate, per_class_accuracy
from engine.models import build_model, fold_batchnorm
from engine.pixels import to_pixels
from engine.robust_training import adversarial_loss, robust_accuracy
from engine.runs import BEST, LAST

# A cross-entropy over 10 classes starts near 2.3; past this the weights have blown up and
# every later number would be noise (`--lr 50` reached a test loss of 6.5e12).
DIVERGED_LOSS = 1e4


class TrainingDiverged(UserFacing):
    """The loss became NaN or exploded; the message says where and what to change."""


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
    history: list[dict] = field(default_factory=list)
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
    warm_up = "" if config.schedule == "onecycle" else "--schedule onecycle (a warm-up), "
    if config.defended:
        advice = (f"try {warm_up}a longer --eps-warmup (now {config.eps_warmup}), a lower --lr"
                  f" (now {config.lr:g}) or --eps")  # fmt: skip
    else:
        advice = f"try {warm_up}a lower --lr (now {config.lr:g}), or check the data's labels"
    return ev.RunStuckAtChance(epoch, val_accuracy, classes, advice)


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; an unavailable choice is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable("device cuda: no CUDA GPU is available here (try auto or cpu)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise DeviceUnavailable("device mps: Apple's MPS is not available here (try auto or cpu)")
    return torch.device(name)


def device_label(device: torch.device) -> str:
    """'cpu', 'mps', or the GPU's name ('NVIDIA H200'): where a figure was measured."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else device.type


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype to train and score in, or None for plain float32."""
    if precision == "fp32" or device.type == "mps":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    # On the CPU bf16 pays only where oneDNN has native bf16 instructions (AVX512-BF16, AMX).
    return torch.bfloat16 if torch.backends.mkldnn.is_available() and _cpu_has_bf16() else None


def _cpu_has_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


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
        with torch.autocast(x.device.type, dtype=self.dtype):
            return self.model(x).float()


def scorer_for(model: nn.Module, fast: FastModel) -> nn.Module:
    """The model as validation and test score it: BatchNorm folded away, same speed
    settings as training."""
    model.eval()
    plain = fold_batchnorm(model)
    if fast.channels_last:
        plain = plain.to(memory_format=torch.channels_last)
    return FastModel(plain, fast.dtype, fast.channels_last)


def make_optimiser(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The study's SGD with momentum, or Adam (Wong et al.'s FGSM-RS recipe); both with
    L2 weight decay."""
    if config.optimiser == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay)  # fmt: skip


def make_scheduler(config: TrainConfig, optimiser: torch.optim.Optimizer, batches: int):
    """The learning rate's schedule: the study's cosine from ``lr`` to 0, stepped each epoch;
    or one-cycle (Smith & Topin 2019), stepped each batch: a quarter of the run warming up
    from lr/25 to ``lr``, then a cosine to nearly 0 — what fast MNIST recipes use. The
    momentum stays the setting's."""
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=config.lr, total_steps=config.epochs * batches, pct_start=0.25,
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
    return state


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
    cancel = cancel or NeverCancel()
    device = resolve_device(config.device)
    splits = splits.to(device)
    torch.manual_seed(config.seed)
    model = build_model(config.model).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    fast = FastModel(model, autocast_dtype(config.precision, device), config.channels_last)
    optimiser = make_optimiser(config, model)
    scheduler = make_scheduler(config, optimiser, batch_count(len(splits.train), config.batch_size))
    per_batch = config.schedule == "onecycle"

    progress = {"epoch": 0, "batch": 0, "loss_sum": 0.0, "best_val_accuracy": -1.0,
                "best_epoch": 0, "train_seconds": 0.0, "history": []}  # fmt: skip
    if checkpoint_dir is not None and not resume:
        checkpoint_dir.mkdir(parents=True, exist_ok=True)  # made once, here: a folder that
        # disappears later is noticed by the next checkpoint, never silently made again
    if resume:
        if checkpoint_dir is None:
            raise ValueError("resume needs the run's checkpoint folder")
        batches = batch_count(len(splits.train), config.batch_size)
        state = resume_state(checkpoint_dir / LAST, config, batches, device)
        try:
            model.load_state_dict(state["model"])
            optimiser.load_state_dict(state["optimiser"])
            scheduler.load_state_dict(state["scheduler"])
        except (ValueError, KeyError, RuntimeError, TypeError) as error:
            reason = str(error).splitlines()[0]
            raise CheckpointError(
                f"{checkpoint_dir / LAST}: cannot be resumed ({reason})"
            ) from None
        progress.update(state["progress"])

    result = TrainResult(model=model, history=progress["history"])
    batches_per_epoch = batch_count(len(splits.train), config.batch_size)
    emit(
        ev.RunStarted(
            run_id=run_id,
            model=config.model,
            device=str(device),
            epochs=config.epochs,
            start_epoch=progress["epoch"],
            batches_per_epoch=batches_per_epoch,
            train_size=len(splits.train),
            val_size=len(splits.val),
            test_size=len(splits.test),
            dataset=dataset_name,
            config=config.to_dict(),
            threads=torch.get_num_threads(),
        )
    )

    def save_last() -> None:
        if checkpoint_dir is None:
            return
        save_checkpoint(
            checkpoint_dir / LAST,
            {
                "model_name": config.model,
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(),
                "progress": progress,
                "config": config.to_dict(),
            },
        )
        emit(ev.CheckpointSaved("last", progress["epoch"], str(checkpoint_dir / LAST),
                                progress["best_val_accuracy"]))  # fmt: skip

    while progress["epoch"] < config.epochs:
        epoch = progress["epoch"]
        order, shifts = _epoch_plan(len(splits.train), config.seed, epoch, config.augment, device)
        model.train()
        epoch_start = time.perf_counter()
        seen = 0
        lr = optimiser.param_groups[0]["lr"]
        for batch in range(progress["batch"], batches_per_epoch):
            index = order[batch * config.batch_size : (batch + 1) * config.batch_size]
            raw = splits.train.images[index]
            if shifts is not None:
                raw = shift_images(raw, shifts[index])
            labels = splits.train.labels[index]
            if config.defended:
                generator = torch.Generator(device=device).manual_seed(
                    config.seed * 1_000_003 + epoch * batches_per_epoch + batch
                )
                eps = config.eps_at(epoch + batch / batches_per_epoch)
                loss = adversarial_loss(fast, to_pixels(raw), labels, config, generator, eps)
            else:
                loss = F.cross_entropy(fast(normalise(raw)), labels,
                                       label_smoothing=config.label_smoothing)  # fmt: skip
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            if per_batch:
                scheduler.step()
            loss_value = loss.item()
            if not math.isfinite(loss_value) or loss_value > DIVERGED_LOSS:
                raise TrainingDiverged(
                    f"the training loss became {loss_value:.3g} at epoch {epoch + 1}, batch"
                    f" {batch + 1}: the learning rate {config.lr:g} is too high for this network;"
                    " try 0.1 (the study's) or lower"
                )
            seen += len(labels)
            progress["batch"] = batch + 1
            progress["loss_sum"] += loss_value * len(labels)
            elapsed = time.perf_counter() - epoch_start
            emit(
                ev.BatchTrained(
                    epoch=epoch + 1,
                    batch=batch + 1,
                    batches=batches_per_epoch,
                    step=epoch * batches_per_epoch + batch + 1,
                    loss=loss_value,
                    lr=lr,
                    images_per_s=seen / max(elapsed, 1e-9),
                )
            )
            if cancel.is_set():
                break
        epoch_seconds = time.perf_counter() - epoch_start
        progress["train_seconds"] += epoch_seconds
        if progress["batch"] < batches_per_epoch:  # cancelled inside the epoch
            save_last()
            emit(ev.RunStopped(epoch=epoch, reason="cancelled"))
            result.stopped = True
            break

        scorer = scorer_for(model, fast)
        val = evaluate(scorer, splits.val, config.eval_batch_size)
        # An adversarial run keeps the epoch most robust on validation images, not the most
        # accurate: a defence's point is its robust accuracy.
        robust = robust_accuracy(scorer, splits.val, config.eps) if config.defended else None
        train_loss = progress["loss_sum"] / len(splits.train)
        if not per_batch:
            scheduler.step()
        progress.update(epoch=epoch + 1, batch=0, loss_sum=0.0)
        best_robust = progress.get("best_robust_val_accuracy")
        if robust is None:
            improved = val.accuracy > progress["best_val_accuracy"]
        else:
            improved = best_robust is None or robust > best_robust
        if improved:
            progress["best_val_accuracy"] = val.accuracy
            progress["best_epoch"] = epoch + 1
            if robust is not None:
                progress["best_robust_val_accuracy"] = best_robust = robust
        record = {
            "epoch": epoch + 1,
            "train_loss": train_loss,
            "val_loss": val.loss,
            "val_accuracy": val.accuracy,
            "robust_val_accuracy": robust,
            "lr": lr,
            "seconds": epoch_seconds,
        }
        progress["history"].append(record)
        emit(
            ev.EpochEvaluated(
                epoch=epoch + 1,
                epochs=config.epochs,
                train_loss=train_loss,
                val_loss=val.loss,
                val_accuracy=val.accuracy,
                best_val_accuracy=progress["best_val_accuracy"],
                lr=lr,
                seconds=epoch_seconds,
                images_per_s=seen / max(epoch_seconds, 1e-9),
                robust_val_accuracy=robust,
                best_robust_val_accuracy=best_robust,
            )
        )
        if epoch + 1 == STUCK_EPOCH:
            classes = int(splits.train.labels.max()) + 1
            stuck = stuck_at_chance(config, epoch + 1, val.accuracy, classes)
            if stuck is not None:
                emit(stuck)
        if robust is not None and best_robust - robust > COLLAPSE_DROP:
            emit(ev.RobustnessCollapsed(epoch=epoch + 1, robust_val_accuracy=robust,
                                        best_robust_val_accuracy=best_robust,
                                        best_epoch=progress["best_epoch"]))  # fmt: skip
        if improved and checkpoint_dir is not None:
            save_checkpoint(
                checkpoint_dir / BEST,
                {
                    "model_name": config.model,
                    "model": model.state_dict(),
                    "epoch": epoch + 1,
                    "val_accuracy": val.accuracy,
                    "robust_val_accuracy": robust,
                },
            )
            emit(ev.CheckpointSaved("best", epoch + 1, str(checkpoint_dir / BEST), val.accuracy))
        save_last()
        if cancel.is_set() and progress["epoch"] < config.epochs:
            emit(ev.RunStopped(epoch=epoch + 1, reason="cancelled"))
            result.stopped = True
            break

    result.best_epoch = progress["best_epoch"]
    result.best_val_accuracy = max(progress["best_val_accuracy"], 0.0)
    result.train_seconds = progress["train_seconds"]
    if result.stopped:
        return result

    # The test set is scored with the best checkpoint, as the study does, and in float32
    # whatever the training precision: the final figures are the ones every analysis (which
    # runs in float32) agrees with, image for image.
    exact = FastModel(fast.model, None, fast.channels_last)
    if checkpoint_dir is not None and (checkpoint_dir / BEST).is_file():
        scorer = scorer_for(load_model(checkpoint_dir / BEST, device), exact)
    else:
        scorer = scorer_for(model, exact)
    test = evaluate(scorer, splits.test, config.eval_batch_size)
    confusion = test.confusion(splits.test.labels)
    result.test_accuracy, result.test_loss = test.accuracy, test.loss
    result.confusion, result.test_seconds = confusion, test.seconds
    emit(
        ev.TestEvaluated(
            test_accuracy=test.accuracy,
            test_loss=test.loss,
            confusion=confusion,
            per_class_accuracy=per_class_accuracy(confusion),
            seconds=test.seconds,
            images_per_s=len(splits.test) / max(test.seconds, 1e-9),
        )
    )
    emit(
        ev.RunFinished(
            epochs=config.epochs,
            best_epoch=result.best_epoch,
            best_val_accuracy=result.best_val_accuracy,
            test_accuracy=test.accuracy,
            test_loss=test.loss,
            train_seconds=result.train_seconds,
            test_seconds=test.seconds,
            best_robust_val_accuracy=progress.get("best_robust_val_accuracy"),
        )
    )
    return result
