"""Cancelling never leaves a broken network behind: each long analysis is cancelled mid-way
(Escape while it works) and then another screen opens on the same run — every analysis
screen in turn, three rounds — and no screen shows an error; two analyses of one run at once
(side by side, the run beside itself), one cancelled, leave the next screen whole. And a key
that cannot act where it is pressed says why, instead of nothing."""

from __future__ import annotations

import asyncio

from tests.app_setup import screen_lines, tiny_app, wait_for
from tui.screens.catalogue import experiments

LONG = ("8", "9", "0", "7", "a", "r", "e")  # synthesis, targeted, noise, occlusion, attribution,
# robustness, embedding: the analyses that take long enough to be cancelled
ANALYSES = ("5", "6", "7", "8", "9", "0", "a", "r", "h", "c", "x", "e", "4")
BROKEN = ("Error", "Traceback", "requires grad", "grad_fn")


def shown(app) -> str:
    return "\n".join(screen_lines(app))


def test_cancel_each_long_analysis_then_open_the_others(trained_home, tiny_folder):
    titles = {e.key: e.title for e in experiments()}
    seen: list[str] = []

    async def scenario() -> None:
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(80, 24)) as pilot:
            opened = 0
            for round_ in range(3):
                for long in LONG:
                    await pilot.press(long)
                    await pilot.pause(0.15 + 0.1 * round_)  # mid-way, at a different point
                    await pilot.press("escape")  # cancels its worker
                    following = ANALYSES[opened % len(ANALYSES)]
                    opened += 1
                    await pilot.press(following)
                    await pilot.pause(0.5)
                    # wait for the screen's work to end (its status stops saying "...")
                    await wait_for(pilot, lambda: not any(w.is_running for w in app.screen.workers),
                                   20)  # fmt: skip
                    text = shown(app)
                    seen.append(following)
                    for word in BROKEN:
                        assert word not in text, (long, titles[following], text)
                    await pilot.press("escape")

    asyncio.run(scenario())
    assert set(seen) == set(ANALYSES)  # every screen opened after a cancel


def test_two_analyses_of_one_run_at_once_one_cancelled(trained_home, tiny_folder):
    from engine import runs

    run_id = runs.find_run(trained_home, "latest").name

    async def scenario() -> None:
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 36)) as pilot:
            app.selected_run, app.versus_run = run_id, run_id  # the run beside itself
            from tui.screens.side_by_side import SideBySideScreen

            app.push_screen(SideBySideScreen("robustness"))
            await pilot.pause(0.3)
            await pilot.press("c")  # cancel while a side is drawing
            await pilot.pause(0.2)
            await pilot.press("escape", "h")
            await pilot.pause(0.5)
            await wait_for(pilot, lambda: not any(w.is_running for w in app.screen.workers), 20)
            text = shown(app)
            assert not any(word in text for word in BROKEN), text
            assert "histograms" in text.lower()

    asyncio.run(scenario())


def test_a_key_that_cannot_act_here_says_why(trained_home, tiny_folder):
    async def scenario() -> list[str]:
        app = tiny_app(trained_home, tiny_folder)
        said: list[str] = []
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("5")  # Predictions: the best checkpoint only, no moments
            await pilot.pause(0.8)
            for key in ("full_stop", "space", "v"):
                before = len(app._notifications)
                await pilot.press(key)
                await pilot.pause(0.2)
                said += [n.message for n in list(app._notifications)[before:]]
            await pilot.press("escape")
            from engine import runs
            from tui.screens.side_by_side import SideBySideScreen

            app.selected_run = app.versus_run = runs.find_run(trained_home, "latest").name
            app.push_screen(SideBySideScreen("predict"))
            await pilot.pause(0.5)
            before = len(app._notifications)
            await pilot.press("n")  # Predictions' next page, alone; side by side: options
            await pilot.pause(0.2)
            said += [n.message for n in list(app._notifications)[before:]]
        return said

    said = asyncio.run(scenario())
    assert any(", . and space step" in s for s in said), said
    assert sum(", . and space step" in s for s in said) >= 2  # . and space both
    assert any("v switches" in s for s in said), said
    assert any("press o and type them as after `mnist-tui predict RUN`" in s for s in said), said
