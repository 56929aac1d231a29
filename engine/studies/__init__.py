"""Studies: the same comparison over several seeds. A study is a folder under the home's
``studies/`` holding ``study.json`` — what varies, the seeds, the settings all its runs
share, and which run is which — while the runs themselves are ordinary runs, listed by
`mnist-tui runs` and the app like any other.

Running a study again resumes it: finished runs are kept, stopped ones resume from their
``last.pt``, failed or damaged ones without one are redone; no run is trained twice. On a
CPU runs go one after another, each with every thread (two at once on 2 cores trained at
443-1,362 images/s against ~8,000 alone); on a GPU as many at once as its memory holds, the
cores shared out between them (``placement``).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine import events as ev
from engine import launch, runs
from engine.atomic import read_record, write_json
from engine.config import SETTING, TrainConfig
from engine.errors import SettingError, UserFacing
from engine.locations import is_run_id
from engine.runs import process as run_process

STUDY = "study.json"
MAX_SEEDS = 100
UNVARIED = ("seed", "data")  # a study sets each run's seed; the data is the same for all
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def studies_folder(home: Path) -> Path:
    return home / "studies"


@dataclass
class Study:
    """What a study runs: every combination of ``vary`` for every seed, on ``base``."""

    name: str
    vary: dict[str, list] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    base: dict = field(default_factory=dict)  # settings every run shares
    runs: dict[str, str] = field(default_factory=dict)  # entry key -> run id

    def entries(self) -> list[tuple[dict, int]]:
        """(group, seed) for every run of the study, groups in the order given."""
        names = list(self.vary)
        groups = [
            dict(zip(names, values, strict=True))
            for values in itertools.product(*self.vary.values())
        ]
        return [(group, seed) for group in (groups or [{}]) for seed in self.seeds]

    def config(self, group: dict, seed: int) -> TrainConfig:
        config = TrainConfig(**{**self.base, **group, "seed": seed})
        config.validate()
        return config

    def to_dict(self) -> dict:
        return {"name": self.name, "vary": self.vary, "seeds": self.seeds, "base": self.base,
                "runs": self.runs}  # fmt: skip


def group_label(group: dict) -> str:
    """'model=convnet-bn lr=0.05', or 'all runs' when nothing varies."""
    return " ".join(f"{k}={v}" for k, v in group.items()) or "all runs"


def entry_key(group: dict, seed: int) -> str:
    return f"{group_label(group)} seed={seed}"


def parse_vary(items: list[str], given: dict | None = None) -> dict[str, list]:
    """``['model=convnet,convnet-bn', 'lr=0.05,0.1']`` checked against the run settings: each
    setting once, each value once, none also ``given`` as a setting every run shares."""
    vary: dict[str, list] = {}
    for item in items:
        name, _, values = item.partition("=")
        name = name.strip().replace("-", "_")
        if name not in SETTING or name in UNVARIED:
            known = ", ".join(s for s in SETTING if s not in UNVARIED)
            raise SettingError(f"--vary {item!r}: not a setting to vary (one of {known})")
        if name in vary:
            raise SettingError(f"--vary {name} is given twice: give its values once, e.g."
                               f" --vary {name}=A,B")  # fmt: skip
        if given and name in given:
            flag = SETTING[name].flag
            raise SettingError(f"{flag} and --vary {name} both set {name}: give one of them")
        texts = values.split(",")
        if not values or any(not text.strip() for text in texts):
            raise SettingError(f"--vary {item!r}: give values after '=', comma-separated, none"
                               " empty")  # fmt: skip
        parsed = [SETTING[name].parse(text) for text in texts]
        if len(set(parsed)) != len(parsed):
            raise SettingError(f"--vary {item!r}: a value is given twice")
        vary[name] = parsed
    return vary


def parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """'0-4', '3' or '0,2,5' as a sorted list of seeds; SettingError naming ``option``."""
    seeds: set[int] = set()
    bad = SettingError(f"{option} {text!r}: give seeds like 0-4 or 0,2,5")
    for part in text.split(","):
        low, dash, high = (p.strip() for p in part.partition("-"))
        if not low.isdigit() or (dash and not high.isdigit()):
            raise bad
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise SettingError(f"{option} {text!r}: {first}-{last} runs backwards")
        if last - first >= MAX_SEEDS or len(seeds) > MAX_SEEDS:
            raise SettingError(f"{option} {text!r}: between 1 and {MAX_SEEDS} seeds")
        seeds.update(range(first, last + 1))
    if not seeds or len(seeds) > MAX_SEEDS or max(seeds) > SETTING["seed"].maximum:
        raise SettingError(f"{option} {text!r}: between 1 and {MAX_SEEDS} seeds, each"
                           f" {SETTING['seed'].rule()}")  # fmt: skip
    return sorted(seeds)


def study_dir(home: Path, name: str) -> Path:
    if not NAME_PATTERN.fullmatch(name):
        raise UserFacing(f"study name {name!r}: letters, digits, '-', '_' and '.', at most 64")
    return studies_folder(home) / name


def load_study(home: Path, name: str) -> Study:
    data = read_record(study_dir(home, name) / STUDY,
                       f"no study named {name!r}; `mnist-tui studies` lists them",
                       f"study {name}: {STUDY} is damaged")  # fmt: skip
    return checked_study(name, data)


def checked_study(name: str, data: object) -> Study:
    """The study that ``study.json``'s ``data`` describes, every field checked as the command
    line's are (a file may have been edited, copied or forged): UserFacing naming the field
    otherwise. Run ids must be plain folder names inside runs/."""

    def damaged(what: str) -> UserFacing:
        return UserFacing(f"study {name}: {STUDY} is damaged: {what}")

    if not isinstance(data, dict):
        raise damaged("not an object")
    vary, seeds = data.get("vary", {}), data.get("seeds")
    base, run_ids = data.get("base", {}), data.get("runs", {})
    if not isinstance(vary, dict):
        raise damaged("'vary' is not an object")
    for setting, values in vary.items():
        if setting not in SETTING or setting in UNVARIED:
            raise damaged(f"'vary' names {str(setting)[:40]!r}, not a setting to vary")
        if not isinstance(values, list) or not values:
            raise damaged(f"'vary.{setting}' is not a list of values")
        if len({json.dumps(v) for v in values}) != len(values):
            raise damaged(f"'vary.{setting}' repeats a value")
    if not isinstance(seeds, list) or not 1 <= len(seeds) <= MAX_SEEDS:
        raise damaged(f"'seeds' is not a list of 1 to {MAX_SEEDS} seeds")
    seed_rule = SETTING["seed"]
    for seed in seeds:
        try:
            seed_rule.check(seed)
        except SettingError as error:
            raise damaged(f"'seeds': {error}") from None
    if len(set(seeds)) != len(seeds):
        raise damaged("'seeds' repeats a seed")
    if not isinstance(base, dict) or not all(isinstance(k, str) for k in base):
        raise damaged("'base' is not an object of settings")
    for setting in base:
        if setting not in SETTING or setting == "seed" or setting in vary:
            raise damaged(f"'base' holds {setting[:40]!r}, not a setting every run shares")
    if not isinstance(run_ids, dict):
        raise damaged("'runs' is not an object")
    study = Study(name, vary, sorted(seeds), base, {})
    keys = {entry_key(group, seed) for group, seed in study.entries()}
    for key, run_id in run_ids.items():
        if key not in keys:
            raise damaged(f"'runs' has {str(key)[:60]!r}, which is not a run of this study")
        if not is_run_id(run_id):
            raise damaged(f"'runs.{key}' is {str(run_id)[:60]!r}, not a run id in runs/")
    study.runs = dict(run_ids)
    try:
        _check_entries(study)
    except SettingError as error:
        raise damaged(str(error)) from None
    return study


def list_studies(home: Path) -> list[str]:
    folder = studies_folder(home)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / STUDY).is_file())


def define(
    home: Path,
    name: str,
    vary: dict | None = None,
    seeds: list[int] | None = None,
    base: dict | None = None,
    check_devices: bool = False,
) -> Study:
    """A new study, or the existing one: what is not given stays as it was, more seeds extend
    it (its finished runs kept); other settings under the same name are refused (their runs
    would not belong together), and so are fewer seeds."""
    folder = study_dir(home, name)
    if (folder / STUDY).is_file():
        study = load_study(home, name)
        vary = study.vary if vary is None else vary
        base = study.base if base is None else base
        if (study.vary, study.base) != (vary, base):
            raise UserFacing(
                f"study {name!r} exists with other settings; `mnist-tui study {name}` resumes"
                " it as it was, or choose another name"
            )
        if seeds is None or seeds == study.seeds:
            return study
        if not set(study.seeds) <= set(seeds):
            raise UserFacing(
                f"study {name!r} has seeds {seeds_text(study.seeds)}; --seeds may add seeds to"
                " it, not drop any"
            )
        study.seeds = seeds
        _check_entries(study)
        if check_devices:
            _check_devices(study)
        write_json(folder / STUDY, study.to_dict())
        return study
    study = Study(name, vary or {}, seeds if seeds is not None else [0, 1, 2], base or {})
    _check_entries(study)
    if check_devices:
        _check_devices(study)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / STUDY, study.to_dict())
    return study


def _check_entries(study: Study) -> None:
    for group, seed in study.entries():
        study.config(group, seed)  # every combination must be a valid run before any starts


def _check_devices(study: Study) -> None:
    """Every device the study's runs ask for is on this machine (DeviceUnavailable if not),
    checked before anything is written."""
    from engine.training.device import resolve_device

    for device in {study.config(group, seed).device for group, seed in study.entries()}:
        resolve_device(device)


def seeds_text(seeds: list[int]) -> str:
    """[0, 1, 2, 5] as '0-2,5' (what --seeds takes)."""
    parts, start = [], None
    for i, seed in enumerate(seeds):
        if start is None:
            start = seed
        if i + 1 == len(seeds) or seeds[i + 1] != seed + 1:
            parts.append(str(start) if start == seed else f"{start}-{seed}")
            start = None
    return ",".join(parts)


@dataclass(frozen=True)
class Progress:
    """Where a study stands."""

    done: int
    running: int
    left: int
    failed: int


def progress(home: Path, study: Study) -> Progress:
    counts = {"done": 0, "running": 0, "left": 0, "failed": 0}
    for group, seed in study.entries():
        run_id = study.runs.get(entry_key(group, seed))
        status = _status(home, run_id)
        key = {"finished": "done", "running": "running", "failed": "failed"}.get(status, "left")
        counts[key] += 1
    return Progress(**counts)


def _status(home: Path, run_id: str | None) -> str:
    if not run_id:
        return "missing"
    run_dir = runs.run_folder(home, run_id)
    if not run_dir.is_dir():
        return "missing"
    return runs.summarize(run_dir).status


# What one run holds on a GPU, estimated: the CUDA context (about 0.5 GiB), the whole split
# on the device (about 0.2 GiB in float32), the model, its optimizer and a batch's
# activations — rounded up to leave room for the allocator's cache and cuDNN's workspace.
RUN_GPU_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class Placement:
    """How a study's runs share this machine: how many at once, each with how many threads."""

    at_once: int
    threads: int
    why: str


