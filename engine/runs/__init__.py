"""Runs on disk: one folder per run under the home, holding ``config.json``,
``events.jsonl`` (every event, appended and flushed as it happens), the checkpoints,
``process.json`` and ``lock`` while a process works on it, and ``summary.json`` once it ends.

A run's identity is its folder name. Anyone can follow a run by reading its log; a
half-written last line is never trusted. A damaged folder is reported as damaged, with the
reason, and never stops the other runs from being listed. Run files are opened without
following symlinks.

- folders.py: make, list, find (``latest``, names, prefixes), name and delete run folders;
  a run's model at a moment (``load_run_model``)
- log.py: the event log, written and read
- state.py: a run's events folded once (``RunState``, the statuses)
- summary.py: what a run amounts to (``RunSummary``), from summary.json or the log
- follow.py: a run's events as they come
- process.py: the process working on a run (pid and start time, lock, stop)
- snapshots.py: the weights through training (``--epoch``, ``--at``)

What callers use is named here, so ``from engine import runs`` then ``runs.find_run``.
"""

from engine.locations import run_folder, runs_folder
from engine.runs import snapshots
from engine.runs.folders import (
    BEST,
    CONFIG,
    LAST,
    NAME,
    create_run,
    delete_run,
    find_run,
    has_checkpoint,
    list_runs,
    load_run_model,
    name_run,
    read_config,
    read_name,
)
from engine.runs.follow import RunFollower, follow
from engine.runs.log import EVENTS, WITHOUT_BATCHES, EventLog, EventReader, read_events
from engine.runs.state import STATUSES, USABLE, RunState
from engine.runs.summary import (
    SUMMARY,
    RunSummary,
    listing_mark,
    read_state,
    summarize,
    summarize_cached,
    summarize_state,
    write_summary,
)

__all__ = [
    "BEST", "CONFIG", "EVENTS", "LAST", "NAME", "STATUSES", "SUMMARY", "USABLE",
    "WITHOUT_BATCHES", "EventLog", "EventReader", "RunFollower", "RunState", "RunSummary",
    "create_run", "delete_run", "find_run", "follow", "has_checkpoint", "list_runs",
    "listing_mark", "load_run_model", "name_run", "read_config", "read_events", "read_name",
    "read_state", "run_folder", "runs_folder", "snapshots", "summarize", "summarize_cached",
    "summarize_state", "write_summary",
]  # fmt: skip
