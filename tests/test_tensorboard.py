"""TensorBoard logs, written by TensorBoard's own writer and read back by its own reader
(EventAccumulator): live beside a training run, and exported afterwards from a run's log —
the same numbers as `runs --json`, a histogram per layer at every moment the run kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import runs
from engine.runs import snapshots
from tests.optional import needs
from tui.cli.main import main


def read_back(folder: Path):
    needs("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    every = {"scalars": 0, "histograms": 0, "images": 0, "tensors": 0}
    accumulator = EventAccumulator(str(folder), size_guidance=every)
    accumulator.Reload()
    return accumulator


def listed(home: Path, capsys) -> dict:
    capsys.readouterr()
    assert main(["--home", str(home), "runs", "--json"]) == 0
    return {entry["id"]: entry for entry in json.loads(capsys.readouterr().out)}


@pytest.fixture(scope="module")
def live(tmp_path_factory, tiny_folder):
    needs("tensorboard")
    root = tmp_path_factory.mktemp("tb")
    home, logs = root / "home", root / "logs"
    assert main(["--home", str(home), "train", "--data", str(tiny_folder), "--epochs", "2",
                 "--batch-size", "20", "--lr", "0.05", "--device", "cpu",
                 "--tensorboard", str(logs)]) == 0  # fmt: skip
    return home, logs, runs.find_run(home, "latest")


def test_a_run_writes_its_tensorboard_logs_live_with_the_runs_numbers(live, capsys):
    home, logs, run_dir = live
    logged = read_back(logs / run_dir.name)
    entry = listed(home, capsys)[run_dir.name]
    (test,) = logged.Scalars("accuracy/test")
    assert test.value == pytest.approx(entry["test_accuracy"], abs=1e-6)
    validation = [s.value for s in logged.Scalars("accuracy/validation")]
    assert len(validation) == 2 and max(validation) == pytest.approx(entry["best_val_accuracy"])
    batches = [e for e in runs.read_events(run_dir) if type(e).__name__ == "BatchTrained"]
    assert [s.step for s in logged.Scalars("loss/train")] == [e.step for e in batches]
    assert [s.value for s in logged.Scalars("learning rate")] == pytest.approx(
        [e.lr for e in batches]
    )
    kept = snapshots.moments(run_dir)
    for layer in ("conv1", "conv2", "fc1", "fc2"):
        assert len(logged.Histograms(f"weights/{layer}")) == len(kept)
        assert len(logged.Histograms(f"gradients/{layer}")) == len(kept)
    assert logged.Tags()["images"] == ["test digits (true → predicted)"]
    assert logged.Scalars("hparam/test_accuracy")[0].value == pytest.approx(entry["test_accuracy"])


def test_export_writes_the_same_curves_from_the_log(live, tmp_path, capsys):
    home, logs, run_dir = live
    assert main(["--home", str(home), "export", run_dir.name, "--tensorboard",
                 str(tmp_path / "out")]) == 0  # fmt: skip
    assert "tensorboard --logdir" in capsys.readouterr().out
    exported, written = read_back(tmp_path / "out" / run_dir.name), read_back(logs / run_dir.name)
    for tag in ("loss/train", "accuracy/validation", "accuracy/test", "learning rate"):
        assert [(s.step, s.value) for s in exported.Scalars(tag)] == [
            (s.step, s.value) for s in written.Scalars(tag)], tag  # fmt: skip
    assert [h.step for h in exported.Histograms("weights/fc1")] == [
        h.step for h in written.Histograms("weights/fc1")]  # fmt: skip


def test_an_imported_run_exports_its_one_moment(trained_home, tmp_path, capsys):
    import torch

    weights = tmp_path / "weights.pt"
    torch.save(runs.load_run_model(runs.find_run(trained_home, "latest")).state_dict(), weights)
    home = tmp_path / "home"
    data = runs.read_config(runs.find_run(trained_home, "latest")).data
    assert main(["--home", str(home), "import", str(weights), "--model", "convnet", "--data",
                 data]) == 0  # fmt: skip
    run_dir = runs.find_run(home, "latest")
    assert main(["--home", str(home), "export", run_dir.name, "--tensorboard",
                 str(tmp_path / "out")]) == 0  # fmt: skip
    logged = read_back(tmp_path / "out" / run_dir.name)
    entry = listed(home, capsys)[run_dir.name]
    assert logged.Scalars("accuracy/test")[0].value == pytest.approx(entry["test_accuracy"])
    assert len(logged.Histograms("weights/conv1")) == 1


def test_a_logs_folder_that_cannot_be_written_is_one_line_before_anything_starts(
    tiny_folder, tmp_path, capsys
):
    needs("tensorboard")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    home = tmp_path / "home"
    assert main(["--home", str(home), "train", "--data", str(tiny_folder), "--epochs", "1",
                 "--device", "cpu", "--tensorboard", str(blocker / "logs")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a-file" in err[0]
    assert not runs.runs_folder(home).exists() or not list(runs.runs_folder(home).iterdir())
