"""What a study's runs say, with statistics: per group (everything that varies but the seed)
the mean, standard deviation and 95% confidence interval (Student's t) of each figure; and
between two groups run on the same seeds, the paired difference with its interval and the
paired t-test's p-value (SciPy), in words: is the difference distinguishable from seed noise?
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from engine import runs
from engine.runs.state import FINISHED
from engine.studies import Study, entry_key, group_label

# The figures compared: (name, what a run summary gives, a unit for people).
FIGURES = (
    ("test accuracy", lambda s: s.test_accuracy, "%"),
    ("best val accuracy", lambda s: s.best_val_accuracy, "%"),
    ("test loss", lambda s: s.test_loss, ""),
    ("train ms/image", lambda s: s.train_ms_per_image, "ms"),
    ("test ms/image", lambda s: s.test_ms_per_image, "ms"),
    ("robust val accuracy", lambda s: s.robust_val_accuracy, "%"),  # adversarial runs only
)
# At one epoch (`study show NAME --epoch N`): what each run's record of that epoch gives.
EPOCH_FIGURES = (
    ("val accuracy", lambda e: e.val_accuracy, "%"),
    ("val loss", lambda e: e.val_loss, ""),
    ("robust val accuracy", lambda e: e.robust_val_accuracy, "%"),
)
UNITS = {name: unit for name, _, unit in (*FIGURES, *EPOCH_FIGURES)}
# The values each unit can take: an interval never reaches past them (it is clipped, and
# says so). A difference of two values of a bounded figure has bounds of its own.
BOUNDS = {"%": (0.0, 1.0), "": (0.0, math.inf), "ms": (0.0, math.inf)}
# Below this many seeds a t interval is so wide that it says little: the views say so.
FEW_SEEDS = 3


def bounds(figure: str, difference: bool = False) -> tuple[float, float]:
    low, high = BOUNDS[UNITS[figure]]
    return (low - high, high - low) if difference else (low, high)


# Figures only some runs have: a study reports them when at least one of its runs does.
OPTIONAL = ("robust val accuracy",)
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A figure over the seeds of one group."""

    n: int
    mean: float
    sd: float
    low: float  # the 95% confidence interval of the mean (nan below two values)
    high: float
    clipped: bool = False  # the t interval reached past the possible values and was cut there

    @property
    def few(self) -> bool:
        """Too few values for the interval to say much."""
        return 2 <= self.n < FEW_SEEDS


def interval(
    values: list[float], possible: tuple[float, float] = (-math.inf, math.inf)
) -> Interval:
    """Mean, sd and Student's t 95% interval of ``values``, cut to the ``possible`` values
    (an accuracy's interval never reaches past 100%)."""
    from scipy import stats

    n = len(values)
    if n == 0:
        return Interval(0, math.nan, math.nan, math.nan, math.nan)
    mean = sum(values) / n
    if n < 2:
        return Interval(n, mean, math.nan, math.nan, math.nan)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = stats.t.ppf((1 + CONFIDENCE) / 2, n - 1) * sd / math.sqrt(n)
    low, high = max(mean - half, possible[0]), min(mean + half, possible[1])
    return Interval(n, mean, sd, low, high, (low, high) != (mean - half, mean + half))


@dataclass(frozen=True)
class Paired:
    """Group b minus group a over the seeds both finished."""

    a: str
    b: str
    figure: str
    seeds: list[int]
    difference: Interval
    p_value: float

    @property
    def verdict(self) -> str:
        if self.difference.n < 2 or math.isnan(self.p_value):
            return "too few paired seeds to tell"
        if self.p_value < 1 - CONFIDENCE:
            return f"distinguishable from seed noise (p = {self.p_value:.3g})"
        return f"not distinguishable from seed noise (p = {self.p_value:.2g})"

    def line(self) -> str:
        """The comparison in one line, the same in the CLI, the app and the report:
        'test accuracy: b minus a over seeds 0,1,2: +0.12 pt [-0.05 pt, +0.29 pt] — verdict'."""
        unit, d = UNITS[self.figure], self.difference
        return (f"{self.figure}: {self.b} minus {self.a} over seeds"
                f" {','.join(map(str, self.seeds)) or '-'}: {signed(d.mean, unit)}"
                f" [{signed(d.low, unit)}, {signed(d.high, unit)}]{'*' if d.clipped else ''}"
                f" — {self.verdict}")  # fmt: skip


