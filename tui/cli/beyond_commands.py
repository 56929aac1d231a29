"""The commands beyond the clean test set: `calibration` (a reliability diagram and
its figures before and after temperature scaling)."""

from __future__ import annotations

import argparse

from rich.table import Table

from tui.cli.analysis_commands import draws, run_analysis
from tui.cli.console import make_console, print_json
from tui.cli.subject import subject_of_args

BAR = 30  # cells of a full bar in the reliability diagram
NOUN = {"rotate": "rotation", "translate": "translation"}


@draws("calibration")
def calibration_command(args: argparse.Namespace) -> int:
    subject = subject_of_args(args)
    console = make_console()
    result = run_analysis(args, subject, console, "calibration")
    if args.json:
        print_json(result.to_dict())
        return 0
    before, after = result.before, result.after
    console.print(f"[bold]Calibrated confidence[/] on {result.images:,} test images —"
                  f" {subject.run_id}")  # fmt: skip
    figures = Table(show_edge=False)
    for name in ("", "accuracy", "mean confidence", "ECE", "MCE", "NLL", "Brier"):
        figures.add_column(name, justify="right" if name else "left")
    for name, c in (("as trained", before), (f"T = {result.temperature:.3g}", after)):
        figures.add_row(name, f"{c.accuracy:.2%}", f"{c.mean_confidence:.2%}", f"{c.ece:.2%}",
                        f"{c.mce:.2%}", f"{c.nll:.4f}", f"{c.brier:.4f}")  # fmt: skip
    console.print(figures)
    console.print(f"temperature fitted on the validation split by NLL: {result.val_nll_before:.4f}"
                  f" -> {result.val_nll_after:.4f} there; no prediction changes")  # fmt: skip
    diagram = Table(title="reliability (as trained): accuracy against confidence, per bin",
                    show_edge=False)  # fmt: skip
    for name in ("confidence", "images", "accuracy", "mean", "gap"):
        diagram.add_column(name, justify="right")
    cells = max(10, min(BAR, console.width - 64))  # the bars fit the terminal
    diagram.add_column("# accuracy, | confidence", no_wrap=True)
    for b in before.bins:
        if not b.count:
            continue
        bar = ["#"] * round(cells * b.accuracy) + [" "] * (cells - round(cells * b.accuracy))
        mark = min(cells - 1, round(cells * b.confidence))
        bar[mark] = "|"
        diagram.add_row(f"{b.low:.0%}-{b.high:.0%}", f"{b.count:,}", f"{b.accuracy:.2%}",
                        f"{b.confidence:.2%}", f"{b.accuracy - b.confidence:+.2%}", "".join(bar))  # fmt: skip
    console.print(diagram)
    console.print("gap above 0: right more often than it says (under-confident, as label"
                  " smoothing makes a network); below 0: over-confident")  # fmt: skip
    return 0


@draws("shift")
def shift_command(args: argparse.Namespace) -> int:
    from tui.draw import render
    from tui.draw.charts import line_chart

    subject = subject_of_args(args)
    console = make_console()
    curve = run_analysis(args, subject, console, "shift")
    if args.json:
        print_json(curve.to_dict())
        return 0
    console.print(f"[bold]Under shift[/]: the test set {curve.kind}d — {subject.run_id}")
    table = Table(show_edge=False)
    for name in (curve.unit, "accuracy", "mean confidence", "ECE", "NLL"):
        table.add_column(name, justify="right")
    for p in curve.points:
        table.add_row(f"{p.amount:g}", f"{p.accuracy:.2%}", f"{p.mean_confidence:.2%}",
                      f"{p.ece:.2%}", f"{p.nll:.3f}")  # fmt: skip
    console.print(table)
    console.print(line_chart(
        [p.amount for p in curve.points],
        {"accuracy": [100 * p.accuracy for p in curve.points],
         "mean confidence": [100 * p.mean_confidence for p in curve.points]},
        title=f"accuracy and mean confidence (%) against the {NOUN[curve.kind]} ({curve.unit})",
        xlabel=curve.unit, width=min(console.width, 80), height=12,
        colour=render.colour_enabled(args.ascii, console),
    ))  # fmt: skip
    console.print("trusted confidence falls with accuracy; confidence far above accuracy is a"
                  " network sure of what it gets wrong")  # fmt: skip
    return 0


