"""Sweeps: a search over run settings with Optuna, where a study only compares. A sweep is a
folder under the home's ``sweeps/`` holding ``sweep.json`` (the recipe, the settings every
trial shares, what is searched, how many trials) and Optuna's own storage (``optuna.db``,
SQLite); each trial is an ordinary run, named after its sweep (``NAME-t3``), listed and
analysed like any other.

The objective is the run's best validation accuracy: the test set is never looked at by the
search. Running a sweep again resumes it: a trial whose run finished while the sweep was
killed is told its result, a stopped one resumes its run, one without a usable run is asked
again with the same settings — nothing is lost or trained twice.

Pruning (``--prune``): each trial reports its smoothed training loss at every tenth of its
training, and Optuna's MedianPruner stops a trial whose loss is worse than the median of the
trials before it at the same point (after the first ``max(2, trials // 10)`` trials and the
first two tenths). The median rule needs no tuning and judges a one-epoch recipe within its
epoch, which an epoch-level validation score cannot; the loss, unlike the validation
accuracy, is known at every batch for free.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine import events as ev
from engine import launch, runs
from engine.atomic import read_record, write_json
from engine.config import RECIPES, SETTING, recipe_config
from engine.errors import SettingError, UserFacing
from engine.runs import process as run_process
from engine.runs.state import FINISHED

SWEEP = "sweep.json"
STORAGE = "optuna.db"
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,47}")  # a letter first: never read as an id
UNSEARCHED = ("seed", "data", "tensorboard", "device", "model_args")
EXTRA = "pip install 'mnist-tui[sweep]'"


def sweeps_folder(home: Path) -> Path:
    return home / "sweeps"


def sweep_dir(home: Path, name: str) -> Path:
    if not NAME_PATTERN.fullmatch(name):
        raise UserFacing(f"sweep name {name!r}: a letter, then letters, digits, '-', '_' or"
                         " '.', at most 48")  # fmt: skip
    return sweeps_folder(home) / name


def optuna_module():
    try:
        import optuna
    except ImportError:
        raise UserFacing(f"sweeps need Optuna: {EXTRA}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


# --- what is searched --------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    """One setting's search: a range (``low..high``, on a log scale with ``log``) or a list
    of choices, each checked against the setting's own declaration."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()

    @property
    def text(self) -> str:
        if self.choices:
            return f"{self.name}={','.join(SETTING[self.name].show(c) for c in self.choices)}"
        spec = SETTING[self.name]
        return f"{self.name}={spec.show(self.low)}..{spec.show(self.high)}" + (
            ":log" if self.log else ""
        )

    def suggest(self, trial):
        if self.choices:
            return trial.suggest_categorical(self.name, list(self.choices))
        if SETTING[self.name].kind is int:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)


def parse_search(item: str) -> Search:
    """``lr=1e-4..1e-1:log``, ``epochs=1..3`` or ``batch_size=64,128,256``; SettingError
    naming the item and what is wrong."""
    name, equals, rest = item.partition("=")
    name = name.strip().replace("-", "_")
    if not equals:
        raise SettingError(f"--search {item!r}: give SETTING=LOW..HIGH[:log] or SETTING=A,B,C")
    if name not in SETTING or name in UNSEARCHED:
        known = ", ".join(s for s in SETTING if s not in UNSEARCHED)
        raise SettingError(f"--search {item!r}: {name!r} is not a setting to search (one of"
                           f" {known})")  # fmt: skip
    spec = SETTING[name]
    if ".." in rest:
        if spec.kind not in (int, float):
            raise SettingError(f"--search {item!r}: {name} is not a number; give its choices,"
                               f" e.g. {name}=A,B")  # fmt: skip
        body, _, scale = rest.partition(":")
        if scale not in ("", "log"):
            raise SettingError(f"--search {item!r}: after ':' only 'log' is known")
        low_text, _, high_text = body.partition("..")
        if not low_text.strip() or not high_text.strip():
            raise SettingError(f"--search {item!r}: the range is empty; give LOW..HIGH")
        low, high = (_parse_bound(spec, item, t) for t in (low_text, high_text))
        if low >= high:
            raise SettingError(f"--search {item!r}: {spec.show(low)} is not below"
                               f" {spec.show(high)}")  # fmt: skip
        if scale == "log" and low <= 0:
            raise SettingError(f"--search {item!r}: a log range must stay above 0")
        return Search(name, low, high, scale == "log")
    texts = [t.strip() for t in rest.split(",")]
    if not rest.strip() or any(not t for t in texts):
        raise SettingError(f"--search {item!r}: give LOW..HIGH or comma-separated choices,"
                           " none empty")  # fmt: skip
    try:
        choices = tuple(spec.parse(t) for t in texts)
    except SettingError as error:
        raise SettingError(f"--search {item!r}: {error}") from None
    if len(set(choices)) != len(choices):
        raise SettingError(f"--search {item!r}: a choice is given twice")
    if len(choices) < 2:
        raise SettingError(f"--search {item!r}: one value is not a search; set it with"
                           f" {spec.flag} instead")  # fmt: skip
    return Search(name, choices=choices)


