"""Headless commands that break a model (study §5): `attack synthesize|targeted|noise|fgsm|pgd`
and `robustness`."""

from __future__ import annotations

import argparse

from rich.console import Group
from rich.table import Table
from rich.text import Text

from engine import events as ev
from engine.attacks.catalogue import ATTACKS
from engine.columns import BAND_COLUMNS, ROBUSTNESS_COLUMNS
from engine.config import SYNTHESIS_METHODS, synthesis_budget
from tui.cli.analysis_commands import draws, run_analysis, values_of
from tui.cli.console import make_console, print_json
from tui.cli.options import UserError, add_device, positive_int
from tui.cli.subject import subject_of_args
from tui.draw import render
from tui.draw.charts import line_chart
from tui.draw.tables import rich_table


def add_show_pair(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--show", type=pair_of_digits, metavar="S,T",
                        help="draw this source,target pair (e.g. 2,9)")  # fmt: skip


def add_show_examples(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--show", type=positive_int, default=4, metavar="N",
                        help="draw N examples (default 4)")  # fmt: skip


def pair_of_digits(text: str) -> tuple[int, int]:
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() and len(p.strip()) == 1 for p in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a source and a target digit, e.g. 2,9")
    return int(parts[0]), int(parts[1])


# What the command line draws by hand, by analysis; the options come from the declarations.


# --- synthesis -----------------------------------------------------------------------------


@draws("synthesize")
def synthesize_command(args: argparse.Namespace) -> int:
    args.steps, args.step_size = synthesis_budget(args.method, args.steps, args.step_size)
    subject = subject_of_args(args)
    console = make_console()
    result = run_analysis(args, subject, console, "synthesizing")
    if args.json:
        print_json(result.to_dict())
        return 0
    colour = render.colour_enabled(args.ascii, console)
    console.print(
        f"[bold]Class synthesis[/] ({args.method}: {SYNTHESIS_METHODS[args.method]}),"
        f" {args.steps:,} steps of {args.step_size:g}"
        f" ({'pixels kept in [0, 1]' if args.clamp else 'pixels free'}) — {subject.run_id}"
    )
    titles = [
        f"k={k} p={p:.3f}\nlogit {v:.1f}"
        for k, p, v in zip(result.classes, result.probabilities, result.logits, strict=True)
    ]
    columns = render.columns_that_fit(console.width, 28, colour=colour, most=10)
    console.print(
        render.tile_grid(
            [im[0].numpy() for im in result.images],
            titles,
            columns=columns,
            colour=colour,
            shared_scale=False,
            show_legend=False,
        )
    )
    curves = {str(k): [row[i] for row in result.logit_curve] for i, k in enumerate(result.classes)}
    console.print(
        line_chart(
            result.curve_steps,
            curves,
            title="target logit against step",
            xlabel="step",
            width=min(console.width, 100),
            colour=colour,
        )
    )
    return 0


# --- targeted ------------------------------------------------------------------------------


@draws("targeted")
def targeted_command(args: argparse.Namespace) -> int:
    subject = subject_of_args(args)
    subject.check_index(args.image)
    console = make_console()
    result = run_analysis(args, subject, console, "targeted")
    if args.json:
        print_json({"image_index": args.image, **result.to_dict()})
        return 0
    colour = render.colour_enabled(args.ascii, console)
    label = int(subject.test.labels[args.image])
    console.print(
        f"[bold]Targeted[/]: near test image #{args.image} (a {label}), called {args.target};"
        f" beta {args.beta:g}, {args.steps:,} steps — {subject.run_id}"
    )
    panels = Table.grid(padding=(0, 3))
    panels.add_row(
        Group(
            Text(f"real #{args.image} ({label})"),
            render.image(result.reference[0].numpy(), colour=colour),
        ),
        Group(
            Text(f"result: predicted {result.predicted}"),
            render.image(result.image[0].numpy(), colour=colour),
        ),
    )
    console.print(panels)
    console.print(result.summary())
    console.print(
        line_chart(
            result.curve_steps,
            {f"P({args.target})": result.probability_curve},
            title="target probability against step",
            xlabel="step",
            width=min(console.width, 100),
            height=12,
            colour=colour,
        )
    )
    return 0


# --- noise ---------------------------------------------------------------------------------


@draws("noise", options=add_show_pair)
def noise_command(args: argparse.Namespace) -> int:
    subject = subject_of_args(args)
    console = make_console()
    result = run_analysis(args, subject, console, "adding noise")
    if args.json:
        print_json(result.to_dict())
        return 0
    console.print(
        f"[bold]Adding noise[/]: steps of {args.step_size:g} on image + noise until the prediction flips"
        f" (at most {args.max_steps:,}) — {subject.run_id}"
    )
    for title, values, fmt in (
        ("steps needed", result.steps, "{:d}"),
        ("noise size, L-infinity", result.linf, "{:.2f}"),
        ("noise size, L2", result.l2, "{:.2f}"),
    ):
        table = Table(
            title=f"{title} (rows: source digit, columns: target)", show_edge=False, padding=(0, 1)
        )
        table.add_column("src", justify="right", style="dim")
        for t in args.targets:
            table.add_column(str(t), justify="right")
        for s in args.sources:
            cells = []
            for t in args.targets:
                row = result.pair(s, t)
                if row is None:
                    cells.append("·")
                elif result.steps[row] is None:
                    cells.append("[red]fail")
                else:
                    cells.append(fmt.format(values[row]))
            table.add_row(str(s), *cells)
        console.print(table)
    console.print(result.summary())
    if args.show:
        row = result.pair(args.show[0], args.show[1])
        if row is None:
            raise UserError(f"the pair {args.show[0]}->{args.show[1]} was not attacked")
        colour = render.colour_enabled(args.ascii, console)
        clean, adversarial = result.images[row, 0].numpy(), result.adversarial[row, 0].numpy()
        panels = Table.grid(padding=(0, 3))
        panels.add_row(
            Group(
                Text(f"image #{result.indices[row]} ({result.sources[row]})"),
                render.image(clean, colour=colour),
            ),
            Group(
                Text("noise (signed)"),
                render.image(adversarial - clean, cmap="signed", colour=colour),
            ),
            Group(
                Text(f"sum: predicted {result.predicted[row]}"),
                render.image(adversarial, colour=colour),
            ),
        )
        console.print(panels)
    return 0


