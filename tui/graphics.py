"""Pixel graphics (sixel, the kitty protocol) through textual-image, for terminals that
have them and users who ask for them; everything else draws colour half-blocks with
``tui.render``.

textual-image asks the terminal what it supports when it is imported, which is no longer
possible once Textual owns the terminal: ``resolve`` must run before the app starts.
"""

from __future__ import annotations

import sys

import numpy as np

from tui import render

PIXEL_MODES = ("sixel", "kitty")


def resolve(requested: str) -> str:
    """The drawing mode to use. Pixels are opt-in while they are experimental (seen working
    in xterm's vt340 mode, with a stripe at the top of each picture): ``auto`` is halfblock."""
    if requested not in PIXEL_MODES:
        return "halfblock" if requested == "auto" else requested
    if not (sys.__stdout__ and sys.__stdout__.isatty()):
        return "halfblock"
    try:
        import textual_image.widget  # noqa: F401  (queries the terminal, once)
    except Exception:  # no textual-image, or a terminal that does not answer
        return "halfblock"
    return requested


def image_widget(mode: str):
    """The textual-image widget class for a pixel mode."""
    from textual_image.widget import SixelImage, TGPImage

    return SixelImage if mode == "sixel" else TGPImage


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
        from textual_image._terminal import get_cell_size

        cell = get_cell_size()
        size = (cells[0] * cell.width, cells[1] * cell.height)
    return picture.resize(size, Image.NEAREST)
