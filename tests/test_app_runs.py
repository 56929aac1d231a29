"""The app and the run folders under it changing while it is open: damaged, copied and
deleted runs, a worker killed mid-run, a checkpoint rewritten under an analysis."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal

import pytest
import torch
from textual.widgets import DataTable, Static

from engine import runs
from engine.models.checkpoints import save_checkpoint
from engine.models.zoo import build_model
from engine.runs import process as run_process
from tests.app_setup import long_run_app, start_from_form, text_of, tiny_app, wait_for


def run(coroutine):
    return asyncio.run(coroutine)


def status(app) -> str:
    return " ".join(text_of(s) for s in app.screen.query(".status"))


def rows_by_id(table: DataTable) -> dict[str, str]:
    """The home table's runs (their ids are the row keys) with their status."""
    labels = [str(c.label) for c in table.columns.values()]
    status = labels.index("status")
    return {key.value: table.get_row(key)[status] for key in table.rows}


def home_with_copies(trained_home, tmp_path):
    """A home with the trained run, a backup copy of it, and a copy with a broken config."""
    home = tmp_path / "home"
    source = runs.find_run(trained_home, "latest")
    folder = runs.runs_folder(home)
    shutil.copytree(source, folder / source.name)
    shutil.copytree(source, folder / f"{source.name}-backup")
    damaged = folder / f"{source.name}-damaged"
    shutil.copytree(source, damaged)
    (damaged / runs.CONFIG).write_text("[]")
    return home, source.name


def test_damaged_copied_and_deleted_runs_in_the_open_app(trained_home, tiny_folder, tmp_path):
    home, name = home_with_copies(trained_home, tmp_path)

    async def scenario():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.query_one("#runs", DataTable)
            assert await wait_for(pilot, lambda: table.row_count == 3)
            assert rows_by_id(table) == {
                name: "finished",
                f"{name}-backup": "finished",
                f"{name}-damaged": "damaged",
            }
            note = text_of(app.screen.query_one("#run-note", Static))
            assert f"damaged: {name}-damaged" in note and "config.json" in note

            # a backup made while the app is open: listed under its own name, no crash
            shutil.copytree(runs.runs_folder(home) / name, runs.runs_folder(home) / f"{name}-again")
            assert await wait_for(pilot, lambda: table.row_count == 4, 10)

            # Enter on the damaged run says why instead of opening it
            damaged_row = list(rows_by_id(table)).index(f"{name}-damaged")
            table.focus()
            table.move_cursor(row=damaged_row)
            await pilot.press("enter")
            assert type(app.screen).__name__ == "HomeScreen"

            # Enter on a run deleted after the list was read: a notice, no crash
            shutil.rmtree(runs.runs_folder(home) / f"{name}-backup")
            deleted_row = list(rows_by_id(table)).index(f"{name}-backup")
            table.move_cursor(row=deleted_row)
            await pilot.press("enter")
            assert type(app.screen).__name__ == "HomeScreen"
            assert any("gone" in str(n.message) for n in app._notifications)

            # the runs screen lists them too; picking the damaged one for analyses is refused
            await pilot.press("3")
            all_runs = app.screen.query_one("#all-runs", DataTable)
            assert await wait_for(pilot, lambda: all_runs.row_count == 3)
            ids = [str(all_runs.get_row_at(i)[1]) for i in range(3)]
            all_runs.move_cursor(row=ids.index(f"{name}-damaged"))
            await pilot.press("s")
            assert "is damaged" in status(app)
            assert app.selected_run is None
        assert app.return_code in (None, 0)

    run(scenario())


def test_a_killed_worker_shows_as_failed(home, tiny_folder):
    async def scenario():
        app = long_run_app(home, tiny_folder)
        async with app.run_test(size=(120, 50)) as pilot:
            screen = await start_from_form(pilot, app)
            pid = run_process.read_claimant(screen.run_dir).pid
            os.kill(pid, signal.SIGKILL)  # as the OOM killer would
            assert await wait_for(pilot, lambda: screen.follower.over, 5)
            assert "run failed: the process ended without finishing the run" in status(app)
            run_id = screen.run_id
            await pilot.press("escape")
            table = app.screen.query_one("#runs", DataTable)
            assert await wait_for(pilot, lambda: list(rows_by_id(table).values()) == ["failed"])
        return run_id

    run_id = run(scenario())
    assert runs.summarize(runs.find_run(home, run_id)).status == "failed"


