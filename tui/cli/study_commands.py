"""Headless studies: `study` (run or resume one, or `study show NAME`) and `studies` — every
comparison over several seeds, with confidence intervals and a paired test."""

from __future__ import annotations

import argparse
import sys

from tui.cli.console import interruptible, make_console, print_json
from tui.cli.options import (
    UserError,
    add_executor,
    add_json,
    add_recipe,
    add_settings,
    add_shared_options,
    given_settings,
    positive_int,
    ray_address,
)
from tui.draw.tables import counted


def register(commands: argparse._SubParsersAction) -> None:
    study = commands.add_parser(
        "study",
        help="train the same comparison over several seeds; `study show NAME` for statistics",
        description="`mnist-tui study NAME --vary model=convnet,convnet-bn --seeds 0-4` trains"
        " every combination of what varies for every seed, each an ordinary run: on a CPU one"
        " after another (one run with all its threads is fastest), on a GPU as many at once as"
        " its memory holds. Run it again to resume:"
        " finished runs are kept, stopped ones resumed. Any train setting given applies to every"
        " run. `mnist-tui study show NAME` prints the mean, standard deviation and 95% interval"
        " of each group and the paired comparison with the first group.",
    )
    study.add_argument("name", metavar="NAME", help="the study's name (`study show NAME` prints"
                       " its statistics)")  # fmt: skip
    study.add_argument("--vary", action="append", default=[], metavar="SETTING=V1,V2",
                       help="a setting and its values; repeat for several")  # fmt: skip
    study.add_argument(
        "--seeds",
        default=None,
        metavar="LIST",
        help="e.g. 0-4 (default 0-2); on an existing study, more seeds extend it",
    )
    study.add_argument("--at-once", type=positive_int, default=None, metavar="N",
                       help="here: how many runs train at once (default: chosen from the"
                       " machine — one on a CPU, as many as the GPU's memory holds on CUDA);"
                       " the cores are shared out between them")  # fmt: skip
    add_executor(study, "runs")
    study.add_argument("--detach", action="store_true",
                       help="run the study in the background (survives the terminal and SSH);"
                       " `mnist-tui studies` and the app's Studies screen follow it")  # fmt: skip
    add_recipe(study)
    add_settings(study, only_given=True)
    add_shared_options(study)
    add_json(study, "the statistics")
    study.set_defaults(handler=study_command)

    # `study show NAME` has a parser (and --help) of its own; main() routes it here. Added
    # without help=, it is not listed among the commands (`study` lists it).
    shown = commands.add_parser("study-show", prog="mnist-tui study show",
                                description="The statistics of a study's finished runs: per"
                                " group the mean, standard deviation and 95% interval of each"
                                " figure, and each group against the first by a paired t-test"
                                " over the seeds both finished.")  # fmt: skip
    shown.add_argument("study_name", metavar="NAME", help="the study's name")
    shown.add_argument("--epoch", type=positive_int, metavar="N",
                       help="compare the groups at epoch N (validation accuracy and loss of"
                            " every run that reached it) instead of at the end; each run's"
                            " pictures at that epoch: `mnist-tui filters RUN --epoch N`")  # fmt: skip
    add_shared_options(shown)
    add_json(shown, "the statistics")
    shown.set_defaults(handler=show_command)

    listing = commands.add_parser("studies", help="the studies in the home, with their progress")
    add_shared_options(listing)
    add_json(listing)
    listing.set_defaults(handler=studies_command)