def _parse_bound(spec, item: str, text: str) -> float:
    try:
        return spec.parse(text)
    except SettingError as error:
        raise SettingError(f"--search {item!r}: {error}") from None


# Settings that change the training loss by themselves, whatever the trial's quality: with
# them searched, --prune (which compares trials by their training loss) would judge the
# setting, not the trial.
LOSS_CHANGING = ("label_smoothing", "adversarial", "eps", "trades_beta", "adv_steps")


def check_pruning(searches: list[Search]) -> None:
    """SettingError where --prune cannot judge the trials fairly."""
    unfair = [s.name for s in searches if s.name in LOSS_CHANGING]
    if unfair:
        raise SettingError(f"--prune compares trials by their training loss, which"
                           f" {', '.join(unfair)} changes by itself: search it without --prune")  # fmt: skip


def parse_searches(items: list[str], given: dict) -> list[Search]:
    searches = [parse_search(item) for item in items]
    names = [s.name for s in searches]
    for search in searches:
        if names.count(search.name) > 1:
            raise SettingError(f"--search {search.name} is given twice")
        if search.name in given:
            raise SettingError(f"{SETTING[search.name].flag} and --search {search.name} both set"
                               f" {search.name}: give one of them")  # fmt: skip
    return searches


# --- the sweep's record --------------------------------------------------------------------


@dataclass
class Sweep:
    name: str
    recipe: str = "study"
    given: dict = field(default_factory=dict)  # settings every trial shares, over the recipe's
    searches: list[Search] = field(default_factory=list)
    trials: int = 20
    seed: int = 0  # the sampler's; every trial trains with the run seed in ``given`` (or 0)
    prune: bool = False

    def config(self, params: dict):
        return recipe_config(self.recipe, {**self.given, **params})

    def to_dict(self) -> dict:
        return {"name": self.name, "recipe": self.recipe, "given": self.given,
                "searches": [s.text for s in self.searches], "trials": self.trials,
                "seed": self.seed, "prune": self.prune}  # fmt: skip

    @classmethod
    def from_dict(cls, name: str, data: dict) -> Sweep:
        try:
            sweep = cls(name, data["recipe"], dict(data["given"]),
                        [parse_search(t) for t in data["searches"]], int(data["trials"]),
                        int(data["seed"]), bool(data["prune"]))  # fmt: skip
        except (KeyError, TypeError, ValueError) as error:
            raise UserFacing(f"sweep {name}: {SWEEP} is damaged ({error})") from None
        if sweep.recipe not in RECIPES:
            raise UserFacing(f"sweep {name}: {SWEEP} names no known recipe")
        sweep.config({})  # its settings still valid
        return sweep


def load_sweep(home: Path, name: str) -> Sweep:
    data = read_record(sweep_dir(home, name) / SWEEP,
                       f"no sweep named {name!r}; start one with --search",
                       f"sweep {name}: {SWEEP} is damaged")  # fmt: skip
    if not isinstance(data, dict):
        raise UserFacing(f"sweep {name}: {SWEEP} is damaged (not an object)")
    return Sweep.from_dict(name, data)


