"""`sweep`, `sweep show` and `sweeps`: a search over run settings with Optuna (engine.studies.sweeps),
each trial an ordinary run; its trials, best settings and each setting's importance."""

from __future__ import annotations

import argparse
import sys

from engine.config import MAX_TRIALS
from tui.cli.console import interruptible, make_console, print_json
from tui.cli.options import (
    UserError,
    add_executor,
    add_json,
    add_recipe,
    add_settings,
    add_shared_options,
    given_settings,
    number_type,
    positive_float,
    ray_address,
)

trial_count = number_type(int, "a whole number", lambda v: 1 <= v <= MAX_TRIALS,
                          f"must be from 1 to {MAX_TRIALS:,}")  # fmt: skip


def register(commands: argparse._SubParsersAction) -> None:
    sweep = commands.add_parser(
        "sweep", help="search settings with Optuna, each trial a run; `sweep show NAME` for results",
        description="`mnist-tui sweep NAME --search lr=1e-4..1e-1:log --search"
        " batch_size=64,128,256 --trials 50 --recipe fast` searches any run setting (a range,"
        " on a log scale with :log, or choices, each checked against the setting) with Optuna's"
        " TPE sampler, each trial an ordinary run named NAME-tN. The objective is the best"
        " validation accuracy: the test set is never looked at. Run it again with its name"
        " alone to go on after a stop or a kill: finished trials are kept, a stopped trial's"
        " run resumes. --prune stops hopeless trials early (Optuna's median rule on the"
        " training loss at each tenth of training). Any train setting given applies to every"
        " trial. Optuna's storage is in the sweep's folder (SQLite). --executor ray:ADDRESS runs"
        " the trials as Ray Tune trials on a Ray cluster (Optuna as Tune's search algorithm,"
        " Ray's ASHA scheduler with --prune; a trial whose worker is lost runs again once, its"
        " run resuming); the home must be a folder every node sees.",
    )  # fmt: skip
    sweep.add_argument("name", metavar="NAME", help="the sweep's name (a letter first)")
    sweep.add_argument("--search", action="append", default=[], metavar="SETTING=RANGE",
                       help="LOW..HIGH, LOW..HIGH:log or A,B,C; repeat for several settings")  # fmt: skip
    sweep.add_argument("--trials", type=trial_count, default=None,
                       help=f"how many trials in all, 1-{MAX_TRIALS:,} (default 20; on an"
                       " existing sweep, more extends it)")  # fmt: skip
    sweep.add_argument("--prune", action="store_true", help="stop hopeless trials early")
    sweep.add_argument("--sampler-seed", type=int, default=0, metavar="S",
                       help="the sampler's seed (each trial's run seed is --seed, default 0)")  # fmt: skip
    sweep.add_argument("--timeout", type=positive_float, default=None, metavar="MIN",
                       help="start no trial after this many minutes")  # fmt: skip
    add_executor(sweep, "trials")
    add_recipe(sweep)
    add_settings(sweep, only_given=True)
    add_shared_options(sweep)
    sweep.set_defaults(handler=sweep_command)

    shown = commands.add_parser("sweep-show", prog="mnist-tui sweep show",
                                description="A sweep's trials (settings, validation accuracy,"
                                " state), its best settings, each searched setting's importance"
                                " (Optuna's PED-ANOVA) and the best value against the trials.")  # fmt: skip
    shown.add_argument("sweep_name", metavar="NAME", help="the sweep's name")
    shown.add_argument("--confirm", metavar="SEEDS",
                       help="train the best settings and the recipe's own over these seeds"
                       " (e.g. 0-4) as two studies and compare them seed by seed")  # fmt: skip
    add_shared_options(shown)
    add_json(shown, "the trials, best and importances")
    shown.set_defaults(handler=show_command)

    listing = commands.add_parser("sweeps", help="the sweeps in the home, with their progress")
    add_shared_options(listing)
    add_json(listing)
    listing.set_defaults(handler=sweeps_command)


