"""Arrays into terminal cells: a pure function from a 2-D array to a Rich renderable, used by
the app and the headless commands alike.

Colour half-blocks draw two pixels per cell (the upper one as the foreground of "▀", the
lower one as its background), so pixels come out square. Plain ASCII uses a ramp of
characters, two per pixel for the same reason.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from rich.console import Console, Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

ASCII_RAMP = " .:-=+*#%@"

# Colour maps as anchor colours, interpolated linearly. viridis is perceptually uniform
# (probabilities, activations); "signed" is a blue-white-red diverging map for weights.
COLOUR_MAPS: dict[str, list[tuple[int, int, int]]] = {
    "grey": [(0, 0, 0), (255, 255, 255)],
    "viridis": [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)],
    "signed": [(33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43)],
    # ten distinct colours for class maps (Tableau 10); drawn without interpolation
    "classes": [(78, 121, 167), (242, 142, 43), (225, 87, 89), (118, 183, 178), (89, 161, 79),
                (237, 201, 72), (176, 122, 161), (255, 157, 167), (156, 117, 95), (186, 176, 172)],
}  # fmt: skip
CATEGORICAL = {"classes"}


def colour_enabled(ascii_flag: bool = False, console: Console | None = None) -> bool:
    """Colour unless --ascii, the NO_COLOR convention, or a console without colour (a pipe)
    says otherwise."""
    if ascii_flag or os.environ.get("NO_COLOR"):
        return False
    return console is None or console.color_system is not None


def value_range(array: np.ndarray, cmap: str) -> tuple[float, float]:
    """The range a colour map spans: symmetric around 0 for signed data."""
    low, high = float(np.min(array)), float(np.max(array))
    if cmap == "signed":
        bound = max(abs(low), abs(high), 1e-12)
        return -bound, bound
    if high <= low:
        high = low + 1.0
    return low, high


def colours(values: np.ndarray, cmap: str) -> np.ndarray:
    """RGB (..., 3) uint8 for values already scaled to [0, 1]."""
    anchors = np.array(COLOUR_MAPS[cmap], dtype=np.float64)
    if cmap in CATEGORICAL:
        index = np.clip(np.rint(values * (len(anchors) - 1)).astype(int), 0, len(anchors) - 1)
        return anchors[index].astype(np.uint8)
    position = np.clip(values, 0.0, 1.0) * (len(anchors) - 1)
    lower = np.minimum(position.astype(int), len(anchors) - 2)
    fraction = (position - lower)[..., None]
    return (
        (anchors[lower] * (1 - fraction) + anchors[lower + 1] * fraction).round().astype(np.uint8)
    )


def _scaled(array: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    return (np.asarray(array, dtype=np.float64) - vmin) / max(vmax - vmin, 1e-12)


def resampled_shape(shape: tuple[int, int], scale: float) -> tuple[int, int]:
    """(rows, columns) of an array drawn at ``scale``: whole scales repeat each value, a
    scale below 1 keeps that share of the rows and columns (at least one of each)."""
    return tuple(max(1, int(n * scale)) for n in shape)  # type: ignore[return-value]


def _resample(array: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1:
        return np.kron(array, np.ones((int(scale), int(scale)))) if scale >= 2 else array
    rows, cols = resampled_shape(array.shape, scale)
    keep_rows = np.arange(rows) * array.shape[0] // rows
    keep_cols = np.arange(cols) * array.shape[1] // cols
    return array[np.ix_(keep_rows, keep_cols)]


def image(
    array: np.ndarray,
    *,
    cmap: str = "grey",
    vmin: float | None = None,
    vmax: float | None = None,
    scale: float = 1,
    colour: bool = True,
) -> Text:
    """One 2-D array as half-block colour cells, or as ASCII when ``colour`` is False, each
    value repeated ``scale`` times each way (a whole number), or thinned out below 1."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"image() draws 2-D arrays, not shape {array.shape}")
    low, high = value_range(array, cmap)
    vmin = low if vmin is None else vmin
    vmax = high if vmax is None else vmax
    scaled = _resample(_scaled(array, vmin, vmax), scale)
    text = Text(no_wrap=True, overflow="crop")
    if not colour:
        # a class map shows each cell's class as its digit (0-9): nothing to decode
        ramp = "0123456789" if cmap == "classes" else ASCII_RAMP
        index = np.clip((scaled * (len(ramp) - 1)).round().astype(int), 0, len(ramp) - 1)
        for r, row in enumerate(index):
            text.append("".join(ramp[i] * 2 for i in row))
            if r < len(index) - 1:
                text.append("\n")
        return text
    rgb = colours(scaled, cmap)
    if len(rgb) % 2:  # an odd number of rows: pad with the background
        rgb = np.concatenate([rgb, np.zeros((1, *rgb.shape[1:]), dtype=np.uint8)])
        last_blank = True
    else:
        last_blank = False
    for r in range(0, len(rgb), 2):
        for top, bottom in zip(rgb[r], rgb[r + 1], strict=True):
            bg = None if (last_blank and r == len(rgb) - 2) else "rgb({},{},{})".format(*bottom)
            text.append("▀", Style(color="rgb({},{},{})".format(*top), bgcolor=bg))
        if r < len(rgb) - 2:
            text.append("\n")
    return text


