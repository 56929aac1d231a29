"""How long a run would train here, from the speed of the runs this machine has trained: the
newest finished run of the same network and defence on the same data gives its time per
image and its images an epoch, scaled to the new run's epochs (and subset). None where no such run is kept (the machine's speed is not
guessed from elsewhere)."""

from __future__ import annotations

from pathlib import Path

from engine.config import TrainConfig
from engine.errors import RunDamaged
from engine.runs.folders import list_runs, read_config
from engine.runs.state import FINISHED
from engine.runs.summary import summarize_cached


def estimate_seconds(home: Path, config: TrainConfig) -> float | None:
    """The training seconds ``config`` would take on this machine, or None."""
    for run_dir in reversed(list_runs(home)):
        summary = summarize_cached(run_dir)
        if summary.status != FINISHED or not summary.train_ms_per_image or not summary.epoch:
            continue
        try:
            past = read_config(run_dir)
        except RunDamaged:  # a damaged run is no measure
            continue
        if (past.model, past.adversarial, past.data) != (config.model, config.adversarial,
                                                          config.data):  # fmt: skip
            continue
        per_epoch = summary.train_images / summary.epoch
        images = min(config.subset, per_epoch) if config.subset else per_epoch
        return summary.train_ms_per_image / 1000 * images * config.epochs
    return None


def said(seconds: float | None) -> str:
    """'about 10 s here', 'about 5 min here', or '' where unknown."""
    if seconds is None:
        return ""
    if seconds < 90:
        return f"about {max(1, round(seconds))} s here"
    return f"about {round(seconds / 60)} min here"