@draws("corruptions")
def corruptions_command(args: argparse.Namespace) -> int:
    """The accuracy under each corruption as a table with bars, then one digit under each."""
    from tui.draw import render

    subject = subject_of_args(args)
    console = make_console()
    scores = run_analysis(args, subject, console, "corruptions")
    if args.json:
        print_json(scores.to_dict())
        return 0
    console.print(f"[bold]Natural corruptions (MNIST-C)[/] on {scores.images:,} test images,"
                  f" {scores.source} — {subject.run_id}")  # fmt: skip
    table = Table(show_edge=False)
    cells = max(10, min(BAR, console.width - 48))  # the bars fit the terminal
    for name in ("corruption", "accuracy", "change", f"0-100% in {cells} cells"):
        table.add_column(name, justify="left" if name[0] in "c0" and name != "change" else "right",
                         no_wrap=True)  # fmt: skip
    rows = [("clean (identity)", scores.clean), *scores.accuracy.items(),
            ("mean of the corruptions", scores.mean)]  # fmt: skip
    for name, accuracy in rows:
        bar = "#" * round(cells * accuracy)
        table.add_row(name, f"{accuracy:.2%}", f"{100 * (accuracy - scores.clean):+.1f}",
                      f"{bar:<{cells}}")  # fmt: skip
    console.print(table)
    colour = render.colour_enabled(args.ascii, console)
    names = list(scores.examples)
    columns = max(1, min(8, (console.width + 1) // (15 if colour else 29)))
    console.print(render.tile_grid([scores.examples[n] for n in names],
                                   [n[:13] for n in names], columns=columns, scale=0.5,
                                   colour=colour, limits=(0, 255)))  # fmt: skip
    console.print("test image 0 under each (pixels 0-255, one scale)")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """`ensemble`: several runs as one network (not a declared analysis: it takes runs)."""
    from tui.cli.options import add_json, add_shared_options, non_negative_int

    ensemble = commands.add_parser(
        "ensemble", help="several runs as one: their probabilities averaged, judged beside each",
        description="Deep ensembles (Lakshminarayanan et al. 2017): the runs' probabilities"
        " averaged; accuracy, ECE and NLL on the test set, the accuracy rotated by 45 and 90"
        " degrees and the mean accuracy under MNIST-C's corruptions, for the ensemble, each run and the runs' mean. Give the runs, or a study"
        " (its seeds are an ensemble for free) and, where it varies settings, a group.",
    )  # fmt: skip
    ensemble.add_argument("runs", metavar="RUN", nargs="*", help="the runs (two or more)")
    ensemble.add_argument("--study", metavar="NAME", help="the runs of this study")
    ensemble.add_argument("--group", metavar="G", help="the study's group, as `study show` names"
                          " it (e.g. 'model=convnet-bn'); the default: its only one")  # fmt: skip
    from engine.analyses.beyond import CORRUPTED_IMAGES

    ensemble.add_argument("--corrupted-images", metavar="N", type=non_negative_int,
                          default=CORRUPTED_IMAGES,
                          help="MNIST-C's mean accuracy on the first N test images (default"
                          f" {CORRUPTED_IMAGES:,}; 0: leave it out; needs scikit-image)")  # fmt: skip
    add_shared_options(ensemble)
    add_json(ensemble)
    ensemble.set_defaults(handler=ensemble_command)


def study_runs(home, name: str, group: str | None) -> list[str]:
    """The finished runs of a study's group (UserError naming the groups there are)."""
    from engine.studies.definition import group_label, load_study
    from tui.cli.options import UserError

    study = load_study(home, name)
    groups: dict[str, list[str]] = {}
    for entry_group, seed in study.entries():
        label = group_label(entry_group)
        run_id = study.runs.get(f"{label} seed={seed}")
        groups.setdefault(label, []).extend([run_id] if run_id else [])
    if group is None and len(groups) > 1:
        raise UserError(f"study {name} has {len(groups)} groups: --group one of"
                        f" {', '.join(repr(g) for g in groups)}")  # fmt: skip
    chosen = group if group is not None else next(iter(groups))
    if chosen not in groups:
        raise UserError(
            f"study {name} has no group {chosen!r}: {', '.join(repr(g) for g in groups)}"
        )
    return groups[chosen]


def ensemble_command(args: argparse.Namespace) -> int:
    from engine import runs
    from engine.beyond.ensemble import ANGLES, ensemble_of
    from engine.subject import Subjects
    from tui.cli.console import progress_bar
    from tui.cli.options import UserError

    if args.study and args.runs:
        raise UserError("give the runs or --study, not both")
    names = study_runs(args.home_path, args.study, args.group) if args.study else args.runs
    if len(set(names)) < 2:
        raise UserError("an ensemble needs at least two different runs")
    source = Subjects(args.home_path)
    subjects = [source.get(runs.find_run(args.home_path, name)) for name in names]
    with progress_bar(make_console(), "ensemble") as bar:
        result = ensemble_of(subjects, args.corrupted_images, bar)
    if args.json:
        print_json(result.to_dict())
        return 0
    console = make_console()
    console.print(f"[bold]Ensemble[/] of {len(subjects)} runs: their probabilities averaged")
    table = Table(show_edge=False)
    corrupted = result.ensemble.corruption_accuracy is not None
    for name in ("network", "accuracy", "ECE", "NLL", *(f"rotated {a:g}°" for a in ANGLES),
                 *(["MNIST-C"] if corrupted else [])):  # fmt: skip
        table.add_column(name, justify="left" if name == "network" else "right")
    from engine.config import model_label

    shown = {s.run_id: f"{model_label(s.model_name)} {s.run_id[-4:]}" for s in subjects}
    for judged in [*result.members, result.mean, result.ensemble]:
        bold = "[bold]" if judged is result.ensemble else ""
        table.add_row(f"{bold}{shown.get(judged.name, judged.name)}", f"{judged.accuracy:.2%}", f"{judged.ece:.2%}",
                      f"{judged.nll:.4f}",
                      *(f"{judged.rotated_accuracy[a]:.2%}" for a in ANGLES),
                      *([f"{judged.corruption_accuracy:.2%}"] if corrupted else []))  # fmt: skip
    console.print(table)
    console.print(result.summary(), markup=False)
    return 0
