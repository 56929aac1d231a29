"""Headless commands that break a model (study §5): `attack synthesize|targeted|noise|fgsm|pgd`
and `robustness`."""

from __future__ import annotations

import argparse

from rich.console import Group
from rich.table import Table
from rich.text import Text

from engine import events as ev
from engine.config import (
    NOISE_STEP_SIZE,
    NOISE_STEPS,
    PGD_ALPHA,
    PGD_STEPS,
    ROBUSTNESS_ATTACKS,
    SYNTHESIS_DEFAULTS,
    SYNTHESIS_METHODS,
    TARGETED_BETA,
    TARGETED_STEP_SIZE,
    TARGETED_STEPS,
)
from tui.cli.console import interruptible, make_console, print_json, progress_bar
from tui.cli.options import (
    UserError,
    add_device,
    add_subject_options,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    unit_float,
)
from tui.cli.subject import load_subject
from tui.draw import render
from tui.draw.charts import line_chart
from tui.draw.tables import counted

DEFAULT_EPS = "0,0.05,0.1,0.15,0.2,0.25,0.3"
MOST_EPS = 50  # values in an --eps list (each is an attack over the images)


def digit_list(text: str) -> list[int]:
    """'0-9', '3', '1,4,7' or '0-2,7' as a sorted list of digits."""
    digits: set[int] = set()
    try:
        for part in text.split(","):
            if "-" in part:
                low, high = (int(p) for p in part.split("-", 1))
                if high < low:
                    raise ValueError
                digits.update(range(low, high + 1))
            else:
                digits.add(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a list of digits like 0-9 or 1,4,7"
        ) from None
    if not digits or min(digits) < 0 or max(digits) > 9:
        raise argparse.ArgumentTypeError(f"{text!r}: digits must be 0-9")
    return sorted(digits)


def float_list(text: str) -> list[float]:
    """'0,0.1,0.3': each item a number from 0 to 1, none empty, none twice."""
    parts = text.split(",")
    if any(not part.strip() for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} has an empty item: give numbers like 0,0.1,0.3")
    try:
        values = [float(v) for v in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of numbers"
        ) from None
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"{text!r} gives a value twice")
    if len(values) > MOST_EPS:
        raise argparse.ArgumentTypeError(f"{len(values)} values: at most {MOST_EPS}")
    if not values or any(not 0 <= v <= 1 for v in values):  # also false for nan
        raise argparse.ArgumentTypeError(f"{text!r}: give one or more numbers from 0 to 1")
    return values


def digit(text: str) -> int:
    text = text.strip()
    if len(text) != 1 or not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a single digit 0-9")
    return int(text)


