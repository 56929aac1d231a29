"""Every declared analysis (engine.analyses) as a command: its options and help come from the
declaration; an analysis the CLI draws by hand has its own handler, any other prints its
result's summary and values (or ``--json``: its ``to_dict()``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from engine.analyses import ANALYSES, flat_items
from engine.analyses.attacks import GROUPS
from tui.cli.console import interruptible, make_console, print_json, progress_bar
from tui.cli.options import add_setting, add_subject_options, nonblank
from tui.cli.subject import subject_of_args

Handler = Callable[[argparse.Namespace], int]
Options = Callable[[argparse.ArgumentParser], None]

# The analyses the CLI draws by hand: each handler says so where it is written (``draws``).
DRAWN: dict[str, Handler] = {}
MORE_OPTIONS: dict[str, Options] = {}  # the options a hand-drawn command adds to its own


def draws(*names: str, options: Options | None = None) -> Callable[[Handler], Handler]:
    """Mark a handler as the CLI's drawing of the analyses ``names``, with ``options`` (the
    options it takes beyond the declaration's, e.g. --through)."""

    def mark(handler: Handler) -> Handler:
        for name in names:
            DRAWN[name] = handler
            if options is not None:
                MORE_OPTIONS[name] = options
        return handler

    return mark


def register(commands: argparse._SubParsersAction) -> None:
    """A command per registered analysis, grouped as declared (`attack targeted`): its
    hand-drawn handler if one is marked (``draws``; their modules imported first), else the
    generic one."""
    handlers, extra_options = DRAWN, MORE_OPTIONS
    groups: dict[str, argparse._SubParsersAction] = {}
    for analysis in ANALYSES.values():
        parent = commands
        if analysis.group:
            if analysis.group not in groups:
                names = ", ".join(a.name for a in ANALYSES.values() if a.group == analysis.group)
                about = GROUPS.get(analysis.group, analysis.group)
                group = commands.add_parser(analysis.group, help=f"{about}: {names}")
                groups[analysis.group] = group.add_subparsers(
                    dest=analysis.group, metavar=analysis.group.upper(), required=True
                )
            parent = groups[analysis.group]
        parser = parent.add_parser(analysis.name, help=analysis.about,
                                   description=analysis.description or analysis.about)  # fmt: skip
        add_subject_options(parser)
        for spec in analysis.parameters:
            add_setting(parser, spec)
        extra_options.get(analysis.name, lambda _: None)(parser)
        parser.add_argument("--vs", metavar="RUN2", type=nonblank("a run"),
                            help="the same analysis, with the same values, on a second run"
                            " too: each run's result in turn (--json: both, by run)")  # fmt: skip
        parser.set_defaults(handler=both_runs(handlers.get(analysis.name, generic_command)),
                            analysis=analysis.name)  # fmt: skip


def both_runs(handler: Handler) -> Handler:
    """``handler``, and with ``--vs RUN2`` the same on the second run after the first: the
    text one after the other under each run's name, the JSON as one object by run."""

    def run(args: argparse.Namespace) -> int:
        if not getattr(args, "vs", None):
            return handler(args)
        import contextlib
        import io
        import json

        from engine import runs

        if getattr(args, "through", False):
            from tui.cli.options import UserError

            raise UserError("--vs compares two runs at one moment; --through is for one run")
        found = [runs.find_run(args.home_path, name) for name in (args.run, args.vs)]
        if found[0] == found[1]:
            from tui.cli.options import UserError

            raise UserError(f"--vs names the same run as RUN ({found[0].name}): give another")
        if not args.json:
            for run_dir in found:
                make_console().rule(f"run {run_dir.name}")
                code = handler(_with_run_args(args, run_dir.name))
                if code:
                    return code
            return 0
        results = []
        for run_dir in found:
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                code = handler(_with_run_args(args, run_dir.name))
            if code:
                return code
            results.append({"run": run_dir.name, "result": json.loads(printed.getvalue())})
        print_json({"runs": results})
        return 0

    return run


def _with_run_args(args: argparse.Namespace, run_id: str) -> argparse.Namespace:
    changed = argparse.Namespace(**vars(args))
    changed.run = run_id
    return changed


def values_of(args: argparse.Namespace) -> dict:
    """The analysis's parameter values as given on the command line (or their defaults)."""
    return {spec.name: getattr(args, spec.name) for spec in ANALYSES[args.analysis].parameters}


def run_analysis(args: argparse.Namespace, subject, console, task: str):
    """The analysis named by ``args`` on ``subject``, with a progress bar; Ctrl-C stops it."""
    with progress_bar(console, task) as emit:
        return ANALYSES[args.analysis].run(subject, values_of(args), emit, interruptible())


def generic_command(args: argparse.Namespace) -> int:
    """An analysis no one draws by hand: its summary and its plain values."""
    from rich.table import Table

    analysis = ANALYSES[args.analysis]
    subject = subject_of_args(args)
    console = make_console()
    result = run_analysis(args, subject, console, analysis.name)
    if args.json:
        print_json(result.to_dict())
        return 0
    console.print(f"[bold]{analysis.title}[/] — {subject.run_id}")
    console.print(result.summary(), markup=False)
    items = flat_items(result)
    if items:
        table = Table(show_header=False, show_edge=False, box=None)
        for name, shown in items:
            table.add_row(name.replace("_", " "), shown)
        console.print(table)
    return 0