def signed(value: float | None, unit: str) -> str:
    """A difference: in points for a share ('+0.12 pt'), else in its unit."""
    if value is None or math.isnan(value):
        return "-"
    return f"{100 * value:+.2f} pt" if unit == "%" else f"{value:+.4g}{' ' + unit if unit else ''}"


def interval_text(iv: Interval, unit: str, with_sd: bool = True) -> str:
    """A figure over seeds: 'mean ± sd [low, high]', in percent where ``unit`` is '%'; a '*'
    marks an interval cut at the possible values."""
    if iv.n == 0:
        return "-"

    def show(value: float, digits: str = ".4g") -> str:
        return f"{100 * value:.2f}" if unit == "%" else format(value, digits)

    if iv.n < 2:
        return show(iv.mean)
    sd = f" ± {show(iv.sd, '.2g')}" if with_sd else ""
    return f"{show(iv.mean)}{sd} [{show(iv.low)}, {show(iv.high)}]{'*' if iv.clipped else ''}"


def paired(
    a: str, b: str, figure: str, values_a: dict[int, float], values_b: dict[int, float]
) -> Paired:
    from scipy import stats

    seeds = sorted(set(values_a) & set(values_b))
    differences = [values_b[s] - values_a[s] for s in seeds]
    if len(seeds) >= 2 and any(d != differences[0] for d in differences):
        p_value = float(
            stats.ttest_rel([values_b[s] for s in seeds], [values_a[s] for s in seeds]).pvalue
        )
    elif len(seeds) >= 2:  # every difference equal: no spread to test against
        p_value = 0.0 if differences[0] else 1.0
    else:
        p_value = math.nan
    return Paired(a, b, figure, seeds, interval(differences, bounds(figure, True)), p_value)


@dataclass(frozen=True)
class StudyReport:
    """Per group and figure, the values by seed and their interval; paired comparisons of
    every group against the first."""

    name: str
    groups: list[str]
    values: dict[str, dict[str, dict[int, float]]]  # group -> figure -> seed -> value
    intervals: dict[str, dict[str, Interval]]
    comparisons: list[Paired]
    runs: dict[str, str]  # entry key -> status
    eta_seconds: float | None  # the unfinished runs at the pace of the finished ones
    figures: list[str]  # the figures reported, in FIGURES' order

    def notes(self) -> list[str]:
        """What a reader must know to read the intervals: clipped ones, and too few seeds."""
        shown = [iv for g in self.groups for iv in self.intervals[g].values()]
        shown += [c.difference for c in self.comparisons]
        notes = []
        if any(iv.clipped for iv in shown):
            notes.append("* an interval cut at the possible values (0-100%, no negative loss or"
                         " time): Student's t reached past them")  # fmt: skip
        few = sorted({iv.n for iv in shown if iv.few})
        if few:
            seeds = " or ".join(map(str, few))
            notes.append(f"with {seeds} seeds a 95% interval is too wide to tell much: run more"
                         " seeds (e.g. --seeds 0-4)")  # fmt: skip
        return notes

    def table(self, figures: list[str] | None = None, with_sd: bool = True
              ) -> tuple[list[str], list[list[str]]]:  # fmt: skip
        """The study's table, laid out once for the CLI, the app and the report: (column
        labels, rows) — each group, its seeds (the most any figure has) and each of
        ``figures`` (all by default) over them as an interval (``interval_text``)."""
        figures = self.figures if figures is None else figures
        rows = []
        for group in self.groups:
            figures_of = self.intervals[group]
            n = max((iv.n for iv in figures_of.values()), default=0)
            rows.append([group, str(n), *(interval_text(figures_of[name], UNITS[name], with_sd)
                                          for name in figures)])  # fmt: skip
        return ["group", "n", *figures], rows

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "notes": self.notes(),
            "groups": {
                g: {f: {"values": {str(s): v for s, v in self.values[g][f].items()},
                        **self.intervals[g][f].__dict__} for f in self.intervals[g]}
                for g in self.groups
            },
            "comparisons": [{"a": c.a, "b": c.b, "figure": c.figure, "seeds": c.seeds,
                             "difference": c.difference.__dict__, "p_value": c.p_value,
                             "verdict": c.verdict} for c in self.comparisons],
            "runs": self.runs,
            "eta_seconds": self.eta_seconds,
        }  # fmt: skip


