"""The app as a newcomer meets it over SSH, at 80x24: what is on the screen, cell for cell
(the drawn screen, not the widget tree). Every home entry in sight; on every screen `?` and
`q` in the footer and `?` opening at that screen's keys; the form's refusals said in sight,
in the form's words; runs named, never by a cut id; below 80x24 one line saying so; with no
runs, the analyses say what to press."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Input

from tests.app_setup import screen_lines, tiny_app, wait_for
from tui.screens.catalogue import experiments

SIZE = (80, 24)


def run(coroutine):
    return asyncio.run(coroutine)


def test_every_home_entry_is_in_sight_and_runs_are_named(trained_home, tiny_folder):
    async def scenario() -> list[str]:
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.5)
            return screen_lines(app)

    screen = run(scenario())
    text = "\n".join(screen)
    for entry in experiments():
        assert f"{entry.key}  {entry.title}" in text, (entry.title, text)
    assert "…" not in text  # no run shown by the cut end of its id
    assert "convnet" in text  # the trained run, by its network and start time


@pytest.mark.parametrize("key", [e.key for e in experiments()])
def test_every_screen_shows_help_and_quit_and_help_opens_at_its_keys(trained_home, tiny_folder,
                                                                     key):  # fmt: skip
    title = next(e.title for e in experiments() if e.key == key)

    async def scenario() -> tuple[str, list[str]]:
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(key)
            await pilot.pause(0.8)
            footer = screen_lines(app)[-1]
            await pilot.press("question_mark")
            await pilot.pause(0.3)
            return footer, screen_lines(app)

    footer, help_screen = run(scenario())
    assert "q Quit" in footer and "? Keys" in footer, footer
    assert help_screen[1].startswith("Here:"), help_screen[:3]
    assert title.split()[0] in help_screen[1] or "Here: Train" in help_screen[1], help_screen[1]


@pytest.mark.parametrize(
    ("field", "typed", "said"),
    [
        ("epochs", "abc", "epochs: 'abc' is not a whole number"),
        ("epochs", "0", "epochs: 0 is not a whole number from 1"),
        ("lr", "-0.1", "learning rate: -0.1 is not a number above 0"),
        ("batch_size", "999999", "batch size: 999999 is not a whole number"),
    ],
)
def test_a_refused_value_is_said_in_sight_in_the_forms_words(trained_home, tiny_folder, field,
                                                            typed, said):  # fmt: skip
    from engine import runs

    before = len(runs.list_runs(trained_home))

    async def scenario() -> list[str]:
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("1")
            await pilot.pause(0.5)
            app.screen.query_one(f"#{field}", Input).value = typed
            await pilot.press("ctrl+s")
            await pilot.pause(0.3)
            return screen_lines(app)

    text = "\n".join(run(scenario()))
    assert said in text, text
    assert len(runs.list_runs(trained_home)) == before  # nothing started


def test_the_form_opens_on_the_recipe_and_says_what_it_costs_here(trained_home, tiny_folder):
    async def scenario() -> tuple[str, str]:
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("1")
            await pilot.pause(0.5)
            return app.focused.id, "\n".join(screen_lines(app)[:4])

    focused, top = run(scenario())
    assert focused == "recipe"
    assert "study recipe as set below: about" in top and "here" in top, top


def test_below_80x24_one_line_says_the_size_needed(trained_home, tiny_folder):
    async def scenario() -> tuple[str, str]:
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(60, 20)) as pilot:
            await pilot.pause(0.3)
            small = "\n".join(screen_lines(app))
            await pilot.resize_terminal(80, 24)
            await pilot.pause(0.3)
            return small, "\n".join(screen_lines(app))

    small, large = run(scenario())
    assert "mnist-tui needs 80x24; this terminal is 60x20 (q quits)" in small
    assert "Train convnet" in large and "needs 80x24;" not in large


@pytest.mark.parametrize("key", ["5", "9", "h"])
def test_with_no_runs_an_analysis_says_what_to_press(home, tiny_folder, key):
    async def scenario() -> str:
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(key)
            await wait_for(pilot, lambda: "no trained run yet" in "\n".join(screen_lines(app)))
            return "\n".join(screen_lines(app))

    text = run(scenario())
    assert "no trained run yet: Escape, then 1, choose the fast recipe" in text, text
    assert "mnist-tui train" not in text and "attacking toward" not in text


def test_a_signed_legend_keeps_both_ends_whole(trained_home, tiny_folder):
    """Adding noise's scale at 80 columns: '-0.233 ... +0.233', not '+0.23' cut short."""
    import re

    async def scenario() -> str:
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("0")
            found = await wait_for(pilot, lambda: any(re.search(r"-\d\.\d+ +\+\d", line)
                                                      for line in screen_lines(app)), 60)  # fmt: skip
            assert found, "\n".join(screen_lines(app))
            return next(line for line in screen_lines(app) if re.search(r"-\d\.\d+ +\+\d", line))

    line = run(scenario())
    low, high = re.search(r"-(\d\.\d+) +\+(\d\.\d+)", line).groups()
    assert low == high, line
