"""A study's record: a folder under the home's ``studies/`` holding ``study.json`` — what
varies, the seeds, the settings all its runs share, and which run is which — checked when
defined and when read; and how far it has got (``progress``)."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine import runs
from engine.atomic import read_record, write_json
from engine.config import SETTING, TrainConfig
from engine.errors import SettingError, UserFacing
from engine.locations import is_run_id

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
        status = status_of(home, run_id)
        key = {"finished": "done", "running": "running", "failed": "failed"}.get(status, "left")
        counts[key] += 1
    return Progress(**counts)


def status_of(home: Path, run_id: str | None) -> str:
    if not run_id:
        return "missing"
    run_dir = runs.run_folder(home, run_id)
    if not run_dir.is_dir():
        return "missing"
    return runs.summarize(run_dir).status
