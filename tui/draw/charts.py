"""Line charts drawn with plotext, returned as Rich text for the commands and the app."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import plotext as plt
from rich.text import Text

_LOCK = threading.Lock()  # plotext draws on one module-level figure


def chart_xy(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str = "",
    xlabel: str = "",
    width: int = 70,
    height: int = 15,
    colour: bool = True,
    ylog: bool = False,
) -> Text:
    """One chart with a line per named (x values, y values) series."""
    with _LOCK:
        plt.clf()
        plt.limit_size(False, False)  # the widget, not the terminal, sets the size
        plt.plotsize(width, height)
        plt.theme("pro" if colour else "clear")
        for name, (xs, ys) in series.items():
            if ylog:
                xs, ys = zip(
                    *[(x, y) for x, y in zip(xs, ys, strict=True) if y > 0], strict=True
                ) or ((), ())
            plt.plot(list(xs), list(ys), label=name, marker="braille")
        if title:
            plt.title(title)
        if xlabel:
            plt.xlabel(xlabel)
        if ylog:
            plt.yscale("log")
        drawn = plt.build()
    return Text.from_ansi(drawn) if colour else Text(plt.uncolorize(drawn))


def line_chart(x: Sequence[float], series: dict[str, Sequence[float]], **options) -> Text:
    """One chart with a line per named series sharing ``x``."""
    return chart_xy({name: (x, ys) for name, ys in series.items()}, **options)


def thin(xs: Sequence[float], ys: Sequence[float], most: int) -> tuple[list[float], list[float]]:
    """Average runs of consecutive points so that at most ``most`` remain: a chart cannot
    show more than two points a column, and plotext's time grows with every point."""
    if len(xs) <= most:
        return list(xs), list(ys)
    size = -(-len(xs) // most)
    return ([sum(xs[i : i + size]) / len(xs[i : i + size]) for i in range(0, len(xs), size)],
            [sum(ys[i : i + size]) / len(ys[i : i + size]) for i in range(0, len(ys), size)])  # fmt: skip
