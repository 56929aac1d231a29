"""The app's view beyond the clean test set: t on the home opens it at 80x24; m, l, t, s
and p draw corruptions, calibration, turned and shifted digits and proof for the analysed
run, each as its command draws it; a bad option typed after o is one line in sight."""

from __future__ import annotations

import asyncio

import pytest

from tests.app_setup import screen_lines, tiny_app, wait_for

pytest.importorskip("skimage")


def test_each_view_draws_its_command_in_sight(trained_home, tiny_folder):
    def shown(app) -> str:
        return "\n".join(screen_lines(app))

    async def scenario() -> dict[str, str]:
        app = tiny_app(trained_home, tiny_folder)
        seen = {}
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("t")
            for key, words in (("l", "ECE"), ("m", "shot_noise"), ("t", "degrees"),
                               ("s", "pixels"), ("p", "proven robust")):  # fmt: skip
                await pilot.press(key)
                assert await wait_for(pilot, lambda w=words: w in shown(app), 60), (key, shown(app))
                seen[key] = shown(app)
            await pilot.press("o")
            await pilot.pause(0.2)
            field = app.screen.query_one("#beyond-options")
            field.value = "--eps 7"
            await pilot.press("enter")
            assert await wait_for(pilot, lambda: "7 is not a number" in shown(app), 30)
            seen["bad"] = shown(app)
        return seen

    seen = asyncio.run(scenario())
    for key, screen in seen.items():
        assert "q Quit" in screen.splitlines()[-1] and "? Keys" in screen.splitlines()[-1], key
        assert "Traceback" not in screen
    assert "mnist-tui calibration" in seen["l"]


def test_the_ensemble_view_averages_the_runs_side_by_side(trained_home, tiny_folder, tmp_path):
    """e: without a second run it says how to give one; with one beside the analysed run it
    draws `mnist-tui ensemble RUN RUN2`."""
    import shutil

    from engine import runs

    run_dir = min(runs.list_runs(trained_home), key=lambda path: path.name)  # the fixture's own
    home = tmp_path / "home"
    shutil.copytree(run_dir, home / "runs" / run_dir.name)
    twin = run_dir.name[:-4] + "beef"  # the same network again: a second run on the same data
    shutil.copytree(run_dir, home / "runs" / twin)

    def shown(app) -> str:
        return "\n".join(screen_lines(app))

    async def scenario() -> tuple[str, str]:
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(80, 24)) as pilot:
            app.selected_run = run_dir.name
            await pilot.press("t")
            await pilot.press("e")
            assert await wait_for(pilot, lambda: "pick two in Runs" in shown(app), 30)
            alone = shown(app)
            app.versus_run = twin
            await pilot.press("l")
            await pilot.press("e")
            assert await wait_for(pilot, lambda: "networks as one" in shown(app), 60), shown(app)
            return alone, shown(app)

    alone, both = asyncio.run(scenario())
    assert "Traceback" not in alone + both
    assert "no runs to average yet" in alone and "calibrated confidence" not in alone
    assert (
        f"mnist-tui ensemble {run_dir.name} {twin}" in both.replace("\n", " ") or "ensemble" in both
    )
