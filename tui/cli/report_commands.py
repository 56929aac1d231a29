"""`report`: the study on your own runs, as one self-contained HTML page or Markdown."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tui.cli.console import interruptible, progress_bar
from tui.cli.options import add_shared_options


def register(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report",
        help="a report to hand in: every experiment of the study on your runs, as HTML or Markdown",
        description="Make one self-contained HTML page (every picture embedded; opens offline,"
        " on a phone, prints to PDF) or Markdown with a folder of PNG figures: the data, both"
        " networks, training curves, the BatchNorm comparison, the test set, predictions,"
        " filters, activations, occlusion, class synthesis, the targeted image, the adding-noise"
        " matrix, robustness curves, attribution maps, and robust training and a study's"
        " statistics where there are some — each with the study's own words. The same runs give"
        " the same file. About a minute on a 2-core CPU.",
    )
    report.add_argument("runs", nargs="*", metavar="RUN",
                        help="finished runs (id, prefix, name or latest); default: the latest"
                        " finished run of each network, convnet and convnet-bn first")  # fmt: skip
    report.add_argument("--study", metavar="NAME",
                        help="add a study's intervals and comparisons (and, without RUNs, report"
                        " on one run of each of its groups)")  # fmt: skip
    report.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="where to write it (default: reports/ in the home, named after the"
                        " runs)")  # fmt: skip
    report.add_argument("--format", choices=["html", "md"], default=None,
                        help="html (default, or as FILE's suffix says) or md (Markdown with a"
                        " FILE_files folder of PNGs)")  # fmt: skip
    add_shared_options(report)
    report.set_defaults(handler=report_command)


def report_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    from engine import events as ev
    from engine.report import (
        build_report,
        check_output,
        default_output,
        output_format,
        write_report,
    )

    fmt = output_format(args.output, args.format)
    if args.output is not None:
        check_output(args.output, fmt)  # before minutes of work, not after
    console = Console(stderr=True)
    cancel = interruptible()
    with progress_bar(console, "report") as bar:

        def emit(event: ev.Event) -> None:
            bar(event)
            if not console.is_terminal and isinstance(event, ev.ProgressMade):
                print(f"{event.task} ({event.done}/{event.total})", file=sys.stderr, flush=True)

        report = build_report(args.home_path, args.runs or None, args.study, emit, cancel)
    path = args.output or default_output(args.home_path, report.run_ids, fmt, args.study)
    replaced = path.exists()  # write_report checks the target itself, once more
    path = write_report(report, path, fmt)
    size = path.stat().st_size
    if fmt == "md":
        size += sum(f.stat().st_size for f in (path.parent / f"{path.stem}_files").iterdir())
    verb = "replaced" if replaced else "written to"
    print(f"report {verb} {path} ({len(report.sections)} sections, {report.figures} figures,"
          f" {size / 1e6:.1f} MB, {report.seconds:.0f} s)")  # fmt: skip
    return 0