def register(commands: argparse._SubParsersAction) -> None:
    attack = commands.add_parser(
        "attack", help="adversarial images: synthesize, targeted, noise, fgsm, pgd"
    )
    kinds = attack.add_subparsers(dest="attack", metavar="ATTACK", required=True)

    synth = kinds.add_parser(
        "synthesize", help="from noise, an image the network calls k with certainty"
    )
    add_subject_options(synth)
    synth.add_argument(
        "--classes",
        type=digit_list,
        default=list(range(10)),
        help="digits, e.g. 0-9 (default) or 3,8",
    )
    synth.add_argument("--steps", type=positive_int, default=None,
                       help="default: " + ", ".join(f"{steps:,} for {name}" for name, (steps, _)
                                                    in SYNTHESIS_DEFAULTS.items()))  # fmt: skip
    synth.add_argument("--method", choices=SYNTHESIS_METHODS, default="sign",
                       help="; ".join(f"{name}: {what}" for name, what in SYNTHESIS_METHODS.items())
                       + " (default sign)")  # fmt: skip
    synth.add_argument("--step-size", type=positive_float, default=None,
                       help="default: " + ", ".join(f"{size:g} for {name}" for name, (_, size)
                                                    in SYNTHESIS_DEFAULTS.items()))  # fmt: skip
    synth.add_argument("--seed", type=non_negative_int, default=0,
                       help="seed of the starting noise (default 0)")  # fmt: skip
    synth.add_argument(
        "--no-clamp", action="store_true", help="let pixels leave [0, 1], as the original did"
    )
    synth.set_defaults(handler=synthesize_command)

    targeted = kinds.add_parser(
        "targeted", help="an image near a real digit that the network calls T"
    )
    add_subject_options(targeted)
    targeted.add_argument(
        "--image", type=non_negative_int, required=True, metavar="I", help="test image to stay near"
    )
    targeted.add_argument("--target", type=digit, required=True, metavar="T",
                          help="the digit the network should call it (0-9)")  # fmt: skip
    targeted.add_argument(
        "--beta",
        type=non_negative_float,
        default=TARGETED_BETA,
        help=f"weight of the MSE term (default {TARGETED_BETA:g}; larger keeps the image nearer the digit)",
    )
    add_step_options(targeted, "--steps", TARGETED_STEPS, "gradient steps", TARGETED_STEP_SIZE,
                     "size of each step", "seed of the starting noise")  # fmt: skip
    targeted.set_defaults(handler=targeted_command)

    noise = kinds.add_parser("noise", help="noise that turns real digits into each target")
    add_subject_options(noise)
    noise.add_argument(
        "--sources", type=digit_list, default=list(range(10)), help="source digits (default 0-9)"
    )
    noise.add_argument(
        "--targets", type=digit_list, default=list(range(10)), help="target digits (default 0-9)"
    )
    add_step_options(noise, "--max-steps", NOISE_STEPS, "give up on a pair after this many steps",
                     NOISE_STEP_SIZE, "size of each signed step", "seed of the attack")  # fmt: skip
    noise.add_argument(
        "--show", type=digit_list, metavar="S,T", help="draw this source,target pair (e.g. 2,9)"
    )
    noise.set_defaults(handler=noise_command)

    for name, doc in (("fgsm", "fast gradient sign method"), ("pgd", "projected gradient descent")):
        parser = kinds.add_parser(name, help=f"{doc} (L-infinity, pixels in [0, 1]) on test images")
        add_subject_options(parser)
        add_lp_options(parser, eps_default=0.1, pgd=name == "pgd")
        parser.add_argument(
            "--limit", type=positive_int, default=1000, help="test images to attack (default 1000)"
        )
        parser.add_argument(
            "--show", type=positive_int, default=4, metavar="N", help="draw N examples"
        )
        parser.set_defaults(handler=lp_attack_command, attack_name=name)

    robust = commands.add_parser(
        "robustness",
        help="test accuracy against epsilon under an attack, or the worst of several",
        description="Test accuracy against epsilon. Attacks: fgsm; pgd; apgd-ce and apgd-dlr"
        " (APGD, Croce & Hein 2020, with the cross-entropy or the scale-free DLR loss, 100"
        " steps); apgd-t (APGD with targeted DLR against each of the 9 other classes); square"
        " (the Square Attack: black-box random search, 5,000 queries, blind to hidden"
        " gradients); worst (all of them: an image counts as robust only if it survives every"
        " one, as in AutoAttack — the evaluation to trust for a defended network).",
    )
    add_subject_options(robust)
    robust.add_argument(
        "--eps",
        type=float_list,
        default=float_list(DEFAULT_EPS),
        help=f"epsilons (default {DEFAULT_EPS})",
    )
    robust.add_argument("--attack", choices=ROBUSTNESS_ATTACKS, default="fgsm",
                        help="the attack (default fgsm); see above")  # fmt: skip
    robust.add_argument("--restarts", type=positive_int, default=1,
                        help="random restarts of pgd (with --random-start) and of the APGD"
                        " attacks; an image must survive every one (default 1)")  # fmt: skip
    robust.add_argument("--queries", type=non_negative_int, default=5000, metavar="N",
                        help="the square attack's queries per image (default 5000, AutoAttack's);"
                        " 0 leaves it out of worst: much faster, but blind to a network that"
                        " hides its gradients")  # fmt: skip
    robust.add_argument("--targets", type=int, choices=range(1, 10), default=9, metavar="1-9",
                        help="classes apgd-t aims at, the most likely first (default 9, every"
                        " other class, as AutoAttack; fewer is faster)")  # fmt: skip
    robust.add_argument("--limit", type=positive_int, help="attack only the first N test images")
    robust.add_argument("--steps", type=positive_int, default=PGD_STEPS,
                        help=f"PGD steps (default {PGD_STEPS})")  # fmt: skip
    robust.add_argument("--alpha", type=positive_float, default=PGD_ALPHA,
                        help=f"PGD step size (default {PGD_ALPHA:g})")  # fmt: skip
    robust.add_argument(
        "--random-start", action="store_true", help="PGD from a random point in the ball"
    )
    robust.add_argument("--batch-size", type=positive_int, default=500, metavar="N",
                        help="images attacked together (default 500; larger is faster on a"
                        " GPU; the Square Attack's random draws follow the batches)")  # fmt: skip
    add_device(robust, "attack")
    robust.set_defaults(handler=robustness_command)


