"""Run folders: one per run under the home's ``runs/``, its name the run's id. Made with
their ``config.json``, listed oldest first, found by id, name, prefix, end or ``latest``,
named and deleted; a run's model loaded at any moment it kept."""

from __future__ import annotations

import json
import os
import secrets
from datetime import datetime
from pathlib import Path

from engine.atomic import read_text_nofollow, write_json
from engine.config import TrainConfig, model_label
from engine.errors import RunBusy, RunDamaged, RunNotFound, SettingError, UserFacing
from engine.locations import runs_folder
from engine.models.files import is_model_file
from engine.runs import snapshots
from engine.runs.process import lock_folder as take_lock
from engine.runs.process import process_alive

CONFIG = "config.json"
NAME = "name.json"  # a label the user gave the run (its id stays the folder name)
BEST, LAST = (snapshots.Moment(name).file_name for name in snapshots.CHECKPOINTS)  # files


def create_run(home: Path, config: TrainConfig) -> Path:
    """A new run folder with its ``config.json``; the folder name is the run id."""
    config.validate()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = runs_folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        run_dir = folder / f"{stamp}-{model_label(config.model)}-{secrets.token_hex(2)}"
        try:
            run_dir.mkdir()
            break
        except FileExistsError:
            continue
    if is_model_file(config.model):  # the user's source, kept with the run
        from engine.models.files import parse_args, record

        record(run_dir, config.model, parse_args(config.model_args))
    write_json(run_dir / CONFIG, config.to_dict())
    return run_dir


def read_config(run_dir: Path) -> TrainConfig:
    """The settings a run was started with; RunDamaged if ``config.json`` is unusable."""
    try:
        data = json.loads(read_text_nofollow(run_dir / CONFIG))
    except FileNotFoundError:
        raise RunDamaged(f"run {run_dir.name}: no {CONFIG}") from None
    except OSError as error:
        raise RunDamaged(
            f"run {run_dir.name}: {CONFIG} cannot be read ({error.strerror})"
        ) from None
    except (ValueError, RecursionError):
        raise RunDamaged(f"run {run_dir.name}: {CONFIG} is not JSON") from None
    try:
        return TrainConfig.from_dict(data)
    except (SettingError, TypeError) as error:
        raise RunDamaged(f"run {run_dir.name}: {CONFIG}: {error}") from None


def list_runs(home: Path) -> list[Path]:
    """Every run folder, oldest first."""
    folder = runs_folder(home)
    try:
        with os.scandir(folder) as entries:  # a folder's kind comes with its name: no stat
            folders = [folder / e.name for e in entries
                       if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)]  # fmt: skip
    except FileNotFoundError:
        return []
    except OSError as error:
        raise RunNotFound(f"{folder} cannot be read ({error.strerror})") from None
    return sorted(folders, key=_created)


# _created's answers from config.json, which is written once: views that list every run
# every few seconds stat it once a run, not once a listing
_CREATED: dict[Path, tuple[int, str]] = {}


def _created(run_dir: Path) -> tuple[int, str]:
    """When a run was made: its config.json is written once, when the folder is (two runs
    started in the same second share their name's time stamp, not this)."""
    if run_dir in _CREATED:
        return _CREATED[run_dir]
    try:
        _CREATED[run_dir] = made = (run_dir.joinpath(CONFIG).lstat().st_mtime_ns, run_dir.name)
        return made
    except OSError:  # not written yet, or gone: the folder's time, asked again next time
        try:
            return run_dir.lstat().st_mtime_ns, run_dir.name
        except OSError:
            return 0, run_dir.name


def has_checkpoint(run_dir: Path, kind: str = snapshots.BEST) -> bool:
    path = run_dir / snapshots.Moment.parse(kind).file_name
    return path.is_file() and not path.is_symlink()