# --- FGSM / PGD and robustness -------------------------------------------------------------


@draws("fgsm", "pgd", options=add_show_examples)
def lp_attack_command(args: argparse.Namespace) -> int:
    subject = subject_of_args(args)
    console = make_console()
    result = run_analysis(args, subject, console, args.analysis)
    if args.json:
        print_json(result.to_dict())
        return 0
    count = len(result.labels)
    console.print(
        f"[bold]{args.analysis.upper()}[/] eps {args.eps:g} on the first {count:,} test images — {subject.run_id}"
    )
    console.print(result.summary())
    images, adversarial, labels = result.images, result.adversarial, result.labels
    adv_pred = result.predicted
    flipped = result.flipped(args.show)
    if flipped:
        colour = render.colour_enabled(args.ascii, console)
        grid = Table.grid(padding=(0, 2))
        for i in flipped:
            grid.add_row(
                Group(
                    Text(f"#{i}: {int(labels[i])}"),
                    render.image(images[i, 0].numpy(), colour=colour),
                ),
                Group(
                    Text("perturbation"),
                    render.image(
                        (adversarial[i] - images[i])[0].numpy(), cmap="signed", colour=colour
                    ),
                ),
                Group(
                    Text(f"called {int(adv_pred[i])}"),
                    render.image(adversarial[i, 0].numpy(), colour=colour),
                ),
            )
        console.print(grid)
    return 0


@draws("robustness", options=lambda parser: add_device(parser, "attack"))
def robustness_command(args: argparse.Namespace) -> int:
    from engine.attacks.start import device_of
    from engine.training.device import device_label

    subject = subject_of_args(args)
    console = make_console()
    points = run_analysis(args, subject, console, f"{args.attack} robustness").points
    if args.json:
        print_json([ev.event_to_dict(p) for p in points])
        return 0
    console.print(
        f"[bold]Robustness[/] under {ATTACKS[args.attack].words(values_of(args))}"
        + f" on {points[0].images:,} test images, on {device_label(device_of(subject.model))}"
        + f" — {subject.run_id}"
    )
    band = points[0].certified_accuracy is not None
    columns = ROBUSTNESS_COLUMNS + (BAND_COLUMNS if band else ())
    console.print(rich_table(columns, points, show_edge=False))
    console.print(
        "robust to eps: right under the attack at every eps up to this one (it never rises with eps)"
    )
    if band:
        console.print("proven: no change of at most eps can change the answer (interval"
                      " bounds); the true robust accuracy lies between proven and robust to"
                      " eps: 'unknown' is how far apart they are")  # fmt: skip
    if args.attack == "worst":
        for p in points:
            steps = ", ".join(f"{part} {share:.2%}" for part, share in p.after_each.items())
            console.print(f"eps {p.eps:g}, right after each attack in turn: {steps}")
    console.print(
        line_chart(
            [p.eps for p in points],
            {"accuracy": [100 * p.accuracy for p in points]},
            title="test accuracy (%) against eps",
            xlabel="eps",
            width=min(console.width, 80),
            height=12,
            colour=render.colour_enabled(args.ascii, console),
        )
    )
    return 0


@draws("certify")
def certify_command(args: argparse.Namespace) -> int:
    """What interval bounds prove at each eps, as a table, and what it means beside the
    attacks."""
    subject = subject_of_args(args)
    console = make_console()
    result = run_analysis(args, subject, console, "certify")
    if args.json:
        print_json(result.to_dict())
        return 0
    points = result.points
    console.print(f"[bold]Certified robustness[/] by interval bounds on {points[0].images:,}"
                  f" test images — {subject.run_id}")  # fmt: skip
    table = Table(show_edge=False)
    for name in ("eps", "proven robust", "images proven", "clean accuracy", "seconds"):
        table.add_column(name, justify="right")
    for p in points:
        table.add_row(f"{p.eps:g}", f"{p.certified_accuracy:.2%}", f"{p.certified:,}",
                      f"{p.accuracy:.2%}", f"{p.seconds:.1f}")  # fmt: skip
    console.print(table)
    console.print("proven robust: right, and no change of at most eps to any pixel can change"
                  " the answer; the true robust accuracy lies between this and what the"
                  f" strongest attack leaves (`mnist-tui robustness {subject.run_id} --attack"
                  " worst`)")  # fmt: skip
    return 0
