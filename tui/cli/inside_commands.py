"""Headless commands that look inside a model: `summary`, and the drawings of the declared
analyses `predict`, `filters`, `activations`, `occlude` (study §2 and §4), `histograms`,
`top-images`, `confusions` and `embedding`. The attacks are in ``attack_commands``."""

from __future__ import annotations

import argparse
import sys

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text

from engine import runs
from engine.config import DEFAULT_MODEL, SETTING
from engine.runs.snapshots import BEST
from tui.cli.analysis_commands import draws, run_analysis, values_of
from tui.cli.console import make_console, print_json, rows_for_pictures
from tui.cli.options import (
    ListAction,
    UserError,
    add_json,
    add_moment_options,
    add_setting,
    add_shared_options,
    non_negative_int,
    setting_type,
)
from tui.cli.subject import subject_of_args
from tui.draw import render


def register(commands: argparse._SubParsersAction) -> None:
    summary = commands.add_parser(
        "summary", help="the architecture table: shapes, parameters, neurons, multiply-adds"
    )
    summary.add_argument("run", metavar="RUN", nargs="?", help="a run, to describe its model")
    model = SETTING["model"]
    summary.add_argument("--model", type=setting_type(model), metavar="NAME",
                         help=f"describe a model: {model.rule()}")  # fmt: skip
    add_setting(summary, SETTING["model_args"])
    add_moment_options(summary, " (the table is the same at every moment; the moment is"
                       " checked and named)")  # fmt: skip
    add_shared_options(summary)
    add_json(summary)
    summary.set_defaults(handler=summary_command)


# --- summary -----------------------------------------------------------------------------


def summary_command(args: argparse.Namespace) -> int:
    from engine.models.files import parse_args
    from engine.models.layer_table import NUMBERS, summarize_model
    from engine.models.zoo import build_model

    if args.run and args.model:
        raise UserError("give a run or --model, not both")
    from tui.cli.subject import moment_of

    moment = moment_of(args) if args.at or args.epoch else None
    if moment and not args.run:
        raise UserError("--epoch and --at need a RUN (a network by name has no training)")
    if args.run:
        run_dir = runs.find_run(args.home_path, args.run)
        name = runs.read_config(run_dir).model
        model = runs.load_run_model(run_dir, moment or BEST)
    else:
        name = args.model or DEFAULT_MODEL
        model = build_model(name, parse_args(args.model_args))
    summary = summarize_model(model, name)
    if args.json:
        print_json(summary.to_dict())
        return 0
    at = f", weights at {moment}" if moment else ""
    table = Table(title=f"{name}: layers (shapes are channels x height x width){at}")
    labels, rows = summary.table()
    for label in labels:
        table.add_column(label, justify="right" if label in NUMBERS else "left")
    for row in rows[:-1]:
        table.add_row(*row)
    table.add_section()
    table.add_row(*(Text(cell, style="bold") for cell in rows[-1]))  # the totals
    console = make_console()
    console.print(table)
    console.print(
        f"conv layers: {summary.parameters_in('conv'):,} parameters, {summary.neurons_in('conv'):,} neurons;"
        f"  fc layers: {summary.parameters_in('fc'):,} parameters, {summary.neurons_in('fc'):,} neurons"
    )
    console.print(
        "Neurons are each layer's outputs, the input counted, BatchNorm not (it rescales the layer before)."
    )
    return 0


# --- predict -----------------------------------------------------------------------------


