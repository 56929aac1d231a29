"""Pictures: sixel colours as xterm reads them, the choice of drawing mode, and arrays that
fit the space they are given."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from tests.app_setup import tiny_app, wait_for
from tui import graphics, render
from tui.widgets.array_view import ArrayView


def decode_like_xterm(sixels: str) -> np.ndarray:
    """The picture a terminal draws from sixel data when, like xterm, it takes a colour
    definition (``#N;2;R;G;B``) as defining register N without selecting it."""
    body = sixels[sixels.index("q") + 1 : sixels.rindex("\x1b\\")]
    width, height = map(int, re.match(r'"\d+;\d+;(\d+);(\d+)', body).groups())
    body = re.sub(r'^"[\d;]+', "", body)
    registers: dict[int, tuple[int, int, int]] = {}
    picture = np.full((height, width, 3), -1, dtype=np.int64)
    colour, x, band = None, 0, 0
    for token in re.finditer(r"#(\d+)(?:;2;(\d+);(\d+);(\d+))?|!(\d+)(.)|([?-~])|(\$)|(-)", body):
        number, r, g, b, count, repeated, single, back, down = token.groups()
        if number is not None:
            if r is None:
                colour = int(number)
            else:
                registers[int(number)] = tuple(round(int(v) * 255 / 100) for v in (r, g, b))
            continue
        if back:
            x = 0
        elif down:
            x, band = 0, band + 6
        else:
            char, times = (repeated, int(count)) if count else (single, 1)
            bits = ord(char) - 0x3F
            for row in range(6):
                if bits >> row & 1 and band + row < height:
                    picture[band + row, x : x + times] = registers.get(colour, (-1, -1, -1))
            x += times
    return picture


def test_xterm_draws_the_sixels_in_the_colours_of_the_picture():
    from textual_image._sixel import image_to_sixels

    from tui.widgets.sixel import select_on_define

    rgb = np.zeros((40, 30, 3), dtype=np.uint8)
    rgb[10:25, 5:15] = (255, 255, 255)
    rgb[20:40, 12:30] = (204, 51, 51)  # whole percentages, as sixel colours are
    sixels = image_to_sixels(Image.fromarray(rgb))
    # as textual-image writes them, the first bands use a colour never selected
    assert not np.array_equal(decode_like_xterm(sixels), rgb)
    fixed = select_on_define(sixels)
    assert np.array_equal(decode_like_xterm(fixed), rgb)
    assert fixed.count("#") == sixels.count("#") + len(re.findall(r"#\d+;2;", sixels))


@pytest.mark.parametrize(
    ("version", "draws"),
    [("kitty(0.26.5)", False), ("kitty(0.28.0)", True), ("kitty(0.35.2)", True),
     ("kitty(1.0.1)", True), ("WezTerm 20240203", False), ("XTerm(379)", False), (None, False)],
)  # fmt: skip
def test_kitty_pictures_need_a_kitty_that_draws_placeholders(version, draws):
    assert graphics.draws_placeholders(version) is draws


def test_without_a_terminal_nothing_asks_for_pixels():
    # pytest's output is not a terminal: no queries, half-blocks
    for requested in ("auto", "sixel", "kitty"):
        assert graphics.resolve(requested) == ("halfblock", "")
    assert graphics.resolve("ascii").mode == "ascii"
    assert graphics.resolve("halfblock").mode == "halfblock"


def test_arrays_thin_out_below_scale_one():
    array = np.arange(28 * 28, dtype=float).reshape(28, 28)
    assert render.resampled_shape(array.shape, 0.5) == (14, 14)
    assert render.resampled_shape(array.shape, 3) == (84, 84)
    lines = render.image(array, scale=0.5).plain.split("\n")
    assert len(lines) == 7 and {len(line) for line in lines} == {14}
    assert render.image(array, scale=0.5, colour=False).plain.count("\n") == 13


def _screen_fits(app) -> list[str]:
    """What does not fit: a scrolling screen, or a picture wider or taller than its view."""
    problems = [f"screen scrolls by {app.screen.max_scroll_y}"] if app.screen.max_scroll_y else []
    for view in app.screen.query(ArrayView):
        if view.array is None:
            continue
        width, height = view._cells(view.best_scale())
        if width > view.size.width or height + view._extra_lines() > view.size.height:
            problems.append(f"{view.id}: {width}x{height} in {view.size}")
        for line in view.query(".array-caption, .array-legend"):  # pixel mode's children
            if line.display and line.size.height != 1:
                problems.append(f"{view.id}: a caption or legend {line.size.height} lines high")
    return problems


@pytest.mark.parametrize("graphics_mode", ["halfblock", "sixel"])
def test_pictures_fit_an_80x24_terminal(trained_home, tiny_folder, graphics_mode):
    import asyncio

    async def scenario():
        app = tiny_app(trained_home, tiny_folder, graphics=graphics_mode)
        async with app.run_test(size=(80, 24)) as pilot:
            for key in ("5", "8", "9", "0"):
                await pilot.press(key)
                views = list(app.screen.query(ArrayView))
                assert await wait_for(pilot, lambda: all(v.array is not None for v in views))  # noqa: B023
                await pilot.pause(0.3)
                assert _screen_fits(app) == [], type(app.screen).__name__
                await pilot.press("escape")

    asyncio.run(scenario())


def test_the_app_says_why_it_does_not_draw_as_asked(trained_home, tiny_folder):
    import asyncio

    async def scenario():
        notice = "kitty(0.26.5) cannot place kitty pictures (0.28 and later can)"
        app = tiny_app(trained_home, tiny_folder, notice=notice)
        async with app.run_test() as pilot:
            await pilot.pause(0.2)
            assert [n.message for n in app._notifications] == [notice]

    asyncio.run(scenario())
