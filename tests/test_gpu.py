"""The CUDA paths: training, checkpoints that open on a laptop, resume, defended training,
attacks and studies on a GPU. Skipped where torch sees no CUDA GPU (CI has none); run them
on a GPU machine with `python -m pytest tests/test_gpu.py`. MNIST_TUI_TEST_DEVICE=cpu runs
the same tests on the CPU, to check the tests themselves without a GPU."""

from __future__ import annotations

import json
import os

import pytest
import torch

from engine import events as ev
from engine import runs
from engine.models.checkpoints import load_checkpoint, load_model
from engine.studies import usable_cores
from engine.training.evaluation import evaluate
from engine.training.loop import TrainConfig, train
from tests.test_training import CancelAfter
from tui.cli.main import main

DEVICE = os.environ.get("MNIST_TUI_TEST_DEVICE", "cuda")
pytestmark = pytest.mark.skipif(
    DEVICE == "cuda" and not torch.cuda.is_available(), reason="no CUDA GPU here"
)

ON_GPU = dict(epochs=3, batch_size=20, lr=0.05, device=DEVICE)
TINY_CLI = ["--epochs", "1", "--batch-size", "40", "--lr", "0.05", "--device", DEVICE]


def test_a_run_trains_on_the_gpu_and_its_checkpoint_opens_on_a_cpu(tiny_splits, tmp_path):
    seen: list[ev.Event] = []
    result = train(TrainConfig(**ON_GPU), tiny_splits, seen.append, checkpoint_dir=tmp_path)
    started = seen[0]
    assert isinstance(started, ev.RunStarted) and started.device.startswith(DEVICE)
    assert result.test_accuracy > 0.9
    on_cpu = load_model(tmp_path / "best.pt", "cpu")  # a GPU run looked at on a laptop
    assert next(on_cpu.parameters()).device.type == "cpu"
    assert evaluate(on_cpu, tiny_splits.test).accuracy > 0.9


def _first_losses_and_accuracy(splits, **settings) -> tuple[list[float], float]:
    seen: list[ev.Event] = []
    result = train(TrainConfig(**settings), splits, seen.append)
    # the gradients measured as it trains are the replayed step's own
    measured = [e for e in seen if isinstance(e, ev.GradientsMeasured)]
    assert measured and all(g > 0 for e in measured for g in e.gradient_norms)
    return [e.loss for e in seen if isinstance(e, ev.BatchTrained)][:10], result.test_accuracy


def test_a_step_replayed_as_a_cuda_graph_learns_as_the_eager_step_does(tiny_splits):
    # batches of 48 leave a smaller last batch each epoch: the eager step between replays;
    # one-cycle moves the learning rate every batch, which the graph must follow
    settings = dict(ON_GPU, batch_size=48, schedule="onecycle", label_smoothing=0.05)
    graphed, graphed_accuracy = _first_losses_and_accuracy(tiny_splits, **settings)
    eager, eager_accuracy = _first_losses_and_accuracy(tiny_splits, **settings, cuda_graphs=False)
    # the first batch sees the initial weights: the graph's warm-up steps were undone
    assert graphed[0] == pytest.approx(eager[0], abs=1e-4)
    assert graphed == pytest.approx(eager, abs=0.02)
    assert abs(graphed_accuracy - eager_accuracy) <= 0.05 and graphed_accuracy > 0.9


def test_a_gpu_run_stopped_midway_resumes_where_it_stopped(tiny_splits, tmp_path):
    # batches of 5: an epoch is longer than the GPU's run of batches between two reads of
    # the losses, whose events (and so this test's stop) come in bursts
    config = TrainConfig(**{**ON_GPU, "batch_size": 5})
    whole = train(config, tiny_splits, checkpoint_dir=tmp_path / "whole")
    stopper = CancelAfter(40)
    part = train(config, tiny_splits, stopper, stopper.flag, checkpoint_dir=tmp_path / "split")
    assert part.stopped
    saved = load_checkpoint(tmp_path / "split" / "last.pt")["progress"]
    assert saved["batch"] > 0  # stopped inside an epoch
    resumed_events: list[ev.Event] = []
    resumed = train(
        config, tiny_splits, resumed_events.append, checkpoint_dir=tmp_path / "split", resume=True
    )
    first_batch = next(e for e in resumed_events if isinstance(e, ev.BatchTrained))
    assert (first_batch.epoch, first_batch.batch) == (saved["epoch"] + 1, saved["batch"] + 1)
    # cuDNN's kernels need not be bitwise repeatable: the same run, give or take rounding
    assert abs(resumed.test_accuracy - whole.test_accuracy) <= 0.05


def test_defended_training_on_the_gpu_reports_robust_accuracy(tiny_splits):
    seen: list[ev.Event] = []
    config = TrainConfig(**ON_GPU, adversarial="fgsm-rs", eps=0.1, eps_warmup=0)
    result = train(config, tiny_splits, seen.append)
    epochs = [e for e in seen if isinstance(e, ev.EpochEvaluated)]
    assert len(epochs) == 3 and all(e.robust_val_accuracy is not None for e in epochs)
    assert result.test_accuracy > 0.8


def _worst(home, run_id, device, capsys) -> float:
    argv = ["--home", str(home), "robustness", run_id, "--attack", "worst", "--eps", "0.1",
            "--limit", "100", "--queries", "200", "--targets", "2", "--device", device, "--json"]  # fmt: skip
    assert main(argv) == 0
    (point,) = json.loads(capsys.readouterr().out)
    return point["accuracy"]


def test_the_robustness_command_attacks_on_the_gpu_and_agrees_with_the_cpu(trained_home, capsys):
    run_id = runs.find_run(trained_home, "latest").name
    on_gpu = _worst(trained_home, run_id, DEVICE, capsys)
    on_cpu = _worst(trained_home, run_id, "cpu", capsys)
    # the same attacks from the same starts; only rounding may tip an image either way
    assert abs(on_gpu - on_cpu) <= 0.03


def test_a_gpu_study_trains_several_runs_at_once(home, tiny_folder, capsys):
    argv = ["study", "gpu", "--seeds", "0-3", "--data", str(tiny_folder), *TINY_CLI, "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["runs"].values()) == ["finished"] * 4
    cores = usable_cores()
    threads = set()
    for run_dir in runs.list_runs(home):
        (start,) = [e for e in runs.read_events(run_dir) if isinstance(e, ev.RunStarted)]
        threads.add(start.threads)
    # a GPU with room for all four and enough cores: four at once, the cores shared; a CPU
    # trains one at a time with every core
    at_once = min(4, cores) if DEVICE == "cuda" else 1
    assert threads == {max(1, cores // at_once)}