def list_sweeps(home: Path) -> list[str]:
    folder = sweeps_folder(home)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / SWEEP).is_file())


def storage_url(home: Path, name: str) -> str:
    return f"sqlite:///{sweep_dir(home, name) / STORAGE}"


SQLITE_HEADER = b"SQLite format 3\x00"


def storage_problem(home: Path, name: str) -> str | None:
    """What is wrong with the sweep's Optuna store as a file, before SQLite opens it (which
    would follow a link, or take an empty file for a new store and start the trials again):
    None where it is sound or not made yet."""
    path = sweep_dir(home, name) / STORAGE
    if path.is_symlink():
        return "is a link, not the sweep's own file"
    if not path.exists():
        return None
    if not path.is_file():
        return "is not a file"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if not header:
        return "is empty (truncated)"
    if header != SQLITE_HEADER:
        return "is not an SQLite database"
    return None


RESTORE = "put the sweep's own file back (from a backup), or start a new sweep under another name"


def damaged_store(home: Path, name: str, why: str, advice: str = RESTORE) -> UserFacing:
    """The one line for a store that cannot be used: the file, what is wrong, what to do."""
    return UserFacing(f"sweep {name}: its Optuna store {sweep_dir(home, name) / STORAGE} {why};"
                      f" nothing was changed: {advice}")  # fmt: skip


@contextlib.contextmanager
def store_errors(home: Path, name: str):
    """Optuna's and SQLite's errors on the sweep's store as one line naming the file: a
    file SQLite cannot read (damaged, truncated inside), locked by another program, or
    unwritable."""
    import sqlite3

    try:
        yield
    except Exception as error:
        # SQLAlchemy's errors, matched by module: it is imported only with Optuna
        if not (isinstance(error, sqlite3.Error)
                or type(error).__module__.startswith("sqlalchemy")):  # fmt: skip
            raise
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        advice = ("another program holds it (a database viewer, a copy of the sweep): try again"
                  " once it is closed") if "locked" in reason else RESTORE  # fmt: skip
        raise damaged_store(home, name, f"cannot be used ({reason})", advice) from None


def checked_store(home: Path, sweep: Sweep) -> None:
    """UserFacing where the store is damaged, or missing while the sweep's trials have runs
    (a new store would number its trials from 0 again, over the runs of the lost one)."""
    why = storage_problem(home, sweep.name)
    if why:
        raise damaged_store(home, sweep.name, why)
    if not (sweep_dir(home, sweep.name) / STORAGE).exists():
        trial_runs = [d.name for d in runs.list_runs(home)
                      if TRIAL_NAME.fullmatch(runs.read_name(d))
                      and runs.read_name(d).rpartition("-t")[0] == sweep.name]  # fmt: skip
        if trial_runs:
            raise damaged_store(home, sweep.name, f"is missing while {len(trial_runs)} of its"
                                " trials' runs are kept")  # fmt: skip


TRIAL_NAME = re.compile(r".+-t[0-9]+")


def sampler_seed(sweep: Sweep, started: int) -> int:
    """The sampler's seed when the sweep (re)starts with ``started`` trials in its store: the
    sweep's own seed for a sweep run in one go; for one taken up again, a seed drawn from the
    sweep's seed and that count. A sampler made again with the same seed would draw its random
    start from the beginning again, giving trial 4 the settings of trial 0; drawn from the
    count, it never does, and a sweep killed at the same trial and run again still draws the
    same settings (reproducible without keeping the sampler's state in a second file)."""
    if started == 0:
        return sweep.seed
    import numpy as np

    return int(np.random.SeedSequence([sweep.seed, started]).generate_state(1)[0])


def sampler_for(sweep: Sweep, started: int):
    """Optuna's TPE sampler for the sweep, seeded for where it (re)starts (``sampler_seed``)."""
    return optuna_module().samplers.TPESampler(seed=sampler_seed(sweep, started))


