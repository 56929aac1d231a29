"""Training through time: a run keeps its weights at each epoch's end and a few early
moments, any analysis looks at any of them, a resumed run continues the series, the app
steps through them, and a missing or damaged snapshot is one line."""

from __future__ import annotations

import asyncio
import json

import pytest
import torch

from engine import runs
from engine.config import TrainConfig
from engine.runs import snapshots
from engine.training.loop import train
from tests.app_setup import text_of, tiny_app, wait_for
from tui.cli.main import main

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
    assert main(["--home", str(home), "summary", run_dir.name, "--epoch", "2"]) == 0
    assert "weights at epoch:2" in capsys.readouterr().out
    assert main(["--home", str(home), "filters", run_dir.name, "--at", "batch:50"]) == 2
    err = capsys.readouterr().err
    assert (
        "kept no snapshot at batch:50 (it has: start, batch:10, epoch:1, epoch:2, epoch:3)" in err
    )
    damaged = run_dir / "snapshots" / "epoch-2.pt"
    sound = damaged.read_bytes()
    damaged.write_bytes(b"not a checkpoint")
    assert main(["--home", str(home), "filters", run_dir.name, "--epoch", "2"]) == 2
    err = capsys.readouterr().err
    assert "epoch-2.pt: cannot be loaded" in err and len(err.strip().splitlines()) == 1
    damaged.write_bytes(sound)  # the other tests share this run


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


async def open_filters(app, pilot):
    """The filters screen, once its first picture is drawn; its title."""
    from textual.widgets import Static

    await pilot.press("6")
    title = app.screen.query_one("#filters-title", Static)
    assert await wait_for(pilot, lambda: "conv1: 32 filters" in text_of(title))
    return title


def test_the_app_steps_the_pictures_through_the_moments(kept, tiny_folder):
    home, run_dir = kept

    async def scenario():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await open_filters(app, pilot)
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


def test_histograms_at_a_moment_and_through_every_moment(kept, capsys):
    home, run_dir = kept
    argv = ["--home", str(home), "histograms", run_dir.name]
    assert main([*argv, "--at", "start", "--json"]) == 0
    start = json.loads(capsys.readouterr().out)
    assert main([*argv, "--epoch", "3", "--json"]) == 0
    third = json.loads(capsys.readouterr().out)
    assert [layer["layer"] for layer in start["layers"]] == ["conv1", "conv2", "fc1", "fc2"]
    assert start["loss"] > third["loss"]  # the probe's loss fell as the run learned
    conv1 = third["layers"][0]
    assert sum(conv1["weights"]["counts"]) == 32 * 9  # every weight of conv1 in a bin
    assert conv1["weights"] != start["layers"][0]["weights"]
    assert main([*argv, "--through", "--json"]) == 0
    through = json.loads(capsys.readouterr().out)
    assert [m["moment"] for m in through] == [*snapshots.moments(run_dir), "best"]
    assert main([*argv, "--through"]) == 0
    table = capsys.readouterr().out
    assert "batch:10" in table and "fc2" in table
    assert main([*argv, "--layer", "pool1"]) == 2
    assert "not a weighted layer of this network (it has conv1, conv2, fc1, fc2)" in (
        capsys.readouterr().err
    )


