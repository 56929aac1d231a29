"""What every section of a report reads: the runs it is about (each checked, summarised and
folded once), their data and models (loaded once, on first use), the study if one was
named, and the progress and cancel of the whole report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine import events as ev
from engine import runs
from engine.config import TrainConfig, model_label
from engine.errors import RunNotFound, UserFacing
from engine.run_state import RunState


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
    config = runs.read_config(run_dir)  # RunDamaged if it cannot be read
    state = runs.read_state(run_dir)  # the log folded once, for the summary and the figures
    summary = runs.summarize_state(run_dir, state, config)
    if summary.status not in ("finished", "imported"):
        raise UserFacing(
            f"run {run_dir.name} is {summary.status}: a report needs finished runs (its test"
            " figures come from the end of training)"
        )
    return ReportRun(run_dir, summary, state, config)


def default_runs(home: Path) -> list[Path]:
    """The latest finished standard run of convnet and of convnet-bn, those that exist."""
    latest: dict[str, Path] = {}
    for run_dir in runs.list_runs(home):
        summary = runs.summarize(run_dir)
        if summary.status == "finished" and summary.defence == "none":
            latest[summary.model] = run_dir
    chosen = [latest[m] for m in ("convnet", "convnet-bn") if m in latest]
    if not chosen:
        raise RunNotFound(
            f"no finished run in {home} to report on: train one first (`mnist-tui train`)"
        )
    return chosen


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