def add_step_options(
    parser: argparse.ArgumentParser,
    steps_flag: str,
    steps: int,
    steps_help: str,
    step_size: float,
    step_help: str,
    seed_help: str,
) -> None:
    """An iterative attack's step count, step size and seed, with their defaults in the help
    (the defaults themselves come from engine.config)."""
    parser.add_argument(
        steps_flag, type=positive_int, default=steps, help=f"{steps_help} (default {steps:,})"
    )
    parser.add_argument(
        "--step-size",
        type=positive_float,
        default=step_size,
        help=f"{step_help} (default {step_size:g})",
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help=f"{seed_help} (default 0)")


def add_lp_options(parser: argparse.ArgumentParser, eps_default: float, pgd: bool = True) -> None:
    """--eps, and PGD's own options where the attack is PGD (FGSM is one step: it has none)."""
    parser.add_argument(
        "--eps", type=unit_float, default=eps_default,
        help=f"L-infinity radius in pixels (0-1; default {eps_default:g})",
    )  # fmt: skip
    if not pgd:
        parser.set_defaults(steps=PGD_STEPS, alpha=PGD_ALPHA, random_start=False)
        return
    parser.add_argument("--steps", type=positive_int, default=PGD_STEPS,
                        help=f"PGD steps (default {PGD_STEPS})")  # fmt: skip
    parser.add_argument("--alpha", type=positive_float, default=PGD_ALPHA,
                        help=f"PGD step size (default {PGD_ALPHA:g})")  # fmt: skip
    parser.add_argument(
        "--random-start", action="store_true", help="PGD from a random point in the ball"
    )


# --- synthesis -----------------------------------------------------------------------------


