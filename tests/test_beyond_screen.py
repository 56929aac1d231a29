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