def sweep_command(args: argparse.Namespace) -> int:
    from engine.studies import sweeps

    given = given_settings(args)
    searches = sweeps.parse_searches(args.search, given)  # every mistake before anything runs
    address = ray_address(args)
    if address is not None:
        from engine.studies.tune import require

        require()
    folder = sweeps.sweep_dir(args.home_path, args.name)
    if (folder / sweeps.SWEEP).exists():
        sweep = sweeps.load_sweep(args.home_path, args.name)
        asked = sweeps.Sweep(args.name, args.recipe, given, searches, sweep.trials, sweep.seed,
                             args.prune)  # fmt: skip
        # the name alone, or the same command again, goes on; other settings are refused
        if (searches or given) and asked.to_dict() != sweep.to_dict():
            raise UserError(f"sweep {args.name} exists: `mnist-tui sweep {args.name}` goes on"
                            " with its own settings (--trials N extends it); a new search needs"
                            " a new name")  # fmt: skip
        sweeps.check_free(args.home_path, sweep)  # before its record is extended
        if args.trials:
            sweep.trials = max(sweep.trials, args.trials)
            from engine.atomic import write_json

            write_json(folder / sweeps.SWEEP, sweep.to_dict())
    else:
        if not searches:
            raise UserError(f"no sweep named {args.name!r}: start one with --search"
                            " SETTING=LOW..HIGH (see `mnist-tui sweep --help`)")  # fmt: skip
        if args.prune:
            sweeps.check_pruning(searches)
        sweep = sweeps.Sweep(args.name, args.recipe, given, searches, args.trials or 20,
                             args.sampler_seed, args.prune)  # fmt: skip
        sweeps.optuna_module()  # the extra installed, before anything is written
        sweeps.start_sweep(args.home_path, sweep)
    searched = ", ".join(s.text for s in sweep.searches)
    where = "here" if address is None else f"as Ray Tune trials ({args.executor})"
    pruner = "ASHA" if address is not None else "the median rule"
    print(f"sweep {sweep.name}: {sweep.trials} trials of recipe {sweep.recipe}, searching"
          f" {searched}" + (f", pruning ({pruner})" if sweep.prune else "") + f", {where}",
          file=sys.stderr)  # fmt: skip
    cancel = interruptible() if address is None else None  # Ray Tune handles Ctrl-C itself
    say = lambda line: print(line, flush=True)  # noqa: E731
    if address is None:
        study = sweeps.run_sweep(args.home_path, sweep, cancel=cancel,
                                 timeout_minutes=args.timeout, on_trial=say)  # fmt: skip
    else:
        from engine.studies.tune import run_sweep_on_ray

        study = run_sweep_on_ray(args.home_path, sweep, address or None, args.cpus_per_run or 1,
                                 args.timeout, say)  # fmt: skip
    best = sweeps.best_trial(study)
    if best is not None:
        shown = sweeps.shown_params(best.params)
        print(f"best so far: trial {best.number}, validation {best.value:.2%} ({shown});"
              f" `mnist-tui sweep show {sweep.name}` for the rest")  # fmt: skip
    return 130 if cancel is not None and cancel.is_set() else 0


