"""The commands that judge a network's confidence: `calibration` (a reliability diagram and
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
    for name in ("confidence", "images", "accuracy", "mean confidence", "gap"):
        diagram.add_column(name, justify="right")
    diagram.add_column("# accuracy, | confidence")
    for b in before.bins:
        if not b.count:
            continue
        bar = ["#"] * round(BAR * b.accuracy) + [" "] * (BAR - round(BAR * b.accuracy))
        mark = min(BAR - 1, round(BAR * b.confidence))
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