class ImagesOrFiles(ListAction):
    """predict's --image: test image numbers as declared, or — anything that is not a number
    — picture files and folders of the user's own digits (kept in ``args.files``)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        texts = [t.strip() for value in values for t in value.split(",") if t.strip()]
        if texts and all(t.isdigit() for t in texts):
            namespace.files = None
            return super().__call__(parser, namespace, values, option_string)
        setattr(namespace, self.dest, None)
        namespace.files = list(values)


def add_own_digit_options(parser: argparse.ArgumentParser) -> None:
    from engine.analyses.declaration import IMAGE_NUMBER

    image = next(a for a in parser._actions if a.dest == "image")
    image.__class__ = ImagesOrFiles  # the declared option, taking files too
    image.metavar = "I|FILE"
    image.help = (f"these test images{IMAGE_NUMBER}: {image.spec.rule()}; or your own pictures: PNG, JPEG,"
                  " BMP, GIF, WebP or TIFF files, or folders of them, made into 28x28 as"
                  " MNIST's digits were (light paper inverted, uneven light removed, specks"
                  " ignored, fitted into 20x20 and centred by mass); with the export extra the"
                  " first such prediction keeps an ONNX copy of the weights in the run, so the"
                  " next ones start without loading torch")  # fmt: skip
    parser.set_defaults(files=None)
    parser.add_argument("--raw", action="store_true",
                        help="with your own pictures: only shrink them to 28x28 (and invert"
                        " light paper), without MNIST's preprocessing, to see what it does")  # fmt: skip


@draws("predict", options=add_own_digit_options)
def predict_command(args: argparse.Namespace) -> int:
    if args.files:
        return own_digits_command(args)
    if args.raw:
        raise UserError("--raw is for your own pictures: --image FILE|FOLDER")
    subject = subject_of_args(args)
    console = make_console()
    predictions = run_analysis(args, subject, console, "predicting").predictions
    if args.json:  # a list, as it always was
        print_json([p.__dict__ for p in predictions])
        return 0
    colour = render.colour_enabled(args.ascii, console)
    arrays = [subject.test.images[p.index].numpy() for p in predictions]
    titles = []
    for p in predictions:
        mark = "ok" if p.predicted == p.label else "WRONG"
        titles.append(
            f"#{p.index} {mark}\ntrue {subject.classes[p.label]}\npred {subject.classes[p.predicted]} {p.probability:.0%}"
        )
    columns = render.columns_that_fit(console.width, 28, colour=colour)
    console.print(
        render.tile_grid(arrays, titles, columns=columns, colour=colour, show_legend=False)
    )
    right = sum(p.predicted == p.label for p in predictions)
    console.print(f"{right} of {len(predictions)} right ({subject.run_id}, {subject.checkpoint})")
    return 0


def own_digits_command(args: argparse.Namespace) -> int:
    """`predict --image FILE|FOLDER`: the user's own pictures through MNIST's preprocessing,
    each predicted by the run (engine.data.own_digits) — on the run's ONNX copy when it has
    a fresh one, through torch otherwise (engine.export.onnx_copy)."""
    from pathlib import Path

    from engine.data.own_digits import images_in, own_digit

    if getattr(args, "wrong", False) or getattr(args, "random", None):
        raise UserError("--wrong and --random pick test images: leave them out with your own")
    paths = []
    for given in args.files:
        path = Path(given).expanduser()
        if path.is_dir():
            paths += images_in(path)
        elif path.exists():
            paths.append(path)
        else:
            raise UserError(f"{given}: no such file or folder")
    digits = [own_digit(path, raw=args.raw) for path in paths]  # every mistake before any work
    pixels = np.stack([d.seen for d in digits])[:, None].astype(np.float32) / 255.0
    run_id, moment, classes, probabilities = own_predictions(args, pixels)
    if args.json:
        print_json([{"path": d.path, "prediction": classes[int(p.argmax())],
                     "probabilities": [round(float(v), 6) for v in p]}
                    for d, p in zip(digits, probabilities, strict=True)])  # fmt: skip
        return 0
    console = make_console()
    colour = render.colour_enabled(args.ascii, console)
    if len(digits) == 1:
        digit = digits[0]
        height, width = digit.picture.shape
        scale = min(1.0, (console.width - 34) / width / (1 if colour else 2), 48 / height)
        console.print(Group(
            Text(f"{digit.path} as given" + (" (light paper: inverted for the network)"
                                             if digit.inverted else "")),
            render.image(digit.picture, scale=scale, colour=colour),
            Text("what the network sees (28x28" + (", raw)" if args.raw else
                                                   ", as MNIST's digits were made)")),
            render.image(digit.seen, colour=colour)))  # fmt: skip
    table = Table(title=f"{run_id} ({moment})")
    for column in ("file", "prediction", "probability", "next", "then"):
        table.add_column(column)
    for digit, p in zip(digits, probabilities, strict=True):
        top = np.argsort(-p, kind="stable")[:3]
        shown = [f"{classes[int(i)]} {float(p[i]):.0%}" for i in top]
        table.add_row(Path(digit.path).name, classes[int(top[0])], f"{float(p[top[0]]):.1%}",
                      shown[1], shown[2])  # fmt: skip
    console.print(table)
    return 0


def own_predictions(args: argparse.Namespace, pixels: np.ndarray):
    """(run id, moment, classes, probabilities as a NumPy array) of ``pixels`` (N, 1, 28, 28)
    in [0, 1]. The run's fresh ONNX copy answers without torch (a fraction of a second);
    otherwise torch does, and the copy is written for next time. A fitted temperature needs
    the validation split, so it takes the torch path."""
    from engine import runs
    from engine.export.onnx_copy import fresh_copy, keep_copy
    from engine.models.files import changed_since, untrusted
    from tui.cli.subject import moment_of, say_notice, say_run

    run_dir = runs.find_run(args.home_path, args.run)
    moment = moment_of(args)
    checkpoint = moment.path(run_dir)
    asked = getattr(args, "temperature", None)
    try:
        temperature = 1.0 if asked is None else float(asked)
    except ValueError:
        temperature = 0.0  # 'fit', or a mistake the torch path names
    # a run whose network is code not trusted here goes through torch, which asks for trust
    # (its copy may have come with it, made elsewhere)
    trusted = not untrusted(run_dir, runs.read_config(run_dir).model)
    copy = fresh_copy(run_dir, moment, checkpoint) if temperature > 0 and trusted else None
    if copy is not None:
        say_run(args, run_dir, moment)
        say_notice(changed_since(run_dir))
        return run_dir.name, moment, copy.classes, copy.probabilities(pixels, temperature)
    import torch

    from engine.beyond.calibration import temperature_of
    from engine.pixels import PixelModel

    subject = subject_of_args(args)
    with torch.no_grad():
        scale = temperature_of(subject, asked)
        logits = PixelModel(subject.model)(torch.from_numpy(pixels))
        probabilities = (logits / scale).softmax(1).numpy()
    kept = keep_copy(subject, run_dir, moment, checkpoint)
    if kept is not None:
        print(f"note: kept an ONNX copy of these weights ({kept}): your next pictures are"
              " predicted without loading torch", file=sys.stderr)  # fmt: skip
    return subject.run_id, moment, subject.classes, probabilities


# --- filters and activations ---------------------------------------------------------------


def add_conv2_option(parser: argparse.ArgumentParser) -> None:
    # the study's `filters --conv2 K` (conv2's filter K), kept working
    parser.add_argument("--conv2", type=non_negative_int, metavar="K", help=argparse.SUPPRESS)


@draws("filters", options=add_conv2_option)
def filters_command(args: argparse.Namespace) -> int:
    if getattr(args, "conv2", None) is not None:
        args.layer, args.filter = "conv2", args.conv2
    subject = subject_of_args(args)
    console = make_console()
    shown = run_analysis(args, subject, console, "filters")
    if args.json:
        print_json(shown.to_dict())
        return 0
    console.print(f"[bold]{shown.title}[/] — {subject.run_id}")
    colour = render.colour_enabled(args.ascii, console)
    pixels = shown.weights.shape[-1]
    scale = 2 if pixels <= 7 else 1
    columns = render.columns_that_fit(console.width, pixels, scale, colour=colour, most=8)
    console.print(render.tile_grid([w.numpy() for w in shown.weights], shown.titles,
                                   columns=columns, cmap="signed", scale=scale, colour=colour))  # fmt: skip
    return 0


@draws("activations")
def activations_command(args: argparse.Namespace) -> int:
    from engine.models.layers import convolutions

    subject = subject_of_args(args)
    subject.check_index(args.image)
    console = make_console()
    if args.json or args.layer is not None or not convolutions(subject.model):
        layers = [args.layer]
    else:  # each convolution in turn
        layers = [name for name, _ in convolutions(subject.model)]
    for layer in layers:
        args.layer = layer
        result = run_analysis(args, subject, console, "activations")
        if args.json:
            print_json(result.to_dict())
            return 0
        show_activations(console, args, subject, result)
    return 0


def show_activations(console, args: argparse.Namespace, subject, result) -> None:
    maps = result.maps
    console.print(
        f"[bold]{result.layer} activations[/] (after ReLU) of test image #{result.index} (a {subject.classes[result.label]})"
    )
    colour = render.colour_enabled(args.ascii, console)
    columns = render.columns_that_fit(console.width, maps.shape[-1], colour=colour)
    grid = render.tile_grid(
        [m.numpy() for m in maps],
        [f"map {i}" for i in range(len(maps))],
        columns=columns,
        cmap="viridis",
        colour=colour,
    )
    console.print(grid)


# --- occlusion -----------------------------------------------------------------------------


def numbers_table(values: np.ndarray, offsets: list[int], fmt: str, title: str) -> Table:
    table = Table(title=title, show_edge=False, pad_edge=False, padding=(0, 1))
    table.add_column("row\\col", justify="right", style="dim")
    for offset in offsets:
        table.add_column(str(offset), justify="right")
    for offset, row in zip(offsets, values, strict=True):
        table.add_row(str(offset), *(fmt.format(v) for v in row))
    return table


@draws("occlude")
def occlude_command(args: argparse.Namespace) -> int:
    subject = subject_of_args(args)
    subject.check_index(args.image)
    console = make_console()
    result = run_analysis(args, subject, console, "occlusion")
    if args.json:
        print_json(result.to_dict())
        return 0
    image = subject.test.images[args.image]
    label = result.label
    colour = render.colour_enabled(args.ascii, console)
    probs = result.true_probability.numpy()
    classes = result.predicted_class.numpy()
    scale = max(1, 24 // len(result.offsets))
    name = subject.classes
    console.print(
        f"[bold]Occlusion[/] of test image #{args.image}: true {name[label]}, predicted"
        f" {name[result.predicted]} ({result.probability:.1%}); a {args.patch}x{args.patch} patch of"
        f" {args.fill:g} at {len(result.offsets)}x{len(result.offsets)} positions (stride {args.stride})"
    )
    panels = Table.grid(padding=(0, 3))
    for _ in range(3):
        panels.add_column()
    class_values = classes.astype(float)
    panels.add_row(
        Group(Text("image"), render.image(image.numpy(), scale=1, colour=colour)),
        Group(
            Text(f"P({name[label]}) with the patch at each position"),
            render.image(probs, cmap="viridis", vmin=0, vmax=1, scale=scale, colour=colour),
            render.legend(0, 1, "viridis", width=16, colour=colour),
        ),
        Group(
            Text("predicted class at each position"),
            render.image(class_values, cmap="classes", vmin=0, vmax=9, scale=scale, colour=colour),
            render.class_legend([str(i) for i in range(10)], colour=colour),
        ),
    )
    console.print(panels)
    console.print(
        numbers_table(
            probs,
            result.offsets,
            "{:.2f}",
            f"P(true class {name[label]}), rows and columns: patch offset",
        )
    )
    console.print(numbers_table(classes, result.offsets, "{}", "predicted class"))
    low = np.unravel_index(np.argmin(probs), probs.shape)
    console.print(
        f"lowest P({name[label]}) = {probs[low]:.3f} with the patch at row {result.offsets[low[0]]},"
        f" column {result.offsets[low[1]]}; the prediction ({name[result.predicted]} unoccluded)"
        f" changes at {result.changed_positions} of {classes.size} positions"
    )
    return 0


# What the command line draws by hand, by declared analysis (engine.analyses).
# --- histograms --------------------------------------------------------------------------


def add_through_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--through", action="store_true",
                        help="the gradient's size against the weights' for every layer at"
                             " every moment kept (the run's snapshots, then its best)")  # fmt: skip


@draws("histograms", options=add_through_option)
def histograms_command(args: argparse.Namespace) -> int:
    from engine.analyses import ANALYSES
    from tui.draw.histograms import bins_for, spread_table, through_table

    console = make_console()
    ascii_only = not render.colour_enabled(args.ascii, console)
    if args.bins == ANALYSES["histograms"].default("bins") and not args.json:
        args.bins = bins_for(console.width)  # not given: as many bars as the terminal fits
    if not args.through:
        subject = subject_of_args(args)
        result = run_analysis(args, subject, console, "histograms")
        if args.json:
            print_json(result.to_dict())
            return 0
        console.print(f"[bold]Weights and gradients[/] — {subject.run_id}, {moment_label(args)}")
        console.print(spread_table(result, ascii_only))
        return 0
    from engine.runs.snapshots import series as moment_series
    from engine.subject import Subjects

    run_dir = runs.find_run(args.home_path, args.run)
    args.run, args.epoch = run_dir.name, None
    series = moment_series(run_dir, args.checkpoint)
    if len(series) == 1:
        print(f"note: run {run_dir.name} kept no snapshots (imported, or trained with --snapshots"
              f" none): only its {args.checkpoint}.pt is shown", file=sys.stderr)  # fmt: skip
    source = Subjects(args.home_path)  # the test images read once, not once a moment
    results = [run_analysis(args, source.get(run_dir, moment), console, f"histograms at {moment}")
               for moment in series]  # fmt: skip
    if args.json:
        print_json([{"moment": m, **r.to_dict()} for m, r in zip(series, results, strict=True)])
        return 0
    console.print(f"[bold]The gradient's size against the weights', per layer[/] — {run_dir.name}")
    console.print(through_table(series, results))
    for moment, result in zip(series, results, strict=True):
        for line in result.warnings():
            console.print(Text(f"at {moment}, {line}", "red"))
    return 0


def moment_label(args: argparse.Namespace) -> str:
    from tui.cli.subject import moment_of

    return moment_of(args).label


@draws("top-images")
def top_images_command(args: argparse.Namespace) -> int:
    """The channel's strongest test images, the receptive field at each peak bright and the
    rest dimmed, with the channel's filter."""
    from engine.inside.channels import field_picture

    subject = subject_of_args(args)
    console = make_console()
    result = run_analysis(args, subject, console, "scanning the test set")
    if args.json:
        print_json(result.to_dict())
        return 0
    colour = render.colour_enabled(args.ascii, console)
    console.print(f"[bold]What a channel responds to[/] — {subject.run_id}, {moment_label(args)}")
    console.print(result.summary(), markup=False, highlight=False)
    if result.dead:
        return 0
    arrays, titles = [], []
    for index, label, value, box in zip(result.indices, result.labels, result.activations,
                                        result.boxes, strict=True):  # fmt: skip
        arrays.append(field_picture(subject.test.images[index].numpy(), box))
        titles.append(f"#{index} a {subject.classes[label]}\n{value:.3g}")
    columns = render.columns_that_fit(console.width, 28, colour=colour)
    console.print(render.tile_grid(arrays, titles, columns=columns, colour=colour,
                                   show_legend=False, limits=(0.0, 1.0)))  # fmt: skip
    depth = "" if result.input_depths == 1 else f" (mean of its {result.input_depths} depths)"
    console.print(Text(f"its filter{depth}:"))
    weights = np.array(result.filter)
    console.print(render.tile_grid([weights], None, columns=1, cmap="signed", colour=colour,
                                   scale=2, limits=(-abs(weights).max(), abs(weights).max())))  # fmt: skip
    return 0