def test_a_vanishing_or_exploding_gradient_is_said_with_the_layer():
    from engine.inside.histograms import Histogram, Histograms, LayerSpread, judge

    flat = Histogram([1], 0.0, 1.0)

    def spread(name, weight_norm, gradient_norm):
        return LayerSpread(name, "conv", flat, flat, weight_norm, gradient_norm)

    fine = Histograms([spread("conv1", 1.0, 0.01), spread("fc", 1.0, 0.02)], 8, 0.5)
    assert fine.warnings() == []
    vanishing = Histograms([spread("conv1", 1.0, 1e-7), spread("fc", 1.0, 0.02)], 8, 0.5)
    (said,) = vanishing.warnings()
    assert said.startswith("conv1: vanishing") and "200,000 times smaller" in said
    exploding = Histograms([spread("conv1", 1.0, 0.01), spread("fc", 0.2, 5.0)], 8, 0.5)
    assert exploding.warnings() == [
        "fc: exploding — its gradient (5) is over 10 times its weights (0.2): a step at lr 0.1"
        " would move the layer by more than its own size"
    ]
    assert judge(["fc"], [0.2], [5.0], lr=0.001) == []  # at a small rate the step is small
    dead = Histograms([spread("conv1", 1.0, 0.0), spread("fc", 1.0, 0.02)], 8, 2.3)
    assert dead.warnings()[0].startswith("conv1: vanishing — its gradient is zero")
    # (a run whose layer had died once failed on this: a warning must never stop training)
    broken = Histograms([spread("conv1", 1.0, float("nan"))], 8, float("nan"))
    assert "not a number" in broken.warnings()[0]


def test_runs_say_how_much_disk_each_takes(kept, capsys):
    home, run_dir = kept
    assert main(["--home", str(home), "runs", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    on_disk = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
    assert listed["disk_bytes"] == on_disk and on_disk > 5 * 3_000  # the 5 snapshots counted


def test_the_app_plays_the_moments_and_can_hold_one_colour_scale(kept, tiny_folder):
    from textual.widgets import Static

    home, run_dir = kept

    async def scenario():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            title = await open_filters(app, pilot)
            await pilot.press("f")
            assert await wait_for(pilot, lambda: "the whole series" in text_of(title))
            app.screen.PLAY_SECONDS = 1.0
            await pilot.press("space")  # from the best checkpoint: back to the first moment
            assert app.moment in ("start", "batch:10")  # (a step may have played already)
            seen = set()
            assert await wait_for(pilot, lambda: seen.add(app.moment) or app.moment is None)
            assert {"batch:10", "epoch:2"} <= seen  # it went through them to the end
            assert await wait_for(pilot, lambda: app.screen._playing is None)  # stops there
            await pilot.press("escape", "h")  # the histograms screen steps the same way
            table = app.screen.query_one("#histograms", Static)
            assert await wait_for(pilot, lambda: "conv1" in text_of(table))
            await pilot.press("comma")
            assert await wait_for(
                pilot, lambda: "epoch:3 — " in text_of(app.screen.query_one("#histograms-title"))
            )
            await pilot.press("t")  # every moment's gradient sizes under the histograms
            assert await wait_for(pilot, lambda: "batch:10" in text_of(table))

    asyncio.run(scenario())


def test_a_training_run_measures_each_layers_gradient_as_it_goes(tiny_splits):
    from engine import events as ev
    from engine.runs.state import fold
    from engine.training.loop import GRADIENTS_EVERY

    seen: list[ev.Event] = []
    train(TrainConfig(epochs=1, batch_size=5, lr=0.05, device="cpu"), tiny_splits, seen.append)
    measured = [e for e in seen if isinstance(e, ev.GradientsMeasured)]
    assert [e.step for e in measured] == [1, 1 + GRADIENTS_EVERY]  # 72 batches of 5
    first = measured[0]
    assert first.layers == ["conv1", "conv2", "fc1", "fc2"]
    assert all(g > 0 for g in first.gradient_norms) and all(w > 0 for w in first.weight_norms)
    # right after the event of its batch: the views show it beside that batch's loss
    batch_event = seen[seen.index(first) - 1]
    assert isinstance(batch_event, ev.BatchTrained) and batch_event.step == first.step
    state = fold(seen)
    assert state.gradients == measured[-1] and state.gradient_warnings == {}
    warned = ev.GradientsMeasured(1, 2, 2, ["fc"], [9.0], [0.1], ["fc: exploding — ..."])
    state.add(warned)
    state.add(warned)
    assert state.gradient_warnings == {"fc: exploding": "fc: exploding — ..."}  # once