def open_study(home: Path, sweep: Sweep):
    """Optuna's study of the sweep, made or loaded from the sweep's own storage (checked
    first: UserFacing naming the file where it cannot be used)."""
    optuna = optuna_module()
    checked_store(home, sweep)
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=max(2, sweep.trials // 10),
                                          n_warmup_steps=2)
              if sweep.prune else optuna.pruners.NopPruner())  # fmt: skip
    with store_errors(home, sweep.name):
        study = optuna.create_study(study_name=sweep.name, storage=storage_url(home, sweep.name),
                                    load_if_exists=True, direction="maximize",
                                    sampler=sampler_for(sweep, 0), pruner=pruner)  # fmt: skip
        started = len(study.get_trials(deepcopy=False))
    study.sampler = sampler_for(sweep, started)
    return study


def start_sweep(home: Path, sweep: Sweep) -> None:
    """Record a new sweep (UserFacing if one of that name exists with other settings)."""
    folder = sweep_dir(home, sweep.name)
    if (folder / SWEEP).exists():
        kept = load_sweep(home, sweep.name)
        if kept.to_dict() != sweep.to_dict():
            raise UserFacing(f"sweep {sweep.name} exists with other settings: `mnist-tui sweep"
                             f" {sweep.name}` alone goes on with it, or choose another name")  # fmt: skip
        return
    if not sweep.searches:
        raise SettingError("a new sweep needs at least one --search SETTING=...")
    sweep.config({s.name: s.choices[0] if s.choices else s.low for s in sweep.searches})
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / SWEEP, sweep.to_dict())


# --- running it --------------------------------------------------------------------------


class Tenths:
    """Hears a run's events and calls ``at(score, tenth)`` at each tenth of its training
    (1..10), the score being the negated smoothed training loss (higher is better, like
    the objective). Where a trial's progress is judged, here and on Ray Tune."""

    def __init__(self, at: Callable[[float, int], None]) -> None:
        self.at = at
        self.total, self.smoothed, self.reported = 0, None, 0

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.RunStarted):
            self.total = max(event.epochs * event.batches_per_epoch, 1)
        elif isinstance(event, ev.BatchTrained) and self.total:
            loss = event.loss if math.isfinite(event.loss) else 1e9
            self.smoothed = loss if self.smoothed is None else 0.9 * self.smoothed + 0.1 * loss
            tenth = min(10, 10 * event.step // self.total)
            if tenth > self.reported:
                self.reported = tenth
                self.at(-self.smoothed, tenth)


class Pruning(Tenths):
    """Reports a trial's progress to Optuna at each tenth of its training; asks the run to
    stop (``cancel``) when Optuna's pruner says the trial is hopeless."""

    def __init__(self, trial, cancel: threading.Event) -> None:
        super().__init__(self.judge)
        self.trial, self.cancel, self.pruned = trial, cancel, False

    def judge(self, score: float, tenth: int) -> None:
        self.trial.report(score, tenth)
        if tenth < 10 and self.trial.should_prune():
            self.pruned = True
            self.cancel.set()


def shown_params(params: dict) -> str:
    """A trial's settings as the form and the command line write them: 'lr=0.01 batch_size=128'."""
    return " ".join(f"{k}={SETTING[k].show(v)}" for k, v in params.items())


def trial_value(run_dir: Path) -> float | None:
    """A finished run's objective: its best validation accuracy."""
    summary = runs.summarize(run_dir)
    if summary.status != FINISHED or summary.best_val_accuracy is None:
        return None
    return summary.best_val_accuracy


def recover(home: Path, study) -> tuple[list, list[str]]:
    """Trials a killed sweep left running: those whose run finished are told its result;
    the others are taken up again (their run resumes from its ``last.pt``, or a run with the
    same settings starts where none was kept). The trials to go on with, and a sentence for
    each trial."""
    optuna = optuna_module()
    again, said = [], []
    for frozen in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        run_id = frozen.user_attrs.get("run")
        run_dir = runs.run_folder(home, run_id) if run_id else None
        value = trial_value(run_dir) if run_dir and run_dir.is_dir() else None
        if value is not None:
            study.tell(frozen.number, value)
            said.append(f"trial {frozen.number}: its run {run_id} had finished ({value:.2%})")
            continue
        again.append(optuna.trial.Trial(study, frozen._trial_id))
        # has_checkpoint: a last.pt that is a file, so a missing folder is not resumable
        resumable = run_dir is not None and runs.has_checkpoint(run_dir, runs.snapshots.LAST)
        if resumable:
            said.append(f"trial {frozen.number}: its run {run_id} resumes")
        elif run_dir is not None and run_dir.is_dir():
            said.append(f"trial {frozen.number}: {replace_lost_run(run_dir)}")
        else:
            said.append(f"trial {frozen.number}: no run was kept: it starts again")
    return again, said


def replace_lost_run(run_dir: Path) -> str:
    """Remove the run of a trial whose process was killed before it saved an epoch to go on
    from (nothing of it can be used), so that the run replacing it takes the trial's name and
    ``runs`` shows one run per trial; a sentence. A run still alive is left alone."""
    try:
        runs.delete_run(run_dir)
    except (UserFacing, OSError) as error:
        return (f"its run {run_dir.name} kept nothing to resume from and could not be removed"
                f" ({str(error).splitlines()[0]}): a new run starts")  # fmt: skip
    return (f"its run {run_dir.name} kept nothing to resume from: it was removed and a new run"
            " starts under the trial's name")  # fmt: skip


def done_trials(study) -> int:
    """Trials that have ended: finished, pruned or failed."""
    optuna = optuna_module()
    states = optuna.trial.TrialState
    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state in (states.COMPLETE, states.PRUNED, states.FAIL))  # fmt: skip


