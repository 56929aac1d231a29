"""A sweep's trials as Ray Tune trials (``mnist-tui sweep ... --executor ray[:ADDRESS]``), with
Optuna as Tune's search algorithm and, with ``--prune``, Ray's ASHA scheduler.

The sweep stays what it is here: the same ``sweep.json``, the same Optuna storage in the
sweep's folder (Tune's ``OptunaSearch`` is given it, so ``sweep show``, the app and the report
read a Ray sweep like any other), each trial an ordinary run named ``NAME-tN`` in the home —
which is why the home must be a folder every node sees (checked before anything runs). Only
the driver writes Optuna's storage; a worker trains and reports.

ASHA (asynchronous successive halving) judges a trial at the 2nd and 6th tenth of its training
by the same progress score the local pruner uses (the negated smoothed training loss) and lets
it go on only if it is in the top third of the trials that reached that tenth. It decides as
results arrive, so no worker waits for the others: the reason Ray recommends it for parallel
search, where Optuna's median rule assumes trials that run one after another.

A worker lost mid-trial (its node died): Tune runs the trial again once (``FailureConfig``),
and the trial's run, found by its name, resumes from its ``last.pt`` (or starts again where
none was kept); lost twice, the trial is marked failed. Each is said, never silent.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from engine import launch, runs
from engine.errors import UserFacing
from engine.studies import sweeps

# what a trial reports to Tune
PROGRESS, TENTH, VALUE, RUN, FAILED = "progress", "tenth", "val_accuracy", "run", "failed"
AGAIN = "again"  # on a trial run again: what became of its earlier run
# what Tune gives a trial beside its searched settings
HOME, SWEEP, TRIAL, THREADS = "_home", "_sweep", "_trial", "_threads"
RETRIES = 1  # a trial whose worker is lost runs once more


def require() -> None:
    """UserFacing unless Ray Tune can be imported here (checked before a sweep is written)."""
    from engine.studies.ray import EXTRA

    try:
        import ray.tune  # noqa: F401
    except ImportError:
        raise UserFacing(f"--executor ray runs a sweep with Ray Tune: {EXTRA}") from None


def named_run(home: Path, name: str) -> Path | None:
    """The run called ``name`` in the home, if any."""
    for run_dir in runs.list_runs(home):
        if runs.read_name(run_dir) == name:
            return run_dir
    return None


def train_trial(config: dict) -> None:
    """On a worker: one trial's run (its own run resumed where a lost attempt kept one),
    its progress reported at each tenth of training and its validation accuracy at the end."""
    from ray import tune

    home = Path(config[HOME])
    sweep = sweeps.load_sweep(home, config[SWEEP])
    params = {s.name: config[s.name] for s in sweep.searches}
    name = sweeps.trial_run_name(sweep.name, config[TRIAL])
    kept = named_run(home, name)
    if kept is not None and (value := sweeps.trial_value(kept)) is not None:  # finished before
        _last_report({PROGRESS: 0.0, TENTH: 10, VALUE: value, RUN: kept.name,
                      AGAIN: f"its run {kept.name} had finished: its result is taken"})  # fmt: skip
        return
    stop = threading.Event()
    resume = kept is not None and runs.has_checkpoint(kept, runs.snapshots.LAST)
    again = ""
    if kept is not None:
        again = (f"its run {kept.name} resumes from its last saved epoch" if resume else
                 f"its run {kept.name} kept nothing to resume from: a new run starts")  # fmt: skip
    state = {"run": kept.name if kept else "", "stopped": False}

    def at(score: float, tenth: int) -> None:
        if tenth >= 10 or state["stopped"]:  # the end is reported with the value
            return
        try:
            tune.report({PROGRESS: score, TENTH: tenth, VALUE: None, RUN: state["run"],
                         AGAIN: again})  # fmt: skip
        except SystemExit:  # Tune's scheduler stopped the trial: the run ends as stopped
            state["stopped"] = True
            stop.set()

    tenths = sweeps.Tenths(at)
    try:
        if kept is not None and not resume:  # a lost attempt that left nothing to go on from
            again = sweeps.replace_lost_run(kept)
        if resume:
            prepared = launch.prepare_resume(home, kept)
        else:
            prepared = launch.prepare(home, sweep.config(params))

        def created(run_dir: Path) -> None:
            state["run"] = run_dir.name
            runs.name_run(run_dir, name)

        run_dir, _, summary = launch.start(home, prepared, detach=False, listeners=[tenths],
                                           cancel=stop, on_created=created,
                                           threads=config[THREADS])  # fmt: skip
    except UserFacing as error:
        _last_report({PROGRESS: 0.0, TENTH: 10, VALUE: None, RUN: state["run"],
                      FAILED: str(error).splitlines()[0]})  # fmt: skip
        return
    if state["stopped"]:
        return
    value = sweeps.trial_value(run_dir)
    _last_report({PROGRESS: -(tenths.smoothed or 0.0), TENTH: 10, VALUE: value, RUN: run_dir.name,
                  AGAIN: again}
                 | ({} if value is not None else {FAILED: f"its run ended {summary.status}"}))  # fmt: skip


def _last_report(result: dict) -> None:
    from ray import tune

    with contextlib.suppress(SystemExit):  # the trial is over either way
        tune.report(result)


def searcher(home: Path, sweep, again: list[int], deadline: float):
    """Tune's OptunaSearch on the sweep's own Optuna storage and sampler, which first takes
    up the trials a killed sweep left (``again``: their Optuna ids), tells each trial its run,
    records its progress, and starts no trial after ``deadline``."""
    import optuna
    from ray.tune.search import Searcher
    from ray.tune.search.optuna import OptunaSearch

    class SweepSearch(OptunaSearch):
        # The sweep's state is Optuna's storage: Tune's pickled copy of the searcher (which
        # holds this class and the space's closure) is neither needed nor possible.
        def save(self, checkpoint_path: str) -> None:
            pass

        def restore(self, checkpoint_path: str) -> None:
            pass

        def suggest(self, trial_id: str):
            if trial_id not in self._ot_trials:
                if time.monotonic() > deadline:
                    return Searcher.FINISHED
                if again:
                    self._ot_trials[trial_id] = optuna.trial.Trial(self._ot_study, again.pop(0))
            config = super().suggest(trial_id)
            return {**config, TRIAL: self._ot_trials[trial_id].number}

        def _keep_run(self, trial_id: str, result: dict | None) -> None:
            trial = self._ot_trials.get(trial_id)
            run = (result or {}).get(RUN)
            if trial is not None and run and trial.user_attrs.get("run") != run:
                trial.set_user_attr("run", run)

        def on_trial_result(self, trial_id: str, result: dict) -> None:
            self._keep_run(trial_id, result)
            if result.get(VALUE) is None and TENTH in result:
                with warnings.catch_warnings():  # a trial run again reports its tenths again:
                    warnings.simplefilter("ignore")  # Optuna keeps the first, as it should
                    self._ot_trials[trial_id].report(result[PROGRESS], result[TENTH])

        def on_trial_complete(self, trial_id: str, result=None, error: bool = False) -> None:
            if trial_id in self._completed_trials:
                return
            self._keep_run(trial_id, result)
            if result and result.get(FAILED):
                result, error = None, True  # Optuna's FAIL, not a pruned trial
            super().on_trial_complete(trial_id, result, error)

    return SweepSearch(space=lambda trial: {s.name: s.suggest(trial) for s in sweep.searches},
                       metric=VALUE, mode="max", sampler=sweeps.open_study(home, sweep).sampler,
                       study_name=sweep.name,
                       storage=optuna.storages.RDBStorage(sweeps.storage_url(home, sweep.name)))  # fmt: skip


def telling(sweep, tell: Callable[[str], None]):
    """A Tune callback that says what became of each trial, as the local sweep does."""
    from ray.tune import Callback

    def about(trial) -> tuple[int, str]:
        params = {s.name: trial.config[s.name] for s in sweep.searches}
        return trial.config[TRIAL], sweeps.shown_params(params)

    class Telling(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.told: set[str] = set()

        def _again(self, trial, result: dict) -> None:
            if result.get(AGAIN) and trial.trial_id + result[AGAIN] not in self.told:
                self.told.add(trial.trial_id + result[AGAIN])
                tell(f"trial {trial.config[TRIAL]}: {result[AGAIN]}")

        def on_trial_result(self, iteration, trials, trial, result, **info):
            self._again(trial, result)

        def on_trial_start(self, iteration, trials, trial, **info):
            number, shown = about(trial)
            tell(f"trial {number} started on Ray: {shown}")

        def on_trial_complete(self, iteration, trials, trial, **info):
            number, shown = about(trial)
            result = trial.last_result or {}
            self._again(trial, result)
            if result.get(FAILED):
                tell(f"trial {number} failed: {result[FAILED]}")
            elif result.get(VALUE) is not None:
                tell(f"trial {number}: validation {result[VALUE]:.2%} ({shown}, run"
                     f" {result.get(RUN)})")  # fmt: skip
            else:
                tell(f"trial {number} pruned by ASHA at {result.get(TENTH, 0)}/10 of its"
                     f" training: {shown}")  # fmt: skip

        def on_trial_recover(self, iteration, trials, trial, **info):
            number, shown = about(trial)
            tell(f"trial {number}: its worker was lost ({_first_line(trial)}); Ray Tune runs it"
                 " again")  # fmt: skip

        def on_trial_error(self, iteration, trials, trial, **info):
            number, shown = about(trial)
            tell(f"trial {number} failed: its worker was lost again ({_first_line(trial)})")

    return Telling()


def _first_line(trial) -> str:
    """The first line of the trial's latest failure, from Tune's error file."""
    try:
        text = Path(trial.error_file).read_text(errors="replace") if trial.error_file else ""
    except OSError:
        text = ""
    lines = [line.strip() for line in text.rpartition("Failure # ")[2].splitlines()[1:]]
    shown = next((line for line in lines if line), "")
    return shown[:120] or "its process or node died"


def run_sweep_on_ray(home: Path, sweep, address: str | None, cpus_per_trial: int = 1,
                     timeout_minutes: float | None = None,
                     on_trial: Callable[[str], None] | None = None) -> object:  # fmt: skip
    """The sweep's trials as Ray Tune trials on Ray at ``address`` (None: a new local
    instance) until it has ``sweep.trials`` of them, going on with what a killed sweep left;
    Optuna's study."""
    tell = on_trial or (lambda text: None)
    with sweeps.taken_up(home, sweep, tell) as (study, again):
        remaining = sweep.trials - sweeps.done_trials(study)
        if remaining > 0:
            run_on_tune(home, sweep, [t._trial_id for t in again], remaining,
                        sweeps.deadline_after(timeout_minutes), address, cpus_per_trial, tell)  # fmt: skip
    return sweeps.open_study(home, sweep)


