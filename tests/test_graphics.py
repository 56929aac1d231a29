"""Pictures: sixel colours as xterm reads them, the choice of drawing mode, and arrays that
fit the space they are given."""

from __future__ import annotations

import ast
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.app_setup import text_of, tiny_app, wait_for
from tui import graphics
from tui.draw import render
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


# what real terminals answered the app's queries (KITTY_QUERY, XTVERSION, COLOUR_REGISTERS, DA1)
XTERM = "\x1bP>|XTerm(379)\x1b\\\x1b[?1;0;1024S\x1b[?63;1;2;4;6;9;15;16;22;28c"
KITTY_026 = "\x1b_Gi=31;OK\x1b\\\x1bP>|kitty(0.26.5)\x1b\\\x1b[?62;c"
KITTY_041 = "\x1b_Gi=31;OK\x1b\\\x1bP>|kitty(0.41.1)\x1b\\\x1b[?62;c"
TMUX = "\x1bP>|tmux 3.3a\x1b\\\x1b[?1;2c"


def test_the_terminals_answers_are_read():
    from tui.terminal import Answers

    assert Answers.parse(XTERM) == Answers(True, False, "XTerm(379)", 1024)
    assert Answers.parse(KITTY_041) == Answers(False, True, "kitty(0.41.1)", None)
    assert Answers.parse(TMUX) == Answers(False, False, "tmux 3.3a", None)
    assert Answers.parse("") == Answers()


def resolve_in_a_terminal(requested: str, replies: list[str]) -> tuple:
    """``resolve(requested)`` in a child process whose terminal is a pty answered, at each
    DA1 query, with the next of ``replies`` (the last one again after that)."""
    master, slave = pty.openpty()
    # 80x24 cells of 10x20 pixels, as a terminal window says
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 800, 480))
    code = "import sys; from tui.graphics import resolve; print(tuple(resolve(sys.argv[1])), file=sys.stderr)"
    child = subprocess.Popen([sys.executable, "-c", code, requested], stdin=slave, stdout=slave,
                             stderr=subprocess.PIPE, cwd=Path(__file__).parent.parent, text=True)  # fmt: skip
    os.close(slave)

    def answer() -> None:
        asked, answered = "", 0
        while True:
            try:
                asked += os.read(master, 4096).decode(errors="replace")
            except OSError:  # the child closed the terminal
                return
            while asked.count("\x1b[c") > answered:
                os.write(master, replies[min(answered, len(replies) - 1)].encode())
                answered += 1

    threading.Thread(target=answer, daemon=True).start()
    _, printed = child.communicate(timeout=60)
    os.close(master)
    return ast.literal_eval(printed.strip().splitlines()[-1])  # the Drawing, as a tuple


@pytest.mark.parametrize(
    ("requested", "replies", "drawing"),
    [("auto", [XTERM], ("sixel", "", 256)),
     ("auto", [KITTY_041], ("kitty", "", 256)),
     ("auto", [KITTY_026], ("halfblock", "", 256)),
     ("auto", [TMUX], ("halfblock", "", 256)),
     ("auto", [""], ("halfblock", "", 256)),  # a terminal that answers nothing
     # xterm as a VT340 with 16 registers: asked for 256, it grants them
     ("auto", [XTERM.replace("1024", "16"), "\x1b[?1;0;256S\x1b[?63;4c"], ("sixel", "", 256)),
     ("sixel", [TMUX], ("sixel", "", 256))],
)  # fmt: skip
def test_the_app_draws_what_the_terminal_answers(requested, replies, drawing):
    assert resolve_in_a_terminal(requested, replies) == drawing


def test_an_old_kitty_asked_for_kitty_pictures_gets_half_blocks_and_a_reason():
    mode, notice, _ = resolve_in_a_terminal("kitty", [KITTY_026])
    assert mode == "halfblock" and "kitty(0.26.5)" in notice and "0.28" in notice


def test_without_a_terminal_nothing_asks_for_pixels():
    # pytest's output is not a terminal: no queries, half-blocks
    for requested in ("auto", "sixel", "kitty"):
        assert graphics.resolve(requested).mode == "halfblock"
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


def _tiles_fit(app) -> list[str]:
    """The filters screen draws its tiles into one Static: every line of it must show."""
    problems = []
    for tiles in app.screen.query("#tiles"):
        lines = text_of(tiles).rstrip("\n").split("\n")
        if len(lines) > tiles.size.height or max(map(len, lines)) > tiles.size.width:
            problems.append(f"tiles: {max(map(len, lines))}x{len(lines)} in {tiles.size}")
    return problems


def _canvas_fits(app) -> list[str]:
    from tui.widgets.canvas import SIZE, DigitCanvas

    problems = []
    for canvas in app.screen.query(DigitCanvas):
        rows = SIZE * canvas.scale // 2  # two pixel rows a cell, in half-blocks and in ASCII
        if rows > canvas.content_size.height or SIZE * canvas.scale > canvas.content_size.width:
            problems.append(f"canvas: {rows} rows in {canvas.content_size}")
    return problems


# Every picture screen, with the keys that show each of its views.
PICTURE_SCREENS = [
    ("5", ()),
    ("6", ("v", "v", "v")),
    ("7", ()),
    ("8", ()),
    ("9", ()),
    ("0", ()),
    ("d", ()),
]


@pytest.mark.parametrize(
    ("graphics_mode", "size"),
    [("halfblock", (80, 24)), ("halfblock", (100, 30)), ("ascii", (80, 24)), ("ascii", (100, 30)),
     ("sixel", (80, 24))],  # pixels scale by any factor: the smallest terminal is the test
    ids=lambda v: v if isinstance(v, str) else f"{v[0]}x{v[1]}",
)  # fmt: skip
def test_every_picture_screen_fits_the_terminal(trained_home, tiny_folder, graphics_mode, size):
    import asyncio

    async def scenario():
        app = tiny_app(trained_home, tiny_folder, graphics=graphics_mode)
        async with app.run_test(size=size) as pilot:
            for key, views in PICTURE_SCREENS:
                await pilot.press(key)
                for view_key in (None, *views):
                    if view_key:
                        await pilot.press(view_key)
                    pictures = [v for v in app.screen.query(ArrayView) if v.display]  # shown
                    assert await wait_for(pilot, lambda: all(v.array is not None for v in pictures))  # noqa: B023
                    await pilot.pause(0.4)
                    problems = _screen_fits(app) + _tiles_fit(app) + _canvas_fits(app)
                    assert problems == [], (type(app.screen).__name__, view_key, problems)
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


def test_the_terminal_tests_pass_whatever_the_callers_terminal_says(tmp_path):
    """An SSH user in tmux with NO_COLOR on a dumb terminal runs the README's test command:
    the tests that ask a terminal what it can draw still pass (they set what they need)."""
    env = {**os.environ, "TMUX": "/tmp/tmux-0/default,1,0", "NO_COLOR": "1", "TERM": "dumb",
           "COLORTERM": "truecolor", "MNIST_TUI_HOME": str(tmp_path / "callers-home")}  # fmt: skip
    chosen = "test_the_app_draws_what_the_terminal_answers or old_kitty"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k", chosen],
        env=env, cwd=Path(__file__).parent.parent, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:]
    assert not (tmp_path / "callers-home").exists()
