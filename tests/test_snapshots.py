"""Snapshot tests of the screens at a fixed size (pytest-textual-snapshot), on a recorded run
and a seeded untrained model, so every pixel is the same on every machine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from engine.config import TrainConfig
from engine.models.checkpoints import save_checkpoint
from engine.models.zoo import build_model
from tests.app_setup import text_of, tiny_app, wait_for
from tui.screens.train import TrainScreen

RUN_ID = "20260101-120000-convnet-demo"
RECORDED = Path(__file__).parent / "data" / "recorded_run.jsonl"
SIZE = (110, 36)


@pytest.fixture()
def snapshot_home(tmp_path, tiny_folder) -> Path:
    """A home with one recorded, finished run whose best.pt is a seeded untrained convnet."""
    home = tmp_path / "home"
    run_dir = home / "runs" / RUN_ID
    run_dir.mkdir(parents=True)
    config = TrainConfig(epochs=3, batch_size=20, lr=0.05, device="cpu", data=str(tiny_folder))
    (run_dir / "config.json").write_text(json.dumps(config.to_dict()))
    (run_dir / "events.jsonl").write_text(RECORDED.read_text())
    torch.manual_seed(0)
    save_checkpoint(run_dir / "best.pt", {"model_name": "convnet", "model": build_model("convnet").state_dict(),
                                          "epoch": 2, "val_accuracy": 1.0})  # fmt: skip
    return home


def test_home_screen(snap_compare, snapshot_home, tiny_folder):
    app = tiny_app(snapshot_home, tiny_folder)

    async def loaded(pilot):
        table = app.screen.query_one("#runs")
        assert await wait_for(pilot, lambda: table.row_count == 1)

    assert snap_compare(app, terminal_size=SIZE, run_before=loaded)


def test_train_screen_replaying_a_recorded_run(snap_compare, snapshot_home, tiny_folder):
    app = tiny_app(snapshot_home, tiny_folder)

    async def replayed(pilot):
        await app.push_screen(TrainScreen(run_id=RUN_ID))
        assert await wait_for(pilot, lambda: app.screen.query_one("#epoch-table").row_count == 3)
        for chart in app.screen.query("ChartView"):
            assert await wait_for(pilot, lambda chart=chart: chart.redraws > 0)

    assert snap_compare(app, terminal_size=(110, 60), run_before=replayed)


def test_architecture_screen(snap_compare, snapshot_home, tiny_folder):
    app = tiny_app(snapshot_home, tiny_folder)

    async def loaded(pilot):
        await pilot.press("4")
        status = lambda: text_of(app.screen.query_one(".status")).strip()  # noqa: E731
        # the table, its title and the status are filled in one call once the worker is done;
        # a failure says what the screen showed instead of only "the picture differs"
        shown = await wait_for(pilot, lambda: status().startswith("m: the next of"))
        assert shown, f"the architecture screen still says {status()!r}"
        assert app.screen.query_one("#layers").row_count == 8
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=loaded)


def test_occlusion_screen(snap_compare, snapshot_home, tiny_folder):
    app = tiny_app(snapshot_home, tiny_folder)

    async def loaded(pilot):
        await pilot.press("7")
        readout = app.screen.query_one("#occ-readout")
        assert await wait_for(pilot, lambda: "cell (" in text_of(readout))
        await pilot.press("right", "down")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=loaded)