def run_on_tune(home: Path, sweep, again: list[int], remaining: int, deadline: float,
                address: str | None, cpus_per_trial: int,
                tell: Callable[[str], None]) -> None:  # fmt: skip
    """Run ``remaining`` trials of the sweep (the ``again`` ones first) as Ray Tune trials
    on Ray at ``address`` (None: a new local instance)."""
    from engine.studies.ray import EXTRA, check_shared_home, connected

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's own tables: not ours to print
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_TRAIN_V2_ENABLED", "0")
    with connected(address) as ray:
        try:
            from ray import tune
            from ray.tune.schedulers import ASHAScheduler
        except ImportError:
            raise UserFacing(f"--executor ray runs a sweep with Ray Tune: {EXTRA}") from None
        folder = sweeps.sweep_dir(home, sweep.name)
        check_shared_home(ray, home, folder.relative_to(home))
        device = sweep.config({s.name: s.choices[0] if s.choices else s.low
                               for s in sweep.searches}).device  # fmt: skip
        trainable = tune.with_resources(
            train_trial, {"cpu": cpus_per_trial, "gpu": 1 if device == "cuda" else 0}
        )
        scheduler = (ASHAScheduler(metric=PROGRESS, mode="max", time_attr=TENTH, max_t=10,
                                   grace_period=2, reduction_factor=3)
                     if sweep.prune else None)  # fmt: skip
        tuner = tune.Tuner(
            trainable,
            param_space={HOME: str(home), SWEEP: sweep.name, THREADS: cpus_per_trial},
            tune_config=tune.TuneConfig(search_alg=searcher(home, sweep, again, deadline),
                                        scheduler=scheduler, num_samples=remaining),
            run_config=tune.RunConfig(storage_path=str(folder / "tune"), name="trials",
                                      verbose=0, callbacks=[telling(sweep, tell)],
                                      failure_config=tune.FailureConfig(max_failures=RETRIES)),
        )  # fmt: skip
        tuner.fit()
