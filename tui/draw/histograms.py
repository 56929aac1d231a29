"""Each layer's weights and gradients as rows of small histograms (engine.inside.histograms), the
same in the CLI and the app; and the gradient's size per layer through a run's moments."""

from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text

from engine.config import HISTOGRAM_BINS

BARS = " ▁▂▃▄▅▆▇█"
ASCII_BARS = " .:-=+*#@"


def bins_for(width: int, most: int = HISTOGRAM_BINS) -> int:
    """Bars per histogram so that a row fits ``width`` cells: the layer's name and the ratio
    take about 20, each histogram its bars and two numbers of 7."""
    return max(6, min(most, (width - 20) // 2 - 16))


def bars(counts: list[int], ascii_only: bool = False) -> str:
    """A row of bar characters, each a bin's count on a square-root scale (the tails of a
    weight histogram stay visible beside its peak)."""
    chars = ASCII_BARS if ascii_only else BARS
    top = math.sqrt(max(counts)) if counts and max(counts) else 1.0
    return "".join(chars[round(math.sqrt(c) / top * (len(chars) - 1))] for c in counts)


def spread_table(result, ascii_only: bool = False) -> Group:
    """One row per layer: its weights' and gradients' histograms with their ranges, the
    gradient's size against the weights', and a mark where it vanishes or explodes."""
    warned = {line.split(":")[0] for line in result.warnings()}
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("layer", no_wrap=True, min_width=5)
    table.add_column("weights", no_wrap=True)
    table.add_column("gradients", no_wrap=True)
    table.add_column("grad/w", justify="right", no_wrap=True)
    for spread in result.layers:
        weights, gradients = spread.weights, spread.gradients
        table.add_row(
            spread.layer,
            Text(f"{weights.low:+.2f} ") + Text(bars(weights.counts, ascii_only), "cyan")
            + Text(f" {weights.high:+.2f}"),
            Text(f"{gradients.low:+.0e} ") + Text(bars(gradients.counts, ascii_only), "magenta")
            + Text(f" {gradients.high:+.0e}"),
            Text(f"{spread.ratio:.1e}" + (" !" if spread.layer in warned else "  "),
                 "bold red" if spread.layer in warned else ""),
        )  # fmt: skip
    notes = [Text(line, "red") for line in result.warnings()] or [
        Text("no layer's gradient vanishes or explodes", "dim")
    ]
    caption = Text(
        f"bars: counts on a square-root scale, from the lowest value to the highest; grad/w:"
        f" the gradient's size against the weights'; gradients of the loss ({result.loss:.4f})"
        f" on the first {result.images} test images",
        "dim",
    )
    return Group(table, caption, *notes)


def through_table(moments: list[str], results: list) -> Table:
    """The gradient's size against the weights' for each layer (columns) at each moment
    (rows), with the probe's loss: how learning moves through the layers."""
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("moment", no_wrap=True)
    table.add_column("loss", justify="right")
    names = [s.layer for s in results[0].layers] if results else []
    for name in names:
        table.add_column(name, justify="right", no_wrap=True)
    for moment, result in zip(moments, results, strict=True):
        warned = {line.split(":")[0] for line in result.warnings()}
        table.add_row(moment, f"{result.loss:.4f}", *(
            Text(f"{s.ratio:.1e}", "bold red" if s.layer in warned else "") for s in result.layers
        ))  # fmt: skip
    return table