def test_stop_right_after_start_never_leaves_a_run_running(home, tiny_folder):
    async def scenario():
        app = long_run_app(home, tiny_folder)
        async with app.run_test(size=(120, 50)) as pilot:
            screen = await start_from_form(pilot, app, until_batch=False)
            await pilot.press("x")  # before the worker has even imported torch
            assert await wait_for(pilot, lambda: screen.follower.over, 30)
            return screen.follower.status

    assert run(scenario()) == "stopped"  # the stop waited for the worker, never killed it
    assert runs.summarize(runs.list_runs(home)[0]).status == "stopped"


def test_x_pressed_while_the_run_starts_is_not_lost(home, tiny_folder):
    async def scenario():
        app = long_run_app(home, tiny_folder)
        async with app.run_test(size=(120, 50)) as pilot:
            await pilot.press("1", "ctrl+s", "x")  # before the run's folder even exists
            screen = app.screen
            assert await wait_for(pilot, lambda: screen.follower is not None, 60)
            assert await wait_for(pilot, lambda: screen.follower.over, 60)
            return screen.follower.status

    assert run(scenario()) == "stopped"


def test_a_resumed_run_is_followed_and_stopped_like_a_new_one(home, tiny_folder):
    async def scenario():
        app = long_run_app(home, tiny_folder)
        async with app.run_test(size=(120, 50)) as pilot:
            screen = await start_from_form(pilot, app)
            await pilot.press("x")
            assert await wait_for(pilot, lambda: screen.follower.over, 60)
            assert screen.follower.status == "stopped"
            assert "r resumes it" in text_of(screen.query_one("#train-title", Static))
            await pilot.press("r")
            assert await wait_for(pilot, lambda: not screen.follower.over, 30)
            batches = len(screen.follower.state.steps)
            assert await wait_for(pilot, lambda: len(screen.follower.state.steps) > batches, 60)
            assert "x stops it" in text_of(screen.query_one("#train-title", Static))
            assert screen.check_action("stop", ()) and not screen.check_action("resume", ())
            await pilot.press("x")  # the second stop works as the first did
            assert await wait_for(pilot, lambda: screen.follower.over, 60)
            assert screen.follower.status == "stopped"
            assert "stopped" in status(app) and "r resumes it" in status(app)
            return screen.run_dir

    run_dir = run(scenario())
    assert runs.summarize(run_dir).status == "stopped"


def test_an_analysis_picks_up_a_rewritten_checkpoint(trained_home, tiny_folder, tmp_path):
    home, name = home_with_copies(trained_home, tmp_path)
    run_dir = runs.runs_folder(home) / name

    def right_on_page(app) -> int:
        return int(status(app).split("/")[0])

    async def scenario():
        app = tiny_app(home, tiny_folder)
        app.selected_run = name
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("5")
            assert await wait_for(pilot, lambda: "right on this page" in status(app))
            before = right_on_page(app)
            assert before >= 8  # the trained model gets the tiny digits right
            # the run trains on and writes a new best.pt: here, one that always says 0
            model = build_model("convnet")
            with torch.no_grad():
                model.fc2.bias.copy_(torch.tensor([100.0] + [0.0] * 9))
            save_checkpoint(
                run_dir / runs.BEST, {"model_name": "convnet", "model": model.state_dict()}
            )
            await pilot.press("p")  # any page turn asks for the model again
            assert await wait_for(
                pilot, lambda: "right on this page" in status(app) and right_on_page(app) < before
            )

    run(scenario())


