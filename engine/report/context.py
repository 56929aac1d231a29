"""What every section of a report reads: the runs it is about (each checked, summarised and
folded once), their data and models (loaded once, on first use), the study if one was
named, and the progress and cancel of the whole report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine import events as ev
from engine import runs
from engine.config import STUDY_MODELS, TrainConfig, model_label
from engine.errors import RunNotFound, UserFacing
from engine.runs.state import RunState


@dataclass
class ReportRun:
    """One run of the report: its folder, summary, folded events and settings."""

    dir: Path
    summary: runs.RunSummary
    state: RunState
    config: TrainConfig

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def label(self) -> str:
        """How figures name it: its name, else model and id suffix (unique in a report)."""
        return self.summary.name or f"{model_label(self.config.model)} {self.id[-4:]}"


def report_run(run_dir: Path) -> ReportRun:
    """A finished run, checked; a UserFacing error naming the run otherwise."""
    from engine.models.files import is_model_file, run_source

    config = runs.read_config(run_dir)  # RunDamaged if it cannot be read
    if is_model_file(config.model):
        run_source(run_dir)  # UntrustedCode before any section runs a copied run's code
    state = runs.read_state(run_dir)  # the log folded once, for the summary and the figures
    summary = runs.summarize_state(run_dir, state, config)
    if summary.status not in runs.USABLE:
        raise UserFacing(
            f"run {run_dir.name} is {summary.status}: a report needs finished runs (its test"
            " figures come from the end of training)"
        )
    return ReportRun(run_dir, summary, state, config)


def default_runs(home: Path) -> list[Path]:
    """The latest finished (or imported) run of each network present, the study's two
    (convnet, convnet-bn) first; a defended run only where its network has no other. A run
    whose network is code not trusted here is left out (nothing of it runs). The refusal
    says what is missing: runs, finished ones, or trust."""
    from engine.models.files import untrusted

    all_runs = runs.list_runs(home)
    latest: dict[str, Path] = {}
    defended: dict[str, Path] = {}
    left_out: list[str] = []
    statuses: dict[str, int] = {}
    for run_dir in all_runs:
        summary = runs.summarize(run_dir)
        statuses[summary.status] = statuses.get(summary.status, 0) + 1
        if summary.status not in runs.USABLE:
            continue
        if untrusted(run_dir, runs.read_config(run_dir).model):
            left_out.append(run_dir.name)
            continue
        (latest if summary.defence == "none" else defended)[summary.model] = run_dir
    for model, run_dir in defended.items():
        latest.setdefault(model, run_dir)
    study_first = [m for m in STUDY_MODELS if m in latest]
    others = sorted((m for m in latest if m not in study_first), key=lambda m: latest[m].name)
    chosen = [latest[m] for m in [*study_first, *others]]
    if chosen:
        return chosen
    if not all_runs:
        raise RunNotFound(f"no runs in {home} to report on: train one first (`mnist-tui train"
                          " --recipe fast` takes seconds)")  # fmt: skip
    if left_out:
        raise RunNotFound(f"the finished runs in {home} build their networks from code not"
                          f" trusted here ({', '.join(left_out[:3])}): read their model.py, then"
                          f" `mnist-tui trust {left_out[-1]}`")  # fmt: skip
    counted = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    raise RunNotFound(f"no finished run in {home} to report on ({counted}): a report needs one"
                      " that trained to its end; wait for it, resume it or train one")  # fmt: skip


@dataclass
class Context:
    home: Path
    runs: list[ReportRun]
    study: object | None = None  # engine.studies.Study
    emit: ev.Emit = ev.ignore
    cancel: object | None = None  # anything with is_set()
    _subjects: dict = field(default_factory=dict)
    _splits: dict = field(default_factory=dict)

    @property
    def subject_run(self) -> ReportRun:
        """The run the single-model analyses look at: the first one named."""
        return self.runs[0]

    def subject(self, run: ReportRun | None = None):
        """The model (best.pt) and test split of ``run`` (the subject run by default)."""
        from engine.subject import load_subject

        run = run or self.subject_run
        if run.id not in self._subjects:
            self._subjects[run.id] = load_subject(self.home, run.dir)
        return self._subjects[run.id]

    def splits(self, run: ReportRun | None = None):
        """The train/validation/test split ``run`` trained on (same data, seed, subset)."""
        from engine.data import load_dataset, split_dataset
        from engine.locations import data_cache

        config = (run or self.subject_run).config
        key = (config.data, config.seed, config.subset)
        if key not in self._splits:
            folder = Path(config.data) if config.data else None
            dataset = load_dataset(data_cache(self.home), folder=folder, allow_download=False)
            self._splits[key] = (split_dataset(dataset, config.seed, subset=config.subset),
                                 dataset.classes)  # fmt: skip
        return self._splits[key]

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise InterruptedError("report cancelled; nothing was written")
