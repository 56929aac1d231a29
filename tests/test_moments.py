"""Training through time: a run keeps its weights at each epoch's end and a few early
moments, any analysis looks at any of them, a resumed run continues the series, the app
steps through them, and a missing or damaged snapshot is one line."""

from __future__ import annotations

import asyncio
import json

import pytest
import torch

from engine import runs, snapshots
from engine.config import TrainConfig
from engine.training import train
from tests.app_setup import text_of, tiny_app, wait_for
from tui.cli import main

TINY = {"epochs": 3, "batch_size": 20, "lr": 0.05, "device": "cpu"}


@pytest.fixture(scope="module")
def kept(tmp_path_factory, tiny_folder):
    home = tmp_path_factory.mktemp("moments") / "home"
    code = main(["--home", str(home), "train", "--data", str(tiny_folder), "--epochs", "3",
                 "--batch-size", "20", "--lr", "0.05", "--device", "cpu"])  # fmt: skip
    assert code == 0
    return home, runs.find_run(home, "latest")


def filters_at(home, run_dir, capsys, *moment: str):
    assert main(["--home", str(home), "filters", run_dir.name, *moment, "--json"]) == 0
    return json.loads(capsys.readouterr().out)["weights"]


def test_a_run_keeps_its_moments_and_every_analysis_reads_them(kept, capsys):
    home, run_dir = kept
    # 360 training images in batches of 20: 18 a epoch, so batch 10 but not 50 or 200
    assert snapshots.moments(run_dir) == ["start", "batch:10", "epoch:1", "epoch:2", "epoch:3"]
    first = filters_at(home, run_dir, capsys, "--epoch", "1")
    third = filters_at(home, run_dir, capsys, "--epoch", "3")
    assert first != third
    assert third == filters_at(home, run_dir, capsys, "--checkpoint", "last")
    assert filters_at(home, run_dir, capsys, "--at", "start") != first
    assert main(["--home", str(home), "occlude", run_dir.name, "--at", "batch:10", "--json"]) == 0
    capsys.readouterr()
    assert main(["--home", str(home), "filters", run_dir.name, "--at", "batch:50"]) == 2
    err = capsys.readouterr().err
    assert (
        "kept no snapshot at batch:50 (it has: start, batch:10, epoch:1, epoch:2, epoch:3)" in err
    )
    (run_dir / "snapshots" / "epoch-2.pt").write_bytes(b"not a checkpoint")
    assert main(["--home", str(home), "filters", run_dir.name, "--epoch", "2"]) == 2
    err = capsys.readouterr().err
    assert "epoch-2.pt: cannot be loaded" in err and len(err.strip().splitlines()) == 1


def test_a_resumed_run_continues_the_series_and_none_keeps_none(tmp_path, tiny_splits):
    class StopAfter:
        def __init__(self, batches):
            self.batches, self.seen = batches, 0

        def is_set(self):
            self.seen += 1
            return self.seen > self.batches

    folder = tmp_path / "run"
    first = train(TrainConfig(**TINY), tiny_splits, cancel=StopAfter(25), checkpoint_dir=folder)
    assert first.stopped
    assert snapshots.moments(folder) == ["start", "batch:10", "epoch:1"]
    train(TrainConfig(**TINY), tiny_splits, checkpoint_dir=folder, resume=True)
    assert snapshots.moments(folder) == ["start", "batch:10", "epoch:1", "epoch:2", "epoch:3"]
    whole = tmp_path / "whole"
    train(TrainConfig(**TINY), tiny_splits, checkpoint_dir=whole)
    for name in ("epoch-3.pt", "batch-10.pt"):
        a = torch.load(folder / "snapshots" / name, weights_only=True)["model"]
        b = torch.load(whole / "snapshots" / name, weights_only=True)["model"]
        assert all(torch.equal(a[k], b[k]) for k in a)  # the same series, resumed or not
    none = tmp_path / "none"
    train(TrainConfig(**TINY, snapshots="none"), tiny_splits, checkpoint_dir=none)
    assert snapshots.moments(none) == [] and not (none / "snapshots").exists()
    epochs = tmp_path / "epochs"
    train(TrainConfig(**TINY, snapshots="epochs"), tiny_splits, checkpoint_dir=epochs)
    assert snapshots.moments(epochs) == ["epoch:1", "epoch:2", "epoch:3"]


def test_deleting_a_run_removes_its_snapshots(tmp_path, tiny_folder):
    home = tmp_path / "home"
    assert main(["--home", str(home), "train", "--data", str(tiny_folder), "--epochs", "1",
                 "--batch-size", "20", "--device", "cpu"]) == 0  # fmt: skip
    run_dir = runs.find_run(home, "latest")
    assert snapshots.moments(run_dir)
    assert main(["--home", str(home), "delete", run_dir.name, "--yes"]) == 0
    assert not run_dir.exists()


def test_the_app_steps_the_pictures_through_the_moments(kept, tiny_folder):
    from textual.widgets import Static

    home, run_dir = kept

    async def scenario():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("6")
            title = app.screen.query_one("#filters-title", Static)
            assert await wait_for(pilot, lambda: "conv1: 32 filters" in text_of(title))
            await pilot.press("comma")
            assert app.sub_title == "weights at epoch:3"
            await pilot.press(*["comma"] * 5)  # no earlier than the start
            assert app.sub_title == "weights at start" and app.moment == "start"
            await pilot.press("escape", "7")  # the occlusion screen looks at the same moment
            assert await wait_for(
                pilot, lambda: "patch" in text_of(app.screen.query_one("#occ-title"))
            )
            await pilot.press("full_stop")
            assert app.moment == "batch:10"
            await pilot.press(*["full_stop"] * 6)  # back to the best checkpoint
            assert app.moment is None and app.sub_title == ""

    asyncio.run(scenario())