def test_the_runs_table_keeps_status_and_test_accuracy_when_narrow():
    from tui.draw.tables import run_columns

    for width in (40, 60, 80):  # the home's runs panel is 40 cells at 80 columns
        labels = [label for label, _, _ in run_columns(width)]
        assert {"run", "status", "test acc"} <= set(labels), width
        assert sum(cells + 2 for _, cells, _ in run_columns(width)) <= width
    assert [label for label, _, _ in run_columns(80)] == [
        "run",
        "model",
        "status",
        "epoch",
        "best val",
        "test acc",
        "train s",
    ]
    # the defence and robust accuracy join where a run is defended, labelled as in the CLI
    assert "robust val" in [label for label, _, _ in run_columns(100, defended=True)]


def test_runs_are_named_deleted_and_the_pick_remembered(trained_home, tiny_folder, tmp_path):
    home, name = home_with_copies(trained_home, tmp_path)

    async def scenario():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("3")
            table = app.screen.query_one("#all-runs", DataTable)
            assert await wait_for(pilot, lambda: table.row_count == 3)
            ids = [str(table.get_row_at(i)[1]) for i in range(3)]
            table.move_cursor(row=ids.index(name))
            await pilot.press("s")  # picked for the analyses
            await pilot.press("N")
            await pilot.press(*"baseline", "enter")
            assert await wait_for(
                pilot, lambda: runs.read_name(runs.runs_folder(home) / name) == "baseline"
            )
            table.move_cursor(row=ids.index(f"{name}-backup"))
            await pilot.press("D", "n")  # asked, and said no
            assert (runs.runs_folder(home) / f"{name}-backup").is_dir()
            await pilot.press("D", "y")
            assert await wait_for(pilot, lambda: table.row_count == 2)
            assert not (runs.runs_folder(home) / f"{name}-backup").exists()

    run(scenario())

    async def reopen():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.2)
            return app.selected_run

    assert run(reopen()) == name  # remembered from the last session


def test_a_name_that_looks_like_markup_is_shown_as_typed(trained_home, tiny_folder, tmp_path):
    """`[/]` typed into the N dialog once made the app exit; a refused name is one line."""
    home, name = home_with_copies(trained_home, tmp_path)

    async def scenario():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("3")
            table = app.screen.query_one("#all-runs", DataTable)
            assert await wait_for(pilot, lambda: table.row_count == 3)
            ids = [str(table.get_row_at(i)[1]) for i in range(3)]
            table.move_cursor(row=ids.index(name))
            await pilot.press("N", *"[/]", "enter")
            assert await wait_for(
                pilot, lambda: runs.read_name(runs.runs_folder(home) / name) == "[/]"
            )
            assert await wait_for(
                pilot, lambda: "[/]" in [str(table.get_row_at(i)[1]) for i in range(3)]
            )
            table.move_cursor(row=ids.index(f"{name}-backup"))
            await pilot.press("N", *"[/]", "enter")  # the same name again: refused
            assert await wait_for(pilot, lambda: "already called" in status(app))
            assert app.is_running

    run(scenario())


@pytest.mark.parametrize(
    ("done", "total"), [(0, 540), (1, 540), (270, 540), (271, 540), (539, 540), (540, 540), (3, 15)]
)
def test_the_live_progress_bars_look_like_richs(done, total):
    """The training view draws its bars as Text (cheaper to redraw every second); they show
    the same characters and colours as Rich's ProgressBar, and without colour leave the
    undone part blank as Rich does."""
    from rich.console import Console
    from rich.progress_bar import ProgressBar

    from tui.draw.tables import bar_line

    for colour in (True, False):
        console = Console(width=80, color_system="truecolor" if colour else None,
                          no_color=not colour, file=open(os.devnull, "w"))  # noqa: SIM115  # fmt: skip
        ours = bar_line("epochs", done, total, colour=colour)
        assert ours.plain.startswith("epochs ") and ours.plain.endswith(f" {done}/{total}")
        bar = _cells(console, ProgressBar(total, done, width=50))
        assert _cells(console, ours)[7 : 7 + len(bar)] == bar


def _cells(console, renderable) -> list:
    """Each character a console draws, with its colour."""
    return [(ch, seg.style.color if seg.style else None)
            for seg in console.render(renderable) for ch in seg.text if ch != "\n"]  # fmt: skip
