"""The report's pictures, drawn with matplotlib's object API (no pyplot: no global state, no
window) into PNG bytes. The same data give the same bytes: fixed size, fixed fonts, no
timestamp or version in the file."""

from __future__ import annotations

import io

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from engine.report.document import DPI

STYLE = {"font.family": "DejaVu Sans", "font.size": 9, "axes.grid": True, "grid.alpha": 0.3,
         "svg.hashsalt": "mnist-tui", "image.interpolation": "nearest"}  # fmt: skip


def plain(text: str) -> str:
    """A label drawn as it is written: a run named "$\\foo$" is not TeX. (Mathtext stays on
    for matplotlib's own tick labels: a log axis writes 10^-1 with it.)"""
    return str(text).replace("$", r"\$")


def png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def line_chart(series: dict[str, tuple[list, list]], title: str, xlabel: str, ylabel: str,
               ylim: tuple[float, float] | None = None, size=(6.4, 3.4), log_y: bool = False,
               bands: dict[str, tuple[list, list]] | None = None,
               xticks: list[str] | None = None) -> bytes:  # fmt: skip
    """Lines with a legend; ``bands`` (optional): a shaded (low, high) per series;
    ``xticks``: a name for each x of 0, 1, 2 ... (slanted)."""
    with rc_context(STYLE):
        figure = Figure(figsize=size)
        axes = figure.add_subplot()
        for name, (xs, ys) in series.items():
            (line,) = axes.plot(xs, ys, label=plain(name), linewidth=1.4,
                                marker="o" if len(xs) <= 20 else None, markersize=3)  # fmt: skip
            if bands and name in bands:
                low, high = bands[name]
                axes.fill_between(xs, low, high, color=line.get_color(), alpha=0.2)
        axes.set_title(plain(title))
        axes.set_xlabel(plain(xlabel))
        axes.set_ylabel(plain(ylabel))
        if ylim:
            axes.set_ylim(*ylim)
        if log_y:
            axes.set_yscale("log")
        if xticks:
            axes.set_xticks(range(len(xticks)), [plain(t) for t in xticks], rotation=50,
                            ha="right", fontsize=7)  # fmt: skip
        if len(series) > 1 or bands:
            axes.legend(fontsize=8)
        figure.tight_layout()
        return png(figure)


def bar_chart(groups: dict[str, list[float]], labels: list[str], title: str, ylabel: str,
              size=(6.4, 3.0), slanted: bool = False,
              ylim: tuple[float, float] | None = None) -> bytes:  # fmt: skip
    """Bars per label, one colour per group; ``slanted``: long labels turned to fit."""
    with rc_context(STYLE):
        figure = Figure(figsize=size)
        axes = figure.add_subplot()
        width = 0.8 / max(len(groups), 1)
        x = np.arange(len(labels))
        for i, (name, values) in enumerate(groups.items()):
            axes.bar(x + (i - (len(groups) - 1) / 2) * width, values, width, label=plain(name))
        if slanted:
            axes.set_xticks(x, [plain(label) for label in labels], rotation=45, ha="right",
                            fontsize=7)  # fmt: skip
        else:
            axes.set_xticks(x, [plain(label) for label in labels])
        axes.set_ylabel(plain(ylabel))
        if ylim:
            axes.set_ylim(*ylim)
        if len(groups) > 1:  # above the plot, where no bar is
            axes.legend(fontsize=8, ncols=len(groups), loc="lower center",
                        bbox_to_anchor=(0.5, 1.0), frameon=False)  # fmt: skip
        axes.set_title(plain(title), pad=22 if len(groups) > 1 else 6)
        figure.tight_layout()
        return png(figure)