def placement(
    device: str,
    runs_left: int,
    cores: int,
    gpu_free_bytes: int = 0,
    at_once: int | None = None,
) -> Placement:
    """On a CPU one run at a time with every thread (two at once on 2 cores trained at
    443-1,362 images/s against ~8,000 alone); on a CUDA GPU as many as its free memory holds
    (RUN_GPU_BYTES each), at most one per core; ``at_once`` overrides the choice. The threads
    of the runs at once add up to the cores."""
    runs_left, cores = max(1, runs_left), max(1, cores)
    if at_once is not None:
        count = min(at_once, runs_left)
        why = f"{count} at once, as asked"
    elif device == "cuda":
        fit = gpu_free_bytes // RUN_GPU_BYTES
        count = max(1, min(fit, cores, runs_left))
        why = (f"{count} at once on the GPU ({gpu_free_bytes / 1024**3:.0f} GiB free holds {fit}"
               f" at ~{RUN_GPU_BYTES / 1024**3:.0f} GiB a run; {cores} cores)")  # fmt: skip
    else:
        count = 1
        why = f"one at a time with all {cores} threads (fastest on a {device})"
    threads = max(1, cores // count)
    return Placement(count, threads, why + (f", {threads} threads each" if count > 1 else ""))


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores or 1


def machine_placement(study: Study, todo: list, at_once: int | None = None) -> Placement:
    """``placement`` for the study's runs ``todo`` (what ``pending`` lists), on this
    machine's device and cores."""
    from engine.training.device import resolve_device

    devices = {resolve_device(study.config(group, seed).device).type for _, group, seed, _ in todo}
    device = devices.pop() if len(devices) == 1 else "cpu"  # mixed devices: one at a time
    free = 0
    if device == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info()
    return placement(device, len(todo), usable_cores(), free, at_once)


def run_study(
    home: Path,
    study: Study,
    listeners: list[Callable[[ev.Event], None]] | None = None,
    cancel=None,
    say: Callable[[str], None] = lambda text: None,
    at_once: int | None = None,
) -> Progress:
    """Carry out every run of the study not finished yet on this machine — one after another
    in this process, or several at once as run processes of their own when ``placement``
    says so (for a Ray cluster: ``engine.studies.ray.run_study_on_ray``)."""
    lock = lock_study(home, study.name)
    try:
        todo = pending(home, study)  # runs finished or running elsewhere are left as they are
        place = machine_placement(study, todo, at_once)
        say(f"study {study.name}: {len(todo)} runs to do, {place.why}")
        if place.at_once == 1:
            _one_after_another(home, study, todo, listeners or [], cancel, say)
        else:
            _several_at_once(home, study, todo, place, cancel, say)
    finally:
        os.close(lock)
    return progress(home, study)


def _prepare(home: Path, study: Study, todo: list, number: int, say):
    """The ``number``-th run to do, checked: (its key, the prepared run, the callback that
    records a new run's folder in the study before it trains)."""
    key, group, seed, action = todo[number - 1]

    def record(new_run: Path) -> None:
        record_run(home, study, key, new_run)

    if action == "resume":
        say(f"[{number}/{len(todo)}] {key}: resuming {study.runs[key]}")
        return key, launch.prepare_resume(home, runs.run_folder(home, study.runs[key])), record
    say(f"[{number}/{len(todo)}] {key}: training")
    return key, launch.prepare(home, study.config(group, seed)), record


def _one_after_another(home: Path, study: Study, todo: list, listeners, cancel, say) -> None:
    for number in range(1, len(todo) + 1):
        if cancel is not None and cancel.is_set():
            break
        _, prepared, record = _prepare(home, study, todo, number, say)
        launch.start(home, prepared, detach=False, listeners=listeners, cancel=cancel,
                     on_created=record)  # fmt: skip


def _several_at_once(home: Path, study: Study, todo: list, place: Placement, cancel, say) -> None:
    """Keep ``place.at_once`` run processes going (ordinary detached runs, each with its
    share of the threads) until none is left; a stop request stops them all (each writes
    its last.pt, so the study resumes them)."""
    import threading
    import time

    cancel = cancel or threading.Event()
    active: dict[str, Path] = {}
    number = 0
    stopping = False
    while number < len(todo) or active:
        while number < len(todo) and len(active) < place.at_once and not cancel.is_set():
            number += 1
            key, prepared, record = _prepare(home, study, todo, number, say)
            run_dir, _, _ = launch.start(home, prepared, detach=True, on_created=record,
                                         threads=place.threads)  # fmt: skip
            active[key] = run_dir
        if cancel.is_set() and not stopping:
            stopping = True
            number = len(todo)  # start nothing more
            for run_dir in active.values():
                run_process.stop(run_dir)
        for key, run_dir in list(active.items()):
            if not run_process.process_alive(run_dir):
                del active[key]
                summary = runs.summarize(run_dir)
                say(f"{key}: {run_dir.name} {summary.status}")
        time.sleep(0.2)


def pending(home: Path, study: Study) -> list[tuple[str, dict, int, str]]:
    """(key, group, seed, what to do) for every run not finished or running: 'new',
    'resume' (a stopped run, or a failed one with last.pt) or 'redo'."""
    todo = []
    for group, seed in study.entries():
        key = entry_key(group, seed)
        run_id = study.runs.get(key)
        status = _status(home, run_id)
        if status in ("finished", "running"):
            continue
        run_dir = runs.run_folder(home, run_id) if run_id else None
        resumable = status == "stopped" or (
            status == "failed"
            and run_dir is not None
            and runs.has_checkpoint(run_dir, runs.snapshots.LAST)
        )
        todo.append((key, group, seed, "resume" if resumable else ("redo" if run_id else "new")))
    return todo


def record_run(home: Path, study: Study, key: str, run_dir: Path) -> None:
    """Which run is which, written before it trains: a crash must not lose it."""
    study.runs[key] = run_dir.name
    write_json(study_dir(home, study.name) / STUDY, study.to_dict())


def lock_study(home: Path, name: str) -> int:
    """One process per study: the lock's descriptor, held while it runs."""
    busy = UserFacing(f"study {name} is being run by another process")
    return run_process.lock_folder(study_dir(home, name), busy)