def check_free(home: Path, sweep: Sweep) -> None:
    """UserFacing where the sweep runs in another process or its store cannot be used: asked
    before anything of it is changed (its record extended by --trials)."""
    if run_process.is_locked(sweep_dir(home, sweep.name)):
        raise UserFacing(f"sweep {sweep.name} is running in another process")
    optuna_module()
    checked_store(home, sweep)
    with store_errors(home, sweep.name):
        open_study(home, sweep).get_trials(deepcopy=False)


@contextlib.contextmanager
def taken_up(home: Path, sweep: Sweep, tell: Callable[[str], None]):
    """The sweep's lock held, its Optuna study opened and what a killed run of it left taken
    up (``recover``): yields (study, the trials to go on with)."""
    lock = run_process.lock_folder(sweep_dir(home, sweep.name),
                                   UserFacing(f"sweep {sweep.name} is running in another"
                                              " process"))  # fmt: skip
    try:
        with store_errors(home, sweep.name):
            study = open_study(home, sweep)
            again, said = recover(home, study)
            for sentence in said:
                tell(sentence)
            yield study, again
    finally:
        os.close(lock)


def deadline_after(timeout_minutes: float | None) -> float:
    return time.monotonic() + 60 * timeout_minutes if timeout_minutes else math.inf


def run_sweep(home: Path, sweep: Sweep, emit: ev.Emit = ev.ignore, cancel=None,
              timeout_minutes: float | None = None,
              on_trial: Callable[[str], None] | None = None) -> object:  # fmt: skip
    """Run the sweep's trials here, one after another, until it has ``sweep.trials`` of them
    (going on with what a killed sweep left); Optuna's study. ``on_trial`` hears a sentence
    per trial. (On Ray: engine.studies.tune.)"""
    tell = on_trial or (lambda text: None)
    with taken_up(home, sweep, tell) as (study, again):
        deadline = deadline_after(timeout_minutes)
        while again or done_trials(study) < sweep.trials:
            if (cancel is not None and cancel.is_set()) or time.monotonic() > deadline:
                break
            trial = again.pop(0) if again else study.ask()
            params = {s.name: s.suggest(trial) for s in sweep.searches}
            tell(run_trial(home, sweep, study, trial, params, emit, cancel))
        return study


def trial_run_name(sweep_name: str, number: int) -> str:
    """The name of a trial's run: the sweep's name and the trial's number."""
    return f"{sweep_name}-t{number}"