def reliability_diagrams(panels: dict[str, tuple[list, list]], size=None) -> bytes:
    """Guo et al.'s reliability diagram, one panel per name: each confidence bin's accuracy as
    a bar over the bin, before temperature scaling (filled, its image count above it) and
    after (outlined), against the diagonal of perfect calibration. A panel's two lists hold
    engine.beyond.calibration.Reliability bins (empty ones are left out)."""
    count = len(panels)
    size = size or (3.0 * count + 0.6, 3.3)
    with rc_context(STYLE):
        figure = Figure(figsize=size)
        palette = figure_palette(2)
        for index, (name, (before, after)) in enumerate(panels.items()):
            axes = figure.add_subplot(1, count, index + 1)
            axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1,
                      label="perfectly calibrated")  # fmt: skip
            for bins, label, filled in ((before, "as trained", True), (after, "after T", False)):
                kept = [b for b in bins if b.count]
                lefts = [b.low for b in kept]
                widths = [b.high - b.low for b in kept]
                heights = [b.accuracy for b in kept]
                colour = palette[0 if filled else 1]
                axes.bar(lefts, heights, widths, align="edge", label=label,
                         color=colour if filled else "none", edgecolor=colour,
                         alpha=0.55 if filled else 1.0, linewidth=1.2)  # fmt: skip
                if filled:
                    for b in kept:
                        axes.text(b.low + (b.high - b.low) / 2, min(b.accuracy, 0.97) + 0.015,
                                  f"{b.count:,}", ha="center", fontsize=5.5, rotation=90)  # fmt: skip
            axes.set_xlim(0, 1)
            axes.set_ylim(0, 1.12)
            axes.set_title(plain(name), fontsize=9)
            axes.set_xlabel("confidence (largest probability)", fontsize=8)
            if index == 0:
                axes.set_ylabel("accuracy in the bin", fontsize=8)
                axes.legend(fontsize=7, loc="upper left")
            axes.tick_params(labelsize=7)
        figure.tight_layout()
        return png(figure)


def image_grid(images, titles: list[str], columns: int, title: str = "", cmap: str = "gray",
               symmetric: bool = False, colorbar: str = "", tile: float = 0.9,
               vmin: float | None = None, vmax: float | None = None) -> bytes:  # fmt: skip
    """Small images in a grid with a title each, on one colour scale (``vmin``..``vmax``,
    default the images' own range); ``symmetric``: a diverging map centred on 0 (weights,
    attributions); ``colorbar``: its label, if one is drawn."""
    images = np.asarray(images, dtype=np.float32)
    rows = -(-len(images) // columns)
    if symmetric:
        bound = float(np.abs(images).max()) or 1.0
        vmin, vmax, cmap = -bound, bound, "RdBu_r"
    elif images.size:  # one colour scale for the whole figure (the one its bar states)
        vmin = float(images.min()) if vmin is None else vmin
        vmax = float(images.max()) if vmax is None else vmax
        if vmax <= vmin:  # every value the same (all-zero maps): a flat, readable scale
            vmax = vmin + 1.0
    with rc_context(STYLE):
        figure = Figure(figsize=(columns * tile + (0.8 if colorbar else 0.2), rows * tile + 0.5))
        grid = figure.subplots(rows, columns, squeeze=False)
        shown = None
        for i, axes in enumerate(grid.flat):
            axes.axis("off")
            if i < len(images):
                shown = axes.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax)
                axes.set_title(plain(titles[i]), fontsize=7)
        if title:
            figure.suptitle(plain(title))
        if colorbar and shown is not None:
            figure.colorbar(shown, ax=grid.ravel().tolist(), shrink=0.8, label=plain(colorbar))
        else:
            figure.tight_layout()
        return png(figure)


