"""Line charts drawn with plotext, returned as Rich text for the commands and the app."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import plotext as plt
from rich.text import Text

_LOCK = threading.Lock()  # plotext draws on one module-level figure

# Series colours, ten hues told apart on a dark or a light terminal (Okabe-Ito's eight
# colour-blind-safe ones, brightened where they were too dark on black, and two more), as
# RGB for plotext and Rich alike. Beyond MANY series a colour alone is not enough: each line
# is drawn with its own marker too, and the legend under the plot shows both.
PALETTE = [(86, 180, 233), (230, 159, 0), (0, 190, 140), (240, 228, 66), (225, 100, 20),
           (204, 121, 167), (235, 235, 235), (150, 110, 255), (160, 230, 80),
           (255, 90, 90)]  # fmt: skip
MARKERS = ["*", "+", "o", "x", "#", "@", "%", "=", "^", "~"]
MANY = 5


def rich_colour(rgb: tuple[int, int, int]) -> str:
    return "rgb({},{},{})".format(*rgb)


TITLE_MARGIN, TITLE_MARGIN_LOG = 9, 13  # cells the y axis's labels take from a title's room


def chart_xy(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str = "",
    xlabel: str = "",
    width: int = 70,
    height: int = 15,
    colour: bool = True,
    ylog: bool = False,
    ylim: tuple[float | None, float | None] | None = None,
    integer_x: bool = False,
) -> Text:
    """One chart with a line per named (x values, y values) series. ``ylim`` bounds the y
    axis (None for either end: the data's); ``integer_x`` puts ticks on whole numbers only
    (epochs, steps). Ticks are round numbers."""
    legend = _legend(list(series), colour, width, markers=not colour or len(series) > MANY)
    with _LOCK:
        plt.clf()
        plt.limit_size(False, False)  # the widget, not the terminal, sets the size
        plt.plotsize(width, max(height - (len(legend.split()) if len(series) > 1 else 0), 5))
        plt.theme("pro" if colour else "clear")
        for i, (xs, ys) in enumerate(series.values()):
            xs, ys = _thinned(xs, ys, 2 * width)
            if ylog:
                xs, ys = zip(
                    *[(x, y) for x, y in zip(xs, ys, strict=True) if y > 0], strict=True
                ) or ((), ())
            if colour:
                marker = MARKERS[i % len(MARKERS)] if len(series) > MANY else "braille"
                plt.plot(list(xs), list(ys), marker=marker, color=PALETTE[i % len(PALETTE)])
            else:
                plt.plot(list(xs), list(ys), marker=MARKERS[i % len(MARKERS)])
        if title:  # plotext leaves out a title wider than the plot's own area, which the y
            # axis's labels narrow (more on a log axis): shortened to fit that area instead
            room = width - (TITLE_MARGIN_LOG if ylog else TITLE_MARGIN)
            plt.title(title if len(title) <= room else title[: room - 1] + "…")
        if xlabel:
            plt.xlabel(xlabel)
        if ylog:
            plt.yscale("log")
            positive = [y for _, ys in series.values() for y in ys if y > 0]
            if positive:  # powers of ten, not plotext's raw ticks ("31.026788")
                low, high = math.floor(math.log10(min(positive))), math.ceil(
                    math.log10(max(positive)))  # fmt: skip
                ticks = [10.0**k for k in range(low, high + 1)]
                plt.yticks(ticks, [f"{t:g}" for t in ticks])
        else:
            low, high = _y_range(series, ylim)
            plt.ylim(low, high)
            plt.yticks(nice_ticks(low, high))
        xs_all = [x for xs, _ in series.values() for x in xs]
        if xs_all:
            ticks = nice_ticks(min(xs_all), max(xs_all), integer=integer_x)
            plt.xticks(ticks)
        drawn = plt.build().rstrip("\n")
    chart = Text.from_ansi(drawn) if colour else Text(plt.uncolorize(drawn))
    if len(series) > 1:
        chart.append("\n")
        chart.append_text(legend)
    return chart


def _thinned(xs: Sequence[float], ys: Sequence[float], most: int) -> tuple[list, list]:
    """At most ``most`` points, evenly spaced, the last kept: a braille chart has two dots
    a cell across, so more points draw nothing more (and a run's loss curve grows by 540
    points an epoch: plotting them all cost a live view ~7% of a core)."""
    xs, ys = list(xs), list(ys)
    if len(xs) <= most or most < 2:
        return xs, ys
    step = (len(xs) - 1) / (most - 1)
    keep = sorted({round(i * step) for i in range(most)})
    return [xs[k] for k in keep], [ys[k] for k in keep]


def _legend(names: list[str], colour: bool, width: int, markers: bool = False) -> Text:
    """The series' names with their colour and, where lines carry them, their marker,
    wrapped to ``width``."""
    legend = Text()
    line = 0
    for i, name in enumerate(names):
        mark = f"{MARKERS[i % len(MARKERS)]}━ " if markers else "━━ "
        entry = f"{mark}{name}  "
        if line and line + len(entry) > width:
            legend.append("\n")
            line = 0
        legend.append(mark, style=rich_colour(PALETTE[i % len(PALETTE)]) if colour else "")
        legend.append(f"{name}  ")
        line += len(entry)
    return legend


def _y_range(series, ylim) -> tuple[float, float]:
    ys = [y for _, values in series.values() for y in values]
    low, high = (min(ys), max(ys)) if ys else (0.0, 1.0)
    if ylim is not None:
        low = max(low, ylim[0]) if ylim[0] is not None else low
        high = min(high, ylim[1]) if ylim[1] is not None else high
        low = ylim[0] if ylim[0] is not None and low <= ylim[0] else low
    if high <= low:  # one point, or a flat line: give it some room inside the limits
        pad = abs(high) * 0.05 or 1.0
        low, high = low - pad, high + pad
        if ylim is not None:
            low = max(low, ylim[0]) if ylim[0] is not None else low
            high = min(high, ylim[1]) if ylim[1] is not None else high
    return low, high


def nice_ticks(low: float, high: float, most: int = 6, integer: bool = False) -> list[float]:
    """Round-numbered ticks (1, 2 or 5 times a power of ten) inside [low, high]; whole
    numbers only with ``integer``."""
    import math

    span = high - low
    if span <= 0:
        return [low]
    raw = span / max(most - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integer:
        step = max(1, round(step))
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks or [low]


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


def scatter_by_class(
    xs: Sequence[float],
    ys: Sequence[float],
    labels: Sequence[int],
    wrong: Sequence[bool],
    *,
    title: str = "",
    width: int = 70,
    height: int = 20,
    colour: bool = True,
) -> Text:
    """Points drawn as their class's digit, each class its own colour, the misclassified
    ones as a red ``x`` over them: readable without colour, and with it."""
    with _LOCK:
        plt.clf()
        plt.limit_size(False, False)
        plt.plotsize(width, max(height - 1, 5))
        plt.theme("pro" if colour else "clear")
        for label in sorted(set(labels)):
            chosen = [i for i, (lab, bad) in enumerate(zip(labels, wrong, strict=True))
                      if lab == label and not bad]  # fmt: skip
            if not chosen:
                continue
            kwargs = {"color": PALETTE[label % len(PALETTE)]} if colour else {}
            plt.scatter([xs[i] for i in chosen], [ys[i] for i in chosen],
                        marker=str(label % 10), **kwargs)  # fmt: skip
        bad = [i for i, w in enumerate(wrong) if w]
        if bad:
            kwargs = {"color": (255, 60, 60)} if colour else {}
            plt.scatter([xs[i] for i in bad], [ys[i] for i in bad], marker="x", **kwargs)
        if title:
            plt.title(title if len(title) <= width else title[: width - 1] + "…")
        plt.xticks([])
        plt.yticks([])
        drawn = plt.build().rstrip("\n")
    chart = Text.from_ansi(drawn) if colour else Text(plt.uncolorize(drawn))
    key = Text("\n")
    for label in sorted(set(labels)):
        style = rich_colour(PALETTE[label % len(PALETTE)]) if colour else ""
        key.append(f"{label % 10} ", style=style)
    key.append("each image as its digit", style="dim")
    if bad:
        key.append("; ")
        key.append("x", style="bold red" if colour else "")
        key.append(f" misclassified ({len(bad)})", style="dim")
    chart.append_text(key)
    return chart
