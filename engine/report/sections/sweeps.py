"""The sweeps in the home: each one's best trials, its best settings and their importance,
the best validation accuracy against the trials, and — where `sweep show --confirm` made
them — the best settings against the recipe's over seeds. Nothing is trained here."""

from __future__ import annotations

import math

from engine.report import figures
from engine.report.context import Context
from engine.report.document import Figure, Section, Table, Text

SHOWN_TRIALS = 10  # the best ones; the rest are counted


def sweeps(ctx: Context) -> list[Section] | None:
    from engine.studies import sweeps as engine_sweeps

    names = engine_sweeps.list_sweeps(ctx.home)
    if not names:
        return None
    try:
        engine_sweeps.optuna_module()
    except Exception:  # noqa: BLE001  (without Optuna the sweeps are listed, not read)
        return [Section("sweeps", "Sweeps").add(Text(
            f"The home holds {len(names)} sweep(s) ({', '.join(names)}); reading them needs"
            f" Optuna ({engine_sweeps.EXTRA})."))]  # fmt: skip
    return [readable_section(ctx, name) for name in names]


def readable_section(ctx: Context, name: str) -> Section:
    """The sweep's section, or a line saying why it cannot be read (a damaged record or
    store): one damaged sweep never stops the report."""
    from engine.errors import UserFacing
    from engine.studies import sweeps as engine_sweeps

    try:
        return section(ctx, engine_sweeps.load_sweep(ctx.home, name))
    except UserFacing as error:
        return Section(f"sweep-{name}", f"Sweep {name}").add(Text(
            f"This sweep cannot be read: {str(error).splitlines()[0]}"))  # fmt: skip


def section(ctx: Context, sweep) -> Section:
    from engine.config import SETTING
    from engine.studies import sweeps as engine_sweeps

    report = engine_sweeps.summarize(ctx.home, sweep)
    trials = report["trials"]
    states = {state: sum(t["state"] == state for t in trials) for state in ("done", "pruned",
                                                                           "failed")}  # fmt: skip
    part = Section(f"sweep-{sweep.name}", f"Sweep {sweep.name}")
    part.add(Text(
        f"A search of {', '.join(report['searches'])} on the {sweep.recipe} recipe with Optuna"
        f" (TPE{', pruned by the median rule on the training loss' if sweep.prune else ''}):"
        f" {len(trials)} of {sweep.trials} trials, {states['done']} finished,"
        f" {states['pruned']} pruned, {states['failed']} failed. The objective is the best"
        " validation accuracy; the test set is never looked at by the search."))  # fmt: skip
    done = sorted((t for t in trials if t["value"] is not None), key=lambda t: -t["value"])
    names = [s.name for s in sweep.searches]
    rows = [[str(t["number"]), *[SETTING[n].show(t["params"].get(n)) for n in names],
             f"{t['value']:.2%}", t["run"] or ""] for t in done[:SHOWN_TRIALS]]  # fmt: skip
    if rows:
        part.add(Table(["trial", *names, "validation", "run"], rows))
    if report["importances"]:
        part.add(Text("Importance of each setting (Optuna's PED-ANOVA): " + ", ".join(
            f"{k} {v:.2f}" for k, v in report["importances"].items()) + "."))  # fmt: skip
    points = [(t["number"], 100 * t["best_so_far"]) for t in trials if t["best_so_far"]]
    if len(points) > 1:
        part.add(Figure(f"sweep-{sweep.name}-best", figures.line_chart(
            {"best so far": ([p[0] for p in points], [p[1] for p in points])},
            "best validation accuracy against the trials", "trial", "validation accuracy (%)"),
            f"Sweep {sweep.name}: the best validation accuracy after each trial"))  # fmt: skip
    confirmed = engine_sweeps.confirmation(ctx.home, sweep)
    if confirmed:
        seeds = confirmed["seeds"]
        rows = []
        for figure, values in confirmed["figures"].items():
            if any(math.isnan(values[g]["mean"]) for g in ("recipe", "best")):
                continue
            rows.append([figure, f"{values['recipe']['mean']:.2%}", f"{values['best']['mean']:.2%}",
                         f"{100 * values['difference']['mean']:+.2f} [{100 * values['difference']['low']:+.2f},"
                         f" {100 * values['difference']['high']:+.2f}]", values["verdict"]])  # fmt: skip
        part.add(Text(f"The best trial's settings and the recipe's, each trained over seeds"
                      f" {seeds[0]}-{seeds[-1]} (studies {sweep.name}-best and"
                      f" {sweep.name}-recipe), compared seed by seed:"))  # fmt: skip
        part.add(Table(["figure", "recipe (mean)", "best (mean)", "best − recipe, points [95%]",
                        "paired t-test"], rows))  # fmt: skip
    return part
