"""Weights trained elsewhere as an ordinary run: ``mnist-tui import WEIGHTS.pt --model ...``
checks a state dict against the network, makes a run folder (status ``imported``) with its
``best.pt``, and measures its validation and test accuracy, so that every analysis, the
report and the app work on a network trained in someone's notebook."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from engine import events as ev
from engine import runs
from engine.config import TrainConfig
from engine.data import load_dataset, split_dataset
from engine.errors import CheckpointError
from engine.locations import data_cache
from engine.models.checkpoints import (
    check_weights,
    load_problem,
    load_weights_only,
    save_checkpoint,
    weights_record,
)
from engine.models.files import ModelFile, is_model_file, parse_args, sha256
from engine.training.evaluation import evaluate, per_class_accuracy


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from ``path``: a safetensors file, or a torch file holding one as it is,
    or under "state_dict" or "model"."""
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder; give the weights file in it (a .pt file)")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    if path.suffix == ".safetensors":
        from engine.export.safetensors_weights import read_safetensors

        return read_safetensors(path)[0]
    try:
        data = load_weights_only(path)
    except Exception as error:  # torch raises several kinds for a file it cannot read
        raise CheckpointError(f"{path}: not usable as weights: {load_problem(error)}") from None
    if isinstance(data, dict):
        for key in ("state_dict", "model"):
            if isinstance(data.get(key), dict):
                data = data[key]
                break
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(
            f"{path}: holds no state dict (expected a dict of names to tensors, as torch.save(model.state_dict()) writes)"
        )
    return dict(data)


def settings_in(path: Path) -> dict:
    """The run settings a safetensors file written by ``export --safetensors`` carries, as far
    as they fit here: the network (of the zoo: a model file's path is the other machine's),
    its arguments, the split's seed and subset. {} for any other file."""
    if path.suffix != ".safetensors" or not path.is_file():
        return {}
    from engine.export.safetensors_weights import read_safetensors, settings_of

    settings = settings_of(read_safetensors(path)[1])
    kept = {k: settings[k] for k in ("model", "model_args", "seed", "subset") if k in settings}
    if is_model_file(str(kept.get("model", ""))):
        kept.pop("model"), kept.pop("model_args", None)
    return kept


def import_weights(home: Path, path: Path, config: TrainConfig, emit: ev.Emit = ev.ignore) -> Path:
    """A new run holding ``path``'s weights for ``config.model``; its folder."""
    path = Path(path).expanduser().resolve()
    config.validate()
    args = parse_args(config.model_args)
    weights = read_state_dict(path)
    source = None
    if is_model_file(config.model):
        model_file = ModelFile.of(config.model)
        source = model_file.source_path()
        config = TrainConfig(**{**config.to_dict(), "model": model_file.spec})
    state = weights_record(config.model, weights, args)
    model = check_weights(path, state, source=source).eval()  # mismatches: one line
    dataset = load_dataset(data_cache(home), folder=Path(config.data) if config.data else None)
    splits = split_dataset(dataset, seed=config.seed, subset=config.subset)
    run_dir = runs.create_run(home, config)
    log = runs.EventLog(run_dir)

    def say(event: ev.Event) -> None:
        log(event)
        emit(event)

    try:
        say(ev.RunStarted(run_id=run_dir.name, model=config.model, device="cpu", epochs=0,
                          start_epoch=0, batches_per_epoch=0, train_size=len(splits.train),
                          val_size=len(splits.val), test_size=len(splits.test),
                          dataset=dataset.source, config=config.to_dict(),
                          threads=torch.get_num_threads()))  # fmt: skip
        say(ev.WeightsImported(source=str(path), sha256=sha256(path)))
        start = time.perf_counter()
        val = evaluate(model, splits.val, config.eval_batch_size)
        best = run_dir / runs.BEST
        save_checkpoint(best, {**state, "epoch": 0, "val_accuracy": val.accuracy})
        say(ev.CheckpointSaved(runs.snapshots.BEST, 0, str(best), val.accuracy))
        test = evaluate(model, splits.test, config.eval_batch_size)
        confusion = test.confusion(splits.test.labels)
        say(ev.TestEvaluated(test_accuracy=test.accuracy, test_loss=test.loss,
                             confusion=confusion, per_class_accuracy=per_class_accuracy(confusion),
                             seconds=test.seconds,
                             images_per_s=len(splits.test) / max(test.seconds, 1e-9)))  # fmt: skip
        say(ev.RunFinished(epochs=0, best_epoch=0, best_val_accuracy=val.accuracy,
                           test_accuracy=test.accuracy, test_loss=test.loss, train_seconds=0.0,
                           test_seconds=time.perf_counter() - start))  # fmt: skip
    finally:
        log.close()
    return run_dir
