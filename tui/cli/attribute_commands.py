"""Headless attribution: `attribute` — which pixels made the network say what it said, by
seven methods side by side, each scored for faithfulness (study §4)."""

from __future__ import annotations

import argparse

from engine.config import ATTRIBUTION_METHODS, STUDY_IMAGE
from tui.cli.console import make_console, print_json, progress_bar
from tui.cli.options import UserError, add_subject_options, non_negative_int
from tui.cli.subject import load_subject


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "attribute",
        help=f"attribution maps by {len(ATTRIBUTION_METHODS)} methods side by side, with their"
        " faithfulness",
        description="Which pixels made the network say what it said: saliency, input x"
        " gradient, integrated gradients, SmoothGrad, Grad-CAM, DeepLIFT (all from Captum) and"
        " occlusion, for one test image and class, each with its deletion curve (remove the"
        " most important pixels first; the faster P(class) falls, the more faithful the map)."
        " With --class-view, each method's mean map over the correctly classified images of"
        " each digit.",
    )
    add_subject_options(parser)
    parser.add_argument("--index", type=non_negative_int, default=STUDY_IMAGE, metavar="I",
                        help=f"test image (default {STUDY_IMAGE}, the study's '9')")  # fmt: skip
    parser.add_argument("--method", choices=[*ATTRIBUTION_METHODS, "all"], default="all")
    parser.add_argument("--target", type=int, choices=range(10), metavar="T",
                        help="the class to explain (default: the predicted one)")  # fmt: skip
    parser.add_argument("--class-view", action="store_true",
                        help="the mean map of each class instead of one image")  # fmt: skip
    parser.add_argument("--limit", type=non_negative_int, metavar="N",
                        help="with --class-view: the first N test images (default all)")  # fmt: skip
    parser.set_defaults(handler=attribute_command)


def attribute_command(args: argparse.Namespace) -> int:
    subject = load_subject(args)
    if args.class_view:
        return class_view_command(args, subject)
    from engine.attribution import METHODS, explain

    subject.check_index(args.index)
    methods = METHODS if args.method == "all" else (args.method,)
    image = subject.test.images[args.index]
    console = make_console()
    with progress_bar(console, "attributing") as emit:
        target, results, random_curve = explain(
            subject.model, image, args.target, methods, emit=emit
        )
    if args.json:
        print_json({"run": subject.run_id, "index": args.index, "label": int(subject.test.labels[args.index]),
                    "target": target, "methods": [r.to_dict() for r in results],
                    "random_deletion": {"fraction": random_curve[0], "probability": random_curve[1]}})  # fmt: skip
        return 0
    show_maps(console, args, subject, image, target, results, random_curve)
    return 0


def show_maps(console, args, subject, image, target, results, random_curve) -> None:
    import numpy as np
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from engine.attribution import curve_area
    from tui.draw import render
    from tui.draw.charts import chart_xy

    colour = render.colour_enabled(args.ascii, console)
    label = subject.classes[int(subject.test.labels[args.index])]
    console.print(
        f"[bold]Attribution[/] of test image #{args.index} (a {label}) for class"
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
    ranking = sorted(results, key=lambda r: r.deletion_area)
    console.print("faithfulness (area under the deletion curve, lower is better): " + ", ".join(
        f"{r.method} {r.deletion_area:.3f}" for r in ranking) + f"; random order {curve_area(*random_curve):.3f}")  # fmt: skip


def class_view_command(args: argparse.Namespace, subject) -> int:
    from engine.attribution import METHODS, class_view
    from tui.cli.console import interruptible
    from tui.draw import render

    every = [m for m in METHODS if m != "occlusion"]  # occlusion: 64 passes an image, too slow
    methods = every if args.method == "all" else [args.method]
    console = make_console()
    views = {}
    cancel = interruptible()
    for method in methods:
        with progress_bar(console, f"class view: {method}") as emit:
            views[method] = class_view(subject.model, subject.test.images, subject.test.labels,
                                       method, limit=args.limit, emit=emit, cancel=cancel)  # fmt: skip
    if args.json:
        print_json({"run": subject.run_id, "methods": {m: {str(k): v.tolist() for k, v in maps.items()}
                                                       for m, maps in views.items()}})  # fmt: skip
        return 0
    colour = render.colour_enabled(args.ascii, console)
    for method, maps in views.items():
        if not maps:
            raise UserError("no correctly classified image among those looked at")
        console.print(
            f"[bold]{method}[/]: the mean map over the correctly classified images of each digit"
        )
        keys = sorted(maps)
        console.print(render.tile_grid([maps[k] for k in keys], [str(k) for k in keys], columns=10,
                                       cmap="signed", colour=colour))  # fmt: skip
    return 0