def heatmap(matrix, rows: list[str], columns: list[str], title: str, colorbar: str,
            xlabel: str = "", ylabel: str = "", cmap: str = "viridis", annotate: str = "",
            size=(5.0, 4.2), vmin: float | None = None, vmax: float | None = None) -> bytes:  # fmt: skip
    """A matrix as colours with a colour bar; ``annotate``: a format for each cell's value."""
    matrix = np.asarray(matrix, dtype=np.float64)
    with rc_context({**STYLE, "axes.grid": False}):
        figure = Figure(figsize=size)
        axes = figure.add_subplot()
        shown = axes.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax)
        axes.set_xticks(range(len(columns)), [plain(c) for c in columns], fontsize=7)
        axes.set_yticks(range(len(rows)), [plain(r) for r in rows], fontsize=7)
        axes.set_title(plain(title))
        axes.set_xlabel(plain(xlabel))
        axes.set_ylabel(plain(ylabel))
        if annotate:
            for (r, c), value in np.ndenumerate(matrix):
                if np.isnan(value):
                    continue
                # the text's colour from the cell's own colour, whatever the colour map:
                # white on dark cells, black on light ones (relative luminance)
                red, green, blue, _ = shown.cmap(shown.norm(value))
                light = 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.5
                axes.text(c, r, annotate.format(value), ha="center", va="center", fontsize=8,
                          color="black" if light else "white")  # fmt: skip
        figure.colorbar(shown, ax=axes, shrink=0.85, label=plain(colorbar))
        figure.tight_layout()
        return png(figure)


def histogram_panels(panels: dict[str, dict[str, tuple[list[int], float, float]]],
                     title: str, xlabel: str) -> bytes:  # fmt: skip
    """One panel per name (a layer), in each a line per key (a moment): the counts of a
    histogram drawn over its own range (counts, low, high), each panel on its own x."""
    names = list(panels)
    columns = min(len(names), 4)
    rows = -(-len(names) // columns)
    with rc_context(STYLE):
        figure = Figure(figsize=(2.6 * columns + 0.4, 2.3 * rows + 0.6))
        grid = figure.subplots(rows, columns, squeeze=False)
        for axes in grid.flat[len(names) :]:
            axes.axis("off")
        for axes, name in zip(grid.flat, names, strict=False):
            for key, (counts, low, high) in panels[name].items():
                edges = np.linspace(low, high, len(counts) + 1)
                axes.stairs(counts, edges, label=plain(key), linewidth=1.2)
            axes.set_title(plain(name), fontsize=9)
            axes.set_yscale("log")
            axes.set_xlabel(plain(xlabel), fontsize=8)
            axes.tick_params(labelsize=7)
        grid.flat[0].legend(fontsize=7)
        figure.suptitle(plain(title))
        figure.tight_layout()
        return png(figure)


def class_scatter(x, y, labels, wrong, title: str, size=(5.6, 4.6)) -> bytes:
    """Points coloured by class (one colour and one legend entry a digit), the misclassified
    ones ringed in black."""
    return class_scatters([(x, y, labels, wrong, title)], size)


def class_scatters(panels: list[tuple], size=None) -> bytes:
    """One class scatter per panel ``(x, y, labels, wrong, title)``, side by side with one
    legend: the same colour for a digit in every panel."""
    count = len(panels)
    size = size or (4.6 * count + 1.0, 4.6)
    with rc_context({**STYLE, "axes.grid": False}):
        figure = Figure(figsize=size)
        most = max((int(np.asarray(p[2]).max()) + 1 for p in panels if np.asarray(p[2]).size),
                   default=10)  # fmt: skip
        palette = figure_palette(most)
        for index, (x, y, labels, wrong, title) in enumerate(panels):
            x, y, labels, wrong = (np.asarray(v) for v in (x, y, labels, wrong))
            axes = figure.add_subplot(1, count, index + 1)
            for label in sorted(set(labels.tolist())):
                chosen = labels == label
                axes.scatter(x[chosen], y[chosen], s=6, color=palette[label], label=str(label),
                             alpha=0.75, linewidths=0)  # fmt: skip
            if wrong.any():
                axes.scatter(x[wrong], y[wrong], s=22, facecolors="none", edgecolors="black",
                             linewidths=0.6, label="wrong")  # fmt: skip
            axes.set_title(plain(title))
            axes.set_xticks([])
            axes.set_yticks([])
        axes.legend(fontsize=7, markerscale=2, loc="center left", bbox_to_anchor=(1.0, 0.5))
        figure.tight_layout()
        return png(figure)


def figure_palette(count: int) -> list:
    """``count`` distinct colours (matplotlib's tab10, then tab20)."""
    from matplotlib import colormaps

    name = "tab10" if count <= 10 else "tab20"
    return [colormaps[name](i % colormaps[name].N) for i in range(count)]