@draws("confusions")
def confusions_command(args: argparse.Namespace) -> int:
    """The most confused pairs as a table, then one pair's images with their probabilities."""
    subject = subject_of_args(args)
    console = make_console()
    result = run_analysis(args, subject, console, "scoring the test set")
    if args.json:
        print_json(result.to_dict())
        return 0
    console.print(f"[bold]Confusions[/] — {subject.run_id}, {moment_label(args)}")
    console.print(result.summary(), markup=False)
    if result.pair is None:
        return 0
    table = Table(title="most confused (true → predicted)", show_edge=False)
    for column in ("true", "predicted", "images"):
        table.add_column(column, justify="right")
    for true, guess, count in result.pairs[:10]:
        table.add_row(subject.classes[true], subject.classes[guess], str(count))
    console.print(table)
    if not result.indices:
        console.print(f"no test image of {result.pair[0]} is taken for {result.pair[1]}")
        return 0
    colour = render.colour_enabled(args.ascii, console)
    arrays = [subject.test.images[i].numpy() for i in result.indices]
    titles = [f"#{i}\nP({subject.classes[result.pair[1]]}) {pp:.0%}\nP({subject.classes[result.pair[0]]}) {pt:.0%}"
              for i, pp, pt in zip(result.indices, result.predicted_probability,
                                   result.true_probability, strict=True)]  # fmt: skip
    columns = render.columns_that_fit(console.width, 28, colour=colour)
    console.print(render.tile_grid(arrays, titles, columns=columns, colour=colour,
                                   show_legend=False))  # fmt: skip
    return 0