def find_run(home: Path, name: str, needs: str = snapshots.BEST) -> Path:
    """A run by id, name, unique id prefix or end (the short id the lists show), or
    ``latest``: the newest run that has what the
    caller ``needs`` — ``best`` (an analysis: a failed or just-started run has nothing to
    look at), ``last`` (a resume), or ``any`` (following or stopping the newest run)."""
    if not name:
        raise RunNotFound("no run named: give a run id, an id prefix, or 'latest'")
    runs = list_runs(home)
    if not runs:
        raise RunNotFound(f"no runs in {runs_folder(home)}; start one with `mnist-tui train`")
    if name == "latest":
        usable = [p for p in runs if needs == "any" or has_checkpoint(p, needs)]
        if not usable:
            raise RunNotFound(
                f"no run in {runs_folder(home)} has a {needs} checkpoint yet; train one with"
                " `mnist-tui train` (a run saves best.pt after its first epoch)"
            )
        return usable[-1]
    # the short forms the lists show are accepted too: the id's end ('b9b7') and the
    # model with it ('convnet b9b7')
    ending = name.replace(" ", "-")
    matches = (
        [p for p in runs if p.name == name]
        or [p for p in runs if read_name(p) == name]
        or [p for p in runs if p.name.startswith(name)]
        or [p for p in runs if len(ending) >= 4 and p.name.endswith(ending)]
    )
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(p.name for p in runs[-5:])
    if not matches:
        raise RunNotFound(f"no run named {name!r}; recent runs: {known}")
    raise RunNotFound(f"{name!r} matches {len(matches)} runs; give more of the id")


# --- names and deletion ------------------------------------------------------------------


def read_name(run_dir: Path) -> str:
    """The label the user gave the run, or ''. A name from a copied or edited folder is
    shown as it is, but never as terminal control: control and bidi characters become '?'."""
    try:
        data = json.loads(read_text_nofollow(run_dir / NAME))
    except (OSError, ValueError, RecursionError):
        return ""
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        return ""
    return "".join("?" if _is_control(c) else c for c in name[:NAME_LIMIT])


NAME_LIMIT = 60


def _is_control(char: str) -> bool:
    """Control (ESC, BEL...), format (bidi overrides such as U+202E, zero-width) and line or
    paragraph separators: characters that change how a terminal shows what follows."""
    import unicodedata

    return unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")


def name_run(run_dir: Path, name: str) -> None:
    """Give the run a label (shown in the lists, accepted wherever a run is named); an
    empty name removes it. A name is plain text, unique, and never taken for an id."""
    bad = sorted({f"U+{ord(c):04X}" for c in name if _is_control(c) and c not in " \t"})
    if bad:
        raise UserFacing(f"a run name is plain text: it may not hold {', '.join(bad[:5])}"
                         " (control or direction characters)")  # fmt: skip
    name = " ".join(name.split())
    if len(name) > NAME_LIMIT:
        raise UserFacing(f"a run name is at most {NAME_LIMIT} characters, not {len(name)}")
    if name == "latest":
        raise UserFacing("'latest' already means something: choose another name")
    if name.startswith("-"):
        raise UserFacing(f"a run name may not start with '-': {name!r} would be read as an"
                         " option on the command line")  # fmt: skip
    if not name:
        (run_dir / NAME).unlink(missing_ok=True)
        return
    for other in list_runs(run_dir.parent.parent):  # the home (runs live in home/runs)
        if other.name.startswith(name):
            raise UserFacing(f"{name!r} is (the start of) run id {other.name}: a name must not"
                             " be read as an id")  # fmt: skip
        if other != run_dir and read_name(other) == name:
            raise UserFacing(f"run {other.name} is already called {name!r}: names are unique")
    write_json(run_dir / NAME, {"name": name})


def delete_run(run_dir: Path) -> None:
    """Remove a run folder and everything in it; refused while a process works on it or
    holds its lock (a resume that has just started), and the lock is held while it goes."""
    import shutil

    busy = RunBusy(
        f"run {run_dir.name} is running; stop it first (`mnist-tui stop {run_dir.name}`)"
    )
    if process_alive(run_dir):
        raise busy
    lock = take_lock(run_dir, busy)
    try:
        shutil.rmtree(run_dir)
    finally:
        os.close(lock)


def load_run_model(run_dir: Path, checkpoint: str = snapshots.BEST, device: str = "cpu"):
    """The model of a run at a moment: its ``best`` or ``last`` checkpoint, or a snapshot
    (``epoch:3``, ``batch:50``, ``start``; see engine.runs.snapshots), in eval mode."""
    from engine.models.checkpoints import load_model
    from engine.runs.snapshots import path_of

    path = path_of(run_dir, checkpoint)
    return load_model(path, device, expected=read_config(run_dir).model, run_dir=run_dir)