def report(home: Path, study: Study, epoch: int | None = None) -> StudyReport:
    """The statistics of a study from its finished runs (others are left out and listed);
    with ``epoch``, of every run that reached that epoch, at that epoch (validation)."""
    if epoch is not None:
        return _report_at(home, study, epoch)

    def finished(run_dir: Path):
        summary = runs.summarize(run_dir)
        return summary.status, summary if summary.status == FINISHED else None

    groups, values, statuses, summaries = _gather(home, study, FIGURES, finished)
    durations = [(s.train_seconds or 0.0) + (s.test_seconds or 0.0) for s in summaries]
    left = sum(status != FINISHED for status in statuses.values())
    eta = (
        left * sum(durations) / len(durations)
        if durations and left
        else (0.0 if not left else None)
    )
    return _statistics(study.name, FIGURES, groups, values, statuses, eta)


def _report_at(home: Path, study: Study, epoch: int) -> StudyReport:
    from engine import events as ev

    def at_epoch(run_dir: Path):
        records = [e for e in runs.read_events(run_dir, runs.WITHOUT_BATCHES)
                   if isinstance(e, ev.EpochEvaluated) and e.epoch == epoch]  # fmt: skip
        if not records:
            return f"not at epoch {epoch}", None
        return f"reached epoch {epoch}", records[-1]

    groups, values, statuses, _ = _gather(home, study, EPOCH_FIGURES, at_epoch)
    return _statistics(f"{study.name} at epoch {epoch}", EPOCH_FIGURES, groups, values,
                       statuses, None)  # fmt: skip


def _gather(home: Path, study: Study, figures, read):
    """Each entry's run read by ``read(run_dir) -> (status, record or None)``: the groups in
    order, per group and figure the values by seed, each entry's status, and the records
    read."""
    groups: list[str] = []
    values: dict[str, dict[str, dict[int, float]]] = {}
    statuses: dict[str, str] = {}
    records = []
    for group, seed in study.entries():
        label = group_label(group)
        if label not in values:
            groups.append(label)
            values[label] = {name: {} for name, _, _ in figures}
        key = entry_key(group, seed)
        run_id = study.runs.get(key)
        run_dir = runs.run_folder(home, run_id) if run_id else None
        if run_dir is None or not run_dir.is_dir():
            statuses[key] = "not started"
            continue
        statuses[key], record = read(run_dir)
        if record is None:
            continue
        records.append(record)
        for name, get, _ in figures:
            value = get(record)
            if value is not None:
                values[label][name][seed] = float(value)
    return groups, values, statuses, records


def _statistics(name: str, table, groups: list[str], values, statuses, eta) -> StudyReport:
    """The intervals of each group's figures (those of ``table`` the runs have) and each
    group against the first."""
    figures = [figure for figure, _, _ in table
               if figure not in OPTIONAL or any(values[g][figure] for g in groups)]  # fmt: skip
    intervals = {
        g: {f: interval(list(values[g][f].values()), bounds(f)) for f in figures} for g in groups
    }
    comparisons = [
        paired(groups[0], other, figure, values[groups[0]][figure], values[other][figure])
        for other in groups[1:]
        for figure in figures
    ]
    return StudyReport(name, groups, values, intervals, comparisons, statuses, eta, figures)


def group_curves(home: Path, study: Study) -> dict[str, tuple[list[int], list[float], list[float]]]:
    """Per group, the validation accuracy by epoch over its runs: (epochs, mean, sd), each
    epoch averaged over the runs that reached it."""
    from engine import events as ev

    by_group: dict[str, dict[int, list[float]]] = {}
    for group, seed in study.entries():
        run_id = study.runs.get(entry_key(group, seed))
        run_dir = runs.run_folder(home, run_id) if run_id else None
        if run_dir is None or not run_dir.is_dir():
            continue
        epochs = by_group.setdefault(group_label(group), {})
        for event in runs.read_events(run_dir, runs.WITHOUT_BATCHES):
            if isinstance(event, ev.EpochEvaluated):
                epochs.setdefault(event.epoch, []).append(event.val_accuracy)
    curves = {}
    for label, epochs in by_group.items():
        xs = sorted(epochs)
        means = [sum(epochs[x]) / len(epochs[x]) for x in xs]
        sds = [interval(epochs[x]).sd if len(epochs[x]) > 1 else 0.0 for x in xs]
        curves[label] = (xs, means, sds)
    return curves