def add_embedding_through_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--through", action="store_true",
                        help="the silhouette at every moment kept (the run's snapshots, then"
                             " its best), each moment's map on PCA axes fitted once on the"
                             " last, so the maps are comparable; the map of the first and the"
                             " last moment")  # fmt: skip


def embedding_through(args: argparse.Namespace) -> int:
    """Every moment's silhouette on one set of PCA axes (fitted on the last moment)."""
    from engine.inside.embedding import through_training
    from engine.runs.snapshots import series as moment_series
    from engine.subject import Subjects
    from tui.draw.charts import chart_xy, scatter_by_class

    if args.method != "pca":  # said in the options' words (the engine refuses it too)
        raise UserError("--through fits one set of PCA axes for every moment: use --method pca")
    values = values_of(args)
    run_dir = runs.find_run(args.home_path, args.run)
    series = moment_series(run_dir, args.checkpoint)
    source = Subjects(args.home_path)  # the test images read once, not once a moment
    maps = through_training(lambda moment: source.get(run_dir, moment), series, **values)
    console = make_console()
    if args.json:
        print_json([{"moment": m, **e.to_dict()} for m, e in zip(series, maps, strict=True)])
        return 0
    console.print(f"[bold]The map of what it learned, through training[/] — {run_dir.name}"
                  f" ({maps[-1].layer}, axes of {series[-1]})")  # fmt: skip
    for moment, found in zip(series, maps, strict=True):
        console.print(f"  {moment:<10} silhouette {found.silhouette:+.3f}", highlight=False)
    colour = render.colour_enabled(args.ascii, console)
    if len(series) > 1:
        console.print(chart_xy({"silhouette": (list(range(len(series))),
                                               [m.silhouette for m in maps])},
                               title="silhouette of the true classes at each moment (0 = "
                               f"{series[0]}, {len(series) - 1} = {series[-1]})",
                               xlabel="moment", width=min(console.width, 100), height=10,
                               colour=colour, integer_x=True))  # fmt: skip
    for moment, found in ((series[0], maps[0]), (series[-1], maps[-1])):
        wrong = [label != p for label, p in zip(found.labels, found.predictions, strict=True)]
        console.print(scatter_by_class(found.x, found.y, found.labels, wrong,
                                       title=f"{moment}: silhouette {found.silhouette:.3f}",
                                       width=min(console.width, 100), height=16,
                                       colour=colour))  # fmt: skip
    return 0


@draws("embedding", options=add_embedding_through_option)
def embedding_command(args: argparse.Namespace) -> int:
    """The test images as a scatter of digits, misclassified ones marked, and the silhouette."""
    from tui.draw.charts import scatter_by_class

    if getattr(args, "through", False):
        return embedding_through(args)
    subject = subject_of_args(args)
    console = make_console()
    result = run_analysis(args, subject, console, f"embedding with {args.method.upper()}")
    if args.json:
        print_json(result.to_dict())
        return 0
    console.print(f"[bold]The map of what it learned[/] — {subject.run_id}, {moment_label(args)}")
    console.print(result.summary(), markup=False, highlight=False)
    wrong = [label != p for label, p in zip(result.labels, result.predictions, strict=True)]
    height = max(10, min(40, rows_for_pictures(console, 36) - 6))
    console.print(scatter_by_class(result.x, result.y, result.labels, wrong,
                                   title=f"{result.layer}: {result.method.upper()}",
                                   width=min(console.width, 120), height=height,
                                   colour=render.colour_enabled(args.ascii, console)))  # fmt: skip
    return 0