def study_command(args: argparse.Namespace) -> int:
    from engine.config import RECIPES
    from engine.studies import define, parse_seeds, parse_vary, run_study

    name = args.name
    given = given_settings(args)
    # Everything is checked before study.json is written: a refused command changes nothing.
    if "seed" in given:
        raise UserError("a study sets each run's seed: use --seeds, not --seed")
    address = ray_address(args)
    if args.at_once and address is not None:
        raise UserError("--at-once is for runs here; with Ray, --cpus-per-run sizes each run")
    if args.seeds is not None and not args.seeds.strip():
        raise UserError("--seeds '': give seeds like 0-4 or 0,2,5, or leave --seeds out")
    vary = parse_vary(args.vary, given) if args.vary else None
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    if args.recipe != "study":  # the recipe's settings, under the ones given, shared by all
        given = {k: v for k, v in RECIPES[args.recipe].settings.items() if k not in (vary or {})}
        given.update(given_settings(args))
    study = define(args.home_path, name, vary, seeds, given or None,
                   check_devices=address is None)  # fmt: skip
    entries = study.entries()
    if args.detach:
        extra = ["--executor", args.executor]
        extra += ["--cpus-per-run", str(args.cpus_per_run)] if args.cpus_per_run else []
        extra += ["--at-once", str(args.at_once)] if args.at_once else []
        return detach_study(args.home_path, name, len(entries), extra)
    how = "here" if args.executor == "local" else f"as Ray tasks ({args.executor})"
    seeds, groups = (
        counted(len(study.seeds), "seed"),
        counted(len(entries) // len(study.seeds), "group"),
    )
    print(f"study {name}: {len(entries)} runs ({seeds} x {groups}), {how}", file=sys.stderr)
    cancel = interruptible(hangup=True)
    say = lambda text: print(text, file=sys.stderr)  # noqa: E731
    if address is None:
        state = run_study(args.home_path, study, cancel=cancel, say=say, at_once=args.at_once)
    else:
        from engine.studies.ray import run_study_on_ray

        state = run_study_on_ray(
            args.home_path, study, address or None, args.cpus_per_run or 1, say
        )
    print(f"study {name}: {state.done} done, {state.running} running elsewhere, {state.failed} failed,"
          f" {state.left} left", file=sys.stderr)  # fmt: skip
    return show(args, study)


def show_command(args: argparse.Namespace) -> int:
    from engine.studies import load_study

    return show(args, load_study(args.home_path, args.study_name))


def detach_study(home, name: str, runs_count: int, extra: list[str]) -> int:
    """The study in a process of its own, in a new session, logging to the study's folder;
    imported from the package's own folder, never the current directory (as runs are)."""
    import os
    import subprocess

    from engine.launch import isolated_python
    from engine.studies import study_dir

    log = study_dir(home, name) / "study.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
    try:
        process = subprocess.Popen(
            isolated_python("tui.cli.main", "main", "--home", str(home), "study", name, *extra),
            stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, start_new_session=True,
        )  # fmt: skip
    finally:
        os.close(fd)
    print(f"study {name}: {runs_count} runs, started in the background (pid {process.pid}, log"
          f" {log}); `mnist-tui studies` shows its progress, `mnist-tui study show {name}` its"
          " figures")  # fmt: skip
    return 0


def show(args: argparse.Namespace, study) -> int:
    from rich.table import Table

    from engine.studies.stats import report

    result = report(args.home_path, study, getattr(args, "epoch", None))
    if args.json:
        print_json(result.to_dict())
        return 0
    console = make_console()
    over = "the finished seeds" if getattr(args, "epoch", None) is None else "the seeds there"
    table = Table(title=f"study {result.name}: mean ± sd [95% interval] over {over}")
    labels, rows = result.table()
    for i, label in enumerate(labels):
        table.add_column(label, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for comparison in result.comparisons:
        console.print(comparison.line(), highlight=False, markup=False)
    for note in result.notes():
        console.print(note, highlight=False)
    return 0


def studies_command(args: argparse.Namespace) -> int:
    from engine.errors import UserFacing
    from engine.studies import list_studies, load_study, progress

    names = list_studies(args.home_path)
    rows = []
    for name in names:
        try:
            study = load_study(args.home_path, name)
        except UserFacing as error:  # one damaged study.json never hides the others
            rows.append({"name": name, "damaged": str(error)})
            continue
        state = progress(args.home_path, study)
        rows.append({"name": name, "vary": study.vary, "seeds": study.seeds, **state.__dict__})
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print(
            "no studies yet; start one with `mnist-tui study NAME --vary model=convnet,convnet-bn`"
        )
        return 0
    for row in rows:
        if "damaged" in row:
            print(f"{row['name']}: damaged: {row['damaged']}")
            continue
        vary = " ".join(f"{k}={','.join(map(str, v))}" for k, v in row["vary"].items()) or "-"
        print(f"{row['name']}: vary {vary}; seeds {row['seeds']}; {row['done']} done,"
              f" {row['running']} running, {row['failed']} failed, {row['left']} left")  # fmt: skip
    return 0
