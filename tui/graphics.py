"""Pixel graphics (sixel, the kitty protocol) through textual-image, for terminals that
have them; everything else draws colour half-blocks with ``tui.draw.render``.

The terminal is asked what it draws (``tui.terminal``), which is no longer possible once
Textual owns it: ``resolve`` runs before the app starts.
"""

from __future__ import annotations

import os
import re
import sys
from typing import NamedTuple

import numpy as np

from tui.draw import render

PIXEL_MODES = ("sixel", "kitty")
# What --graphics may ask for: auto picks pixels where the terminal has them, else half-blocks.
MODES = ("auto", "halfblock", "ascii", *PIXEL_MODES)
SIXEL_COLOURS = 256  # colours a sixel picture uses; a terminal with fewer is asked for more


class Drawing(NamedTuple):
    """How the app draws pictures, and why not as asked where it cannot."""

    mode: str  # halfblock | ascii | sixel | kitty
    notice: str = ""
    sixel_colours: int = SIXEL_COLOURS  # colour registers a sixel picture may use


def _tmux_passes(mode: str) -> bool:
    """Whether the tmux around the app draws ``mode`` pictures: tmux 3.4 and later can be
    built with sixel support and say so in its DA1 answer; kitty pictures it never passes."""
    if mode != "sixel":
        return False
    from tui import terminal

    try:
        return terminal.ask().sixel
    except Exception:
        return False


def resolve(requested: str) -> Drawing:
    """The drawing mode to use: ``auto`` picks sixel or kitty pixels where the terminal says
    it has them, else half-blocks; a named pixel mode is used on any terminal (some do not
    answer), except when nothing is a terminal or the terminal is a kitty too old for the
    pictures."""
    if requested not in (*PIXEL_MODES, "auto"):
        return Drawing(requested)
    if "web_driver" in os.environ.get("TEXTUAL_DRIVER", ""):  # `mnist-tui serve`: xterm.js
        if requested == "auto":  # said once, by `serve`
            return Drawing("halfblock")
        return Drawing("halfblock", f"a browser does not draw {requested} pictures (they do not"
                                    " reach xterm.js): drawing half-blocks")  # fmt: skip
    if requested == "auto" and os.environ.get("NO_COLOR"):
        return Drawing("halfblock")
    if not all(stream and stream.isatty() for stream in (sys.__stdout__, sys.__stdin__)):
        return Drawing("halfblock")
    if requested in PIXEL_MODES and os.environ.get("TMUX") and not _tmux_passes(requested):
        return Drawing("halfblock", f"tmux does not pass {requested} pictures to the terminal:"
                                    " drawing half-blocks")  # fmt: skip
    from tui import terminal

    try:
        answers = terminal.ask()
    except Exception:  # not a POSIX terminal (no termios), or it went away
        return Drawing("halfblock")
    version = answers.version or ""
    if requested == "auto":
        if answers.sixel:
            mode = "sixel"
        elif answers.kitty_graphics and draws_placeholders(version):
            mode = "kitty"
        else:
            return Drawing("halfblock")
    elif requested == "kitty" and version.startswith("kitty(") and not draws_placeholders(version):
        return Drawing("halfblock", f"{version} cannot place kitty pictures (0.28 and later"
                                    " can): drawing half-blocks")  # fmt: skip
    else:
        mode = requested
    colours = sixel_colours(answers.colour_registers) if mode == "sixel" else SIXEL_COLOURS
    try:
        import textual_image.widget  # noqa: F401  (asks the cell size in pixels, once)

        if mode == "sixel":
            import tui.widgets.sixel  # noqa: F401  (it builds on textual-image's own widget)
    except Exception:
        return Drawing("halfblock", "textual-image could not start: drawing half-blocks")
    return Drawing(mode, sixel_colours=colours)


def draws_placeholders(version: str | None) -> bool:
    """Whether the terminal (by its XTVERSION answer, such as "kitty(0.26.5)") draws the
    kitty protocol's Unicode placeholders, which textual-image places pictures with: kitty
    does from 0.28. Others answer the protocol query without drawing them (kitty 0.26 shows
    boxes; textual-image names Konsole and WezTerm), so ``auto`` leaves them half-blocks."""
    match = re.match(r"kitty\((\d+)\.(\d+)", version or "")
    return bool(match) and (int(match[1]), int(match[2])) >= (0, 28)


def sixel_colours(have: int | None, wanted: int = SIXEL_COLOURS) -> int:
    """How many colour registers a sixel picture gets: where the terminal has fewer than
    ``wanted`` it is asked for more (XTSMGRAPHICS); ``wanted`` where it does not say."""
    if have is not None and have < wanted:
        from tui import terminal

        more = terminal.ask(f"\x1b[?1;3;{wanted}S").colour_registers
        have = more or have
    return wanted if have is None else max(2, min(have, wanted))


def image_widget(mode: str, sixel_colours: int = SIXEL_COLOURS):
    """A textual-image widget for a pixel mode."""
    if mode == "sixel":
        from tui.widgets.sixel import SixelPicture

        return SixelPicture(colours=sixel_colours, classes="array-picture")
    from textual_image.widget import TGPImage

    return TGPImage(classes="array-picture")


def cell_size() -> tuple[int, int]:
    """(width, height) in pixels of one terminal cell, as textual-image found it."""
    from textual_image._terminal import get_cell_size

    return tuple(get_cell_size())  # type: ignore[return-value]


def to_picture(
    array: np.ndarray,
    cmap: str,
    vmin: float | None,
    vmax: float | None,
    cells: tuple[int, int] | None = None,
):
    """A PIL image of the array in the colour map, sized to fill ``cells`` (columns, rows)
    of the terminal exactly, so it needs no rescaling there; else 8 pixels a value."""
    from PIL import Image

    array = np.asarray(array, dtype=np.float64)
    low, high = render.value_range(array, cmap)
    vmin = low if vmin is None else vmin
    vmax = high if vmax is None else vmax
    rgb = render.colours((array - vmin) / max(vmax - vmin, 1e-12), cmap)
    picture = Image.fromarray(rgb, mode="RGB")
    size = (array.shape[1] * 8, array.shape[0] * 8)
    if cells is not None:
        cell_width, cell_height = cell_size()
        size = (cells[0] * cell_width, cells[1] * cell_height)
    return picture.resize(size, Image.NEAREST)