def show_command(args: argparse.Namespace) -> int:
    from rich.table import Table

    from engine.config import SETTING
    from engine.studies import parse_seeds, sweeps
    from tui.draw.charts import chart_xy

    # the seeds as typed are checked first ('' too: it is not "no --confirm")
    seeds = None if args.confirm is None else parse_seeds(args.confirm, "--confirm")
    sweep = sweeps.load_sweep(args.home_path, args.sweep_name)
    report = sweeps.summarize(args.home_path, sweep)
    if seeds is not None:
        report["confirmed"] = sweeps.confirm(args.home_path, sweep, seeds,
                                             cancel=interruptible(),
                                             say=lambda line: print(line, file=sys.stderr))  # fmt: skip
    if args.json:
        print_json(report)
        return 0
    console = make_console()
    table = Table(title=f"sweep {sweep.name}: {len(report['trials'])} of {sweep.trials} trials")
    for column in ("trial", *[s.name for s in sweep.searches], "validation", "state", "run"):
        table.add_column(column, justify="right" if column != "run" else "left")
    for trial in report["trials"]:
        value = f"{trial['value']:.2%}" if trial["value"] is not None else ""
        table.add_row(str(trial["number"]),
                      *[SETTING[s.name].show(trial["params"].get(s.name)) for s in sweep.searches],
                      value, trial["state"], trial["run"] or "")  # fmt: skip
    console.print(table)
    best = report["best"]
    if best is None:
        console.print("no trial has finished yet")
        return 0
    shown = sweeps.shown_params(best["params"])
    console.print(f"best: trial {best['number']}, validation {best['value']:.2%} ({shown}),"
                  f" run {best['run']}")  # fmt: skip
    if report["importances"]:
        console.print("importance (Optuna's PED-ANOVA): " + ", ".join(
            f"{k} {v:.2f}" for k, v in report["importances"].items()))  # fmt: skip
    if "confirmed" in report:
        print_confirmation(console, report["confirmed"])
    points = [(t["number"], 100 * t["best_so_far"]) for t in report["trials"]
              if t["best_so_far"] is not None]  # fmt: skip
    if len(points) > 1:
        console.print(chart_xy({"best validation % so far": ([p[0] for p in points],
                                                              [p[1] for p in points])},
                               title="the best validation accuracy against the trials",
                               xlabel="trial", width=min(console.width, 100), height=12,
                               colour=console.color_system is not None, integer_x=True))  # fmt: skip
    return 0


def print_confirmation(console, confirmed: dict) -> None:
    """The recipe's settings against the best trial's, over seeds: intervals, paired test."""
    from rich.table import Table

    seeds = confirmed["seeds"]
    table = Table(title=f"confirmed over seeds {seeds[0]}-{seeds[-1]} (mean [95% interval])")
    for column in ("figure", "recipe", f"best (trial {confirmed['best_trial']})",
                   "best − recipe", "paired t-test"):  # fmt: skip
        table.add_column(column)

    def shown(part: dict, sign: str = "") -> str:
        return (f"{part['mean']:{sign}.2%} [{part['low']:{sign}.2%}, {part['high']:{sign}.2%}]"
                f" n={part['n']}")  # fmt: skip

    for figure, values in confirmed["figures"].items():
        table.add_row(figure, shown(values["recipe"]), shown(values["best"]),
                      shown(values["difference"], "+"), values["verdict"])  # fmt: skip
    console.print(table)


def sweeps_command(args: argparse.Namespace) -> int:
    from rich.table import Table

    from engine.studies import sweeps

    rows = []
    for name in sweeps.list_sweeps(args.home_path):
        try:
            sweep = sweeps.load_sweep(args.home_path, name)
            report = sweeps.summarize(args.home_path, sweep)
        except Exception as error:  # one damaged sweep never hides the others
            rows.append({"name": name, "error": str(error).splitlines()[0]})
            continue
        best = report["best"]
        rows.append({"name": name, "trials": len(report["trials"]), "of": sweep.trials,
                     "best": best["value"] if best else None, "recipe": sweep.recipe})  # fmt: skip
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no sweeps yet: `mnist-tui sweep NAME --search lr=1e-3..1e-1:log` starts one")
        return 0
    table = Table()
    for column in ("sweep", "trials", "best validation", "recipe"):
        table.add_column(column)
    for row in rows:
        if "error" in row:
            table.add_row(row["name"], "damaged", row["error"], "")
        else:
            best = f"{row['best']:.2%}" if row["best"] is not None else ""
            table.add_row(row["name"], f"{row['trials']}/{row['of']}", best, row["recipe"])
    make_console().print(table)
    return 0