def class_legend(names: Sequence[str], colour: bool = True) -> Text:
    """Each class name in its colour of the ``classes`` map."""
    text = Text(no_wrap=True)
    if not colour:  # the map writes each class's digit: the legend names them
        return text.append("cell = digit called")
    rgb = colours(np.linspace(0, 1, len(names)), "classes")
    for name, (r, g, b) in zip(names, rgb, strict=True):
        text.append(
            f" {name} ", Style(bgcolor=f"rgb({r},{g},{b})", color="black") if colour else None
        )
    return text


def legend(vmin: float, vmax: float, cmap: str, width: int = 24, colour: bool = True,
           middle: bool = True) -> Text:  # fmt: skip
    """A colour bar with the values at its ends and middle, so colours read as numbers."""
    text = Text(no_wrap=True)
    text.append(f"{vmin:+.3g} " if cmap == "signed" else f"{vmin:.3g} ")
    if colour:
        for rgb in colours(np.linspace(0, 1, width), cmap):
            text.append(" ", Style(bgcolor="rgb({},{},{})".format(*rgb)))
    else:
        steps = np.linspace(0, len(ASCII_RAMP) - 1, width).round().astype(int)
        text.append("".join(ASCII_RAMP[i] for i in steps))
    text.append(f" {vmax:+.3g}" if cmap == "signed" else f" {vmax:.3g}")
    if middle:
        text.append(f"   (middle {(vmin + vmax) / 2:.3g})")
    return text


def tile_grid(
    arrays: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    *,
    columns: int = 8,
    cmap: str = "grey",
    shared_scale: bool = True,
    scale: int = 1,
    colour: bool = True,
    show_legend: bool = True,
    limits: tuple[float, float] | None = None,
) -> RenderableType:
    """Many small arrays in a grid, on one shared colour scale (``limits``, else their own
    range) with a legend."""
    stacked = np.stack([np.asarray(a, dtype=np.float64) for a in arrays])
    if limits is not None:
        vmin, vmax = limits
    else:
        vmin, vmax = value_range(stacked, cmap) if shared_scale else (None, None)
    grid = Table.grid(padding=(0, 1))
    for _ in range(min(columns, len(arrays))):
        grid.add_column(justify="center")
    cells = []
    for i, array in enumerate(arrays):
        cell = Text(titles[i] + "\n", style="dim") if titles else Text()
        cell.append_text(image(array, cmap=cmap, vmin=vmin, vmax=vmax, scale=scale, colour=colour))
        cells.append(cell)
    for start in range(0, len(cells), columns):
        row = cells[start : start + columns]
        if start and not titles:  # a blank line between rows, or small kernels read as strips
            grid.add_row()
        grid.add_row(*row, *[""] * (min(columns, len(cells)) - len(row)))
    if not (show_legend and shared_scale):
        return grid
    return Group(grid, legend(vmin, vmax, cmap, colour=colour))


def tile_size(pixels: int, scale: float, colour: bool, titled: bool) -> tuple[int, int]:
    """(width, height) in cells of one tile of ``tile_grid``, with its gap."""
    side = resampled_shape((pixels, pixels), scale)[0]
    width = side * (1 if colour else 2) + 1
    height = (-(-side // 2) if colour else side) + 1  # a title or a blank line
    return width, height


def page_layout(
    count: int, pixels: int, width: int, height: int, colour: bool, titled: bool, least: int = 8
) -> tuple[float, int, int]:
    """(scale, columns, rows) for showing ``count`` tiles a page in ``width`` x ``height``
    cells: the largest scale at which a page holds ``least`` tiles (or all of them), thinning
    below scale 1 when even that does not fit."""
    options = (4, 3, 2, 1, 0.5, 0.25)
    for scale in options:
        tile_w, tile_h = tile_size(pixels, scale, colour, titled)
        columns, rows = max(1, width // tile_w), max(0, height // tile_h)
        if rows and columns * rows >= min(count, least):
            return scale, min(columns, count), min(rows, -(-count // columns))
    tile_w, tile_h = tile_size(pixels, options[-1], colour, titled)
    return options[-1], max(1, width // tile_w), max(1, height // tile_h)


def columns_that_fit(console_width: int, pixels: int, scale: int = 1, colour: bool = True,
                     most: int = 8) -> int:  # fmt: skip
    """How many tiles of ``pixels`` width fit side by side (ASCII takes two cells a pixel)."""
    cells = pixels * scale * (1 if colour else 2) + 1
    return max(1, min(most, console_width // cells))
