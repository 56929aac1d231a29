"""Headless attribution: `attribute` — which pixels made the network say what it said, by
every method side by side, each scored for faithfulness (study §4)."""

from __future__ import annotations

import argparse

from tui.cli.analysis_commands import draws, run_analysis
from tui.cli.console import make_console, print_json
from tui.cli.options import non_negative_int
from tui.cli.subject import subject_of_args


def add_class_view_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--class-view", action="store_true",
                        help="the mean map of each digit instead of one image: the same"
                             " as `mnist-tui class-view` (--limit N: the first N test"
                             " images)")  # fmt: skip
    parser.add_argument("--limit", type=non_negative_int, metavar="N", help=argparse.SUPPRESS)


@draws("attribute", options=add_class_view_option)
def attribute_command(args: argparse.Namespace) -> int:
    subject = subject_of_args(args)
    if args.class_view:  # one route: the class view's own analysis
        args.analysis = "class-view"
        return class_view_command(args, subject)
    subject.check_index(args.image)
    console = make_console()
    explanation = run_analysis(args, subject, console, "attributing")
    if args.json:
        print_json({"run": subject.run_id, **explanation.to_dict()})
        return 0
    show_maps(console, args, subject, explanation)
    return 0


def show_maps(console, args, subject, explanation) -> None:
    import numpy as np
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from tui.draw import render
    from tui.draw.charts import chart_xy

    colour = render.colour_enabled(args.ascii, console)
    image, target = subject.test.images[args.image], explanation.target
    results, random_curve = explanation.maps, explanation.random_curve
    label = subject.classes[explanation.label]
    console.print(
        f"[bold]Attribution[/] of test image #{args.image} (a {label}) for class"
        f" {subject.classes[target]} — {subject.run_id}; red: pushes toward the class, blue:"
        " away (saliency and SmoothGrad are magnitudes)"
    )
    columns = max(1, min(4, console.width // 32))
    grid = Table.grid(padding=(0, 2))
    for _ in range(columns):
        grid.add_column()
    cells = [Group(Text("image"), render.image(image.numpy(), colour=colour))]
    for r in results:
        limit = float(np.abs(r.attribution).max()) or 1.0
        cells.append(Group(
            Text(f"{r.method} (deletion {r.deletion_area:.3f})"),
            render.image(r.attribution, cmap="signed", vmin=-limit, vmax=limit, colour=colour),
            render.legend(-limit, limit, "signed", width=24, colour=colour),
        ))  # fmt: skip
    for start in range(0, len(cells), columns):
        row = cells[start : start + columns]
        grid.add_row(*row, *[""] * (columns - len(row)))
    console.print(grid)
    series = {r.method: (r.deletion_fraction, r.deletion_probability) for r in results}
    series["random order"] = random_curve
    console.print(chart_xy(series, title=f"deletion curves: P({subject.classes[target]}) as the"
                           " most attributed pixels are removed", xlabel="share of pixels removed",
                           width=min(console.width, 100), height=16, colour=colour, ylim=(0, 1)))  # fmt: skip
    console.print(explanation.summary())


@draws("class-view")
def class_view_command(args: argparse.Namespace, subject=None) -> int:
    """Each method's mean map of each digit, a row of ten a method."""
    from tui.draw import render

    subject = subject or subject_of_args(args)
    console = make_console()
    view = run_analysis(args, subject, console, "class view")
    if args.json:
        print_json({"run": subject.run_id, **view.to_dict()})
        return 0
    colour = render.colour_enabled(args.ascii, console)
    columns = render.columns_that_fit(console.width, 28, colour=colour, most=10)  # whole pixels
    for method, maps in view.maps.items():
        console.print(
            f"[bold]{method}[/]: the mean map over the correctly classified images of each digit"
        )
        keys = sorted(maps)
        console.print(render.tile_grid([maps[k] for k in keys], [str(k) for k in keys],
                                       columns=columns, cmap="signed", colour=colour))  # fmt: skip
    console.print(view.summary(), markup=False, highlight=False)
    return 0