def synthesize_command(args: argparse.Namespace) -> int:
    from engine.attacks import synthesize_classes

    steps, step_size = SYNTHESIS_DEFAULTS[args.method]
    args.steps = args.steps or steps
    args.step_size = args.step_size or step_size
    subject = load_subject(args)
    console = make_console()
    with progress_bar(console, "synthesizing") as emit:
        result = synthesize_classes(
            subject.model,
            args.classes,
            args.steps,
            args.step_size,
            args.seed,
            clamp=not args.no_clamp,
            emit=emit,
            cancel=interruptible(),
            method=args.method,
        )
    if args.json:
        print_json(result.to_dict())
        return 0
    colour = render.colour_enabled(args.ascii, console)
    console.print(
        f"[bold]Class synthesis[/] ({args.method}: {SYNTHESIS_METHODS[args.method]}),"
        f" {args.steps:,} steps of {args.step_size:g}"
        f" ({'pixels free' if args.no_clamp else 'pixels kept in [0, 1]'}) — {subject.run_id}"
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


def targeted_command(args: argparse.Namespace) -> int:
    from engine.attacks import targeted_image

    subject = load_subject(args)
    subject.check_index(args.image)
    console = make_console()
    with progress_bar(console, "targeted") as emit:
        result = targeted_image(
            subject.model,
            subject.test.images[args.image],
            args.target,
            args.beta,
            args.steps,
            args.step_size,
            args.seed,
            emit=emit,
            cancel=interruptible(),
        )
    if args.json:
        print_json({"image_index": args.image, **result.to_dict()})
        return 0
    colour = render.colour_enabled(args.ascii, console)
    label = int(subject.test.labels[args.image])
    crossed = (
        f"passed 0.5 at step {result.crossed_at:,}"
        if result.crossed_at is not None
        else "never passed 0.5"
    )
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
    console.print(
        f"P({args.target}) {crossed}; final P({args.target}) = {result.probability:.4f}, MSE to the real image {result.mse:.4f}"
    )
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


def noise_command(args: argparse.Namespace) -> int:
    from engine.attacks import noise_table

    subject = load_subject(args)
    console = make_console()
    with progress_bar(console, "adding noise") as emit:
        result = noise_table(
            subject.model,
            subject.test,
            args.sources,
            args.targets,
            args.max_steps,
            step_size=args.step_size,
            seed=args.seed,
            emit=emit,
            cancel=interruptible(),
        )
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
    reached = [s for s in result.steps if s is not None]
    console.print(
        f"{len(reached)} of {len(result.steps)} pairs reached their target; steps median"
        f" {sorted(reached)[len(reached) // 2] if reached else '-'}, most {max(reached) if reached else '-'}"
    )
    if args.show:
        if len(args.show) != 2:
            raise UserError("--show takes a source and a target, e.g. --show 2,9")
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


def lp_attack_command(args: argparse.Namespace) -> int:
    import torch

    from engine.attacks import FGSM, PGD
    from engine.pixels import PixelModel, to_pixels

    subject = load_subject(args)
    count = min(args.limit, len(subject.test))
    images = to_pixels(subject.test.images[:count])
    labels = subject.test.labels[:count]
    if args.attack_name == "fgsm":
        adversary = FGSM(subject.model, args.eps)
    else:
        adversary = PGD(subject.model, args.eps, args.alpha, args.steps, args.random_start)
    pixel_model = PixelModel(subject.model)
    adversarial = torch.cat(
        [adversary(images[i : i + 500], labels[i : i + 500]) for i in range(0, count, 500)]
    )
    with torch.inference_mode():
        clean_pred = pixel_model(images).argmax(1)
        adv_pred = pixel_model(adversarial).argmax(1)
    clean_acc = (clean_pred == labels).float().mean().item()
    adv_acc = (adv_pred == labels).float().mean().item()
    linf = (adversarial - images).abs().flatten(1).max(1).values.max().item()
    if args.json:
        print_json(
            {
                "attack": args.attack_name,
                "eps": args.eps,
                "images": count,
                "clean_accuracy": clean_acc,
                "adversarial_accuracy": adv_acc,
                "max_linf": linf,
            }
        )
        return 0
    console = make_console()
    console.print(
        f"[bold]{args.attack_name.upper()}[/] eps {args.eps:g} on the first {count:,} test images — {subject.run_id}"
    )
    console.print(
        f"accuracy: clean {clean_acc:.2%}  ->  adversarial {adv_acc:.2%}   (largest change of a pixel {linf:.3f})"
    )
    flipped = (
        ((clean_pred == labels) & (adv_pred != labels)).nonzero().flatten()[: args.show].tolist()
    )
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


def attack_words(args: argparse.Namespace) -> str:
    """The attack as the output names it: 'PGD (40 steps of 0.01, 2 restarts)'."""
    restarts = f", {args.restarts} restarts" if args.restarts > 1 else ""
    if args.attack == "fgsm":
        return "FGSM"
    if args.attack == "pgd":
        start = ", random start" if args.random_start else ""
        return f"PGD ({args.steps} steps of {args.alpha:g}{start}{restarts})"
    if args.attack == "worst":
        square = f" and Square ({args.queries:,} queries)" if args.queries else " (no Square)"
        return (f"the worst of FGSM, PGD, APGD-CE, APGD-DLR, APGD-T ({counted(args.targets, 'target')}"
                f"{restarts}){square}")  # fmt: skip
    if args.attack == "square":
        return f"Square ({args.queries:,} queries{restarts})"
    targets = f", {counted(args.targets, 'target')}" if args.attack == "apgd-t" else ""
    return f"{args.attack.upper()} (100 steps{targets}{restarts})"


def robustness_command(args: argparse.Namespace) -> int:
    from engine.attacks import robustness_curve
    from engine.attacks.start import device_of
    from engine.training import device_label

    subject = load_subject(args)
    console = make_console()
    with progress_bar(console, f"{args.attack} robustness") as emit:
        points = robustness_curve(
            subject.model,
            subject.test,
            args.eps,
            args.attack,
            args.limit,
            args.steps,
            args.alpha,
            args.random_start,
            batch_size=args.batch_size,
            emit=emit,
            cancel=interruptible(),
            restarts=args.restarts,
            targets=args.targets,
            queries=args.queries,
        )
    if args.json:
        print_json([ev.event_to_dict(p) for p in points])
        return 0
    console.print(
        f"[bold]Robustness[/] under {attack_words(args)}"
        + f" on {points[0].images:,} test images, on {device_label(device_of(subject.model))}"
        + f" — {subject.run_id}"
    )
    table = Table(show_edge=False)
    for column in ("eps", "accuracy", "robust accuracy", "seconds", "images/s per step"):
        table.add_column(column, justify="right")
    for p in points:
        table.add_row(
            f"{p.eps:g}",
            f"{p.accuracy:.2%}",
            f"{p.robust_accuracy:.2%}",
            f"{p.seconds:.1f}",
            f"{p.images_per_s_per_step:,.0f}",
        )
    console.print(table)
    console.print(
        "robust accuracy: right under the attack at every eps up to this one (it never rises with eps)"
    )
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