def run_trial(home: Path, sweep: Sweep, study, trial, params: dict, emit: ev.Emit,
              cancel=None) -> str:  # fmt: skip
    """Train one trial's run (or resume the run of a trial a killed sweep left); told to
    Optuna. A sentence of what became of it."""
    optuna = optuna_module()
    stop = threading.Event()
    pruning = Pruning(trial, stop) if sweep.prune else None
    listeners = [emit] + ([pruning] if pruning else [])
    if cancel is not None:  # Ctrl-C on the sweep stops its trial too
        listeners.append(lambda event: stop.set() if cancel.is_set() else None)
    kept = trial.user_attrs.get("run")  # a trial taken up again: its run, if it can go on
    kept_dir = runs.run_folder(home, kept) if kept else None
    resume = kept_dir is not None and runs.has_checkpoint(kept_dir, runs.snapshots.LAST)
    try:
        if resume:
            prepared = launch.prepare_resume(home, kept_dir)
        else:
            prepared = launch.prepare(home, sweep.config(params))

        def created(run_dir: Path) -> None:
            trial.set_user_attr("run", run_dir.name)
            if not resume:
                with contextlib.suppress(UserFacing):  # the name kept by an earlier run of it
                    runs.name_run(run_dir, trial_run_name(sweep.name, trial.number))

        run_dir, _, summary = launch.start(home, prepared, detach=False, listeners=listeners,
                                           cancel=stop, on_created=created)  # fmt: skip
    except UserFacing as error:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return f"trial {trial.number} failed: {str(error).splitlines()[0]}"
    shown = shown_params(params)
    if pruning is not None and pruning.pruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return f"trial {trial.number} pruned at {pruning.reported}/10 of its training: {shown}"
    if cancel is not None and cancel.is_set():
        return f"trial {trial.number} stopped with the sweep (it resumes next time): {shown}"
    value = trial_value(run_dir)
    if value is None:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return f"trial {trial.number} ended {summary.status if summary else 'without a result'}"
    study.tell(trial, value)
    return f"trial {trial.number}: validation {value:.2%} ({shown}, run {run_dir.name})"


# --- what it found ------------------------------------------------------------------------


def best_trial(study):
    """The finished trial of highest validation accuracy (None before any)."""
    optuna = optuna_module()
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return max(done, key=lambda t: (t.value, -t.number)) if done else None


def importances(study) -> dict[str, float]:
    """Each searched setting's importance to the objective (Optuna's PED-ANOVA: how much
    the setting's values differ between the best trials and the rest; fast at any number of
    trials), once there are enough finished trials to tell (at least 3); {} before."""
    optuna = optuna_module()
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(done) < 3 or len({tuple(sorted(t.params.items())) for t in done}) < 2:
        return {}
    import warnings

    try:
        with warnings.catch_warnings():  # "too few trials to tell apart": said by the numbers
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.PedAnovaImportanceEvaluator()
            )
    except (RuntimeError, ValueError):  # it needs variation it may not have yet
        return {}
    return {name: float(share) for name, share in found.items()}


def summarize(home: Path, sweep: Sweep) -> dict:
    """The sweep's trials in order (settings, value, state, run, best so far), its best
    trial and the settings' importances: what `sweep show` prints, as plain data. Only read:
    a sweep whose store is not made yet has no trials (no store is made for it)."""
    with store_errors(home, sweep.name):
        return _summarize(home, sweep)


def _summarize(home: Path, sweep: Sweep) -> dict:
    checked_store(home, sweep)
    made = (sweep_dir(home, sweep.name) / STORAGE).exists()
    study = open_study(home, sweep) if made else None
    trials, best_so_far = [], None
    for trial in study.get_trials(deepcopy=False) if study else []:
        value = trial.value if trial.state.name == "COMPLETE" else None
        if value is not None:
            best_so_far = value if best_so_far is None else max(best_so_far, value)
        trials.append({"number": trial.number, "params": trial.params, "value": value,
                       "state": {"COMPLETE": "done", "PRUNED": "pruned", "FAIL": "failed",
                                 "RUNNING": "running", "WAITING": "waiting"}[trial.state.name],
                       "run": trial.user_attrs.get("run"), "best_so_far": best_so_far})  # fmt: skip
    best = best_trial(study) if study else None
    return {
        "name": sweep.name, "recipe": sweep.recipe, "given": sweep.given,
        "searches": [s.text for s in sweep.searches], "of": sweep.trials, "trials": trials,
        "best": None if best is None else {"number": best.number, "params": best.params,
                                           "value": best.value, "run": best.user_attrs.get("run")},
        "importances": importances(study) if study else {},
    }  # fmt: skip


