"""Studies: the same comparison over several seeds. A study is a folder under the home's
``studies/`` holding ``study.json`` — what varies, the seeds, the settings all its runs
share, and which run is which — while the runs themselves are ordinary runs, listed by
`mnist-tui runs` and the app like any other.

Running a study again resumes it: finished runs are kept, stopped ones resume from their
``last.pt``, failed or damaged ones without one are redone; no run is trained twice. On a
CPU runs go one after another, each with every thread (two at once on 2 cores trained at
443-1,362 images/s against ~8,000 alone); on a GPU as many at once as its memory holds, the
cores shared out between them (``placement``).

- definition.py: the record (``Study``, ``define``, ``load_study``, the seeds and what
  varies, parsed) and how far it has got (``progress``)
- placement.py: how many runs at once, and their threads
- execution.py: running it (``run_study``), resumable
- stats.py: intervals and paired tests; ray.py: the runs as Ray tasks
- sweeps.py, tune.py: searches with Optuna, here or as Ray Tune trials
"""

from engine.studies.definition import (
    MAX_SEEDS,
    STUDY,
    Progress,
    Study,
    define,
    entry_key,
    group_label,
    list_studies,
    load_study,
    parse_seeds,
    parse_vary,
    progress,
    seeds_text,
    studies_folder,
    study_dir,
)  # fmt: skip
from engine.studies.execution import lock_study, pending, record_run, run_study
from engine.studies.placement import (
    RUN_GPU_BYTES,
    Placement,
    machine_placement,
    placement,
    usable_cores,
)

__all__ = [
    "MAX_SEEDS", "RUN_GPU_BYTES", "STUDY", "Placement", "Progress", "Study", "define",
    "entry_key", "group_label", "list_studies", "load_study", "lock_study", "machine_placement",
    "parse_seeds", "parse_vary", "pending", "placement", "progress", "record_run", "run_study",
    "seeds_text", "studies_folder", "study_dir", "usable_cores",
]  # fmt: skip
