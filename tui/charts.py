"""Line charts drawn with plotext, returned as Rich text for the commands and the app."""

from __future__ import annotations

from collections.abc import Sequence

import plotext as plt
from rich.text import Text


def line_chart(
    x: Sequence[float],
    series: dict[str, Sequence[float]],
    *,
    title: str = "",
    xlabel: str = "",
    width: int = 70,
    height: int = 15,
    colour: bool = True,
    ylog: bool = False,
) -> Text:
    """One chart with a line per named series sharing ``x``."""
    plt.clf()
    plt.plotsize(width, height)
    plt.theme("pro" if colour else "clear")
    for name, values in series.items():
        plt.plot(list(x), list(values), label=name, marker="braille")
    if title:
        plt.title(title)
    if xlabel:
        plt.xlabel(xlabel)
    if ylog:
        plt.yscale("log")
    drawn = plt.build()
    return Text.from_ansi(drawn) if colour else Text(plt.uncolorize(drawn))