# --- confirming the best over seeds --------------------------------------------------------

# (the statistics' name of the figure, the run summary's field)
CONFIRM_FIGURES = (("best val accuracy", "best_val_accuracy"), ("test accuracy", "test_accuracy"))


def confirm(home: Path, sweep: Sweep, seeds: list[int], emit: ev.Emit = ev.ignore, cancel=None,
            say: Callable[[str], None] = lambda text: None) -> dict:  # fmt: skip
    """The best trial's settings and the recipe's own, each trained over ``seeds`` as a study
    (``NAME-best``, ``NAME-recipe``: resumable, listed with the studies), compared seed by
    seed: each group's interval and the paired difference, for the validation accuracy the
    search chose on and the test accuracy it never saw."""
    from engine.studies import define, run_study

    made = (sweep_dir(home, sweep.name) / STORAGE).exists()  # none made just to look
    best = best_trial(open_study(home, sweep)) if made else None
    if best is None:
        raise UserFacing(f"sweep {sweep.name} has no finished trial to confirm yet")
    for label, params in (("recipe", {}), ("best", best.params)):
        # every setting of the trial's config but its seed, which the study sets
        base = {k: v for k, v in sweep.config(params).to_dict().items() if k != "seed"}
        study = define(home, f"{sweep.name}-{label}", None, seeds, base, check_devices=True)
        say(f"confirming the {label} settings over seeds {seeds[0]}-{seeds[-1]} (study"
            f" {study.name})")  # fmt: skip
        run_study(home, study, listeners=[emit], cancel=cancel, say=say)
    return confirmation(home, sweep, best, seeds)


def confirmation(
    home: Path, sweep: Sweep, best=None, seeds: list[int] | None = None
) -> dict | None:
    """The comparison of the two confirming studies from their finished runs (nothing is
    trained); None where ``confirm`` has not made them."""
    from engine.studies import entry_key, load_study, study_dir
    from engine.studies.stats import bounds, interval, paired

    if not all((study_dir(home, f"{sweep.name}-{label}") / "study.json").is_file()
               for label in ("recipe", "best")):  # fmt: skip
        return None
    best = best or best_trial(open_study(home, sweep))
    groups = {label: load_study(home, f"{sweep.name}-{label}") for label in ("recipe", "best")}
    seeds = seeds or groups["best"].seeds
    values: dict[str, dict[str, dict[int, float]]] = {}
    for label, study in groups.items():
        values[label] = {figure: {} for figure, _ in CONFIRM_FIGURES}
        for seed in seeds:
            run_id = study.runs.get(entry_key({}, seed))
            if not run_id:
                continue
            summary = runs.summarize(runs.run_folder(home, run_id))
            if summary.status != FINISHED:
                continue
            for figure, field_name in CONFIRM_FIGURES:
                values[label][figure][seed] = getattr(summary, field_name)
    result = {"best_trial": best.number, "params": best.params, "seeds": seeds, "figures": {}}
    for figure, _ in CONFIRM_FIGURES:
        shown = {label: interval(list(values[label][figure].values()), bounds(figure))
                 for label in groups}  # fmt: skip
        compared = paired("recipe", "best", figure, values["recipe"][figure],
                          values["best"][figure])  # fmt: skip
        result["figures"][figure] = {
            label: {"n": iv.n, "mean": iv.mean, "low": iv.low, "high": iv.high}
            for label, iv in shown.items()
        } | {"difference": {"mean": compared.difference.mean, "low": compared.difference.low,
                            "high": compared.difference.high, "n": compared.difference.n},
             "p_value": compared.p_value, "verdict": compared.verdict}  # fmt: skip
    return result
