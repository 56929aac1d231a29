"""Where the app keeps its data cache and runs: ``--home``, ``$MNIST_TUI_HOME``, or the user
data folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

from engine.errors import UserFacing

HOME_ENV = "MNIST_TUI_HOME"


def app_home(explicit: str | os.PathLike | None = None) -> Path:
    """The app's home folder, created if missing."""
    if explicit:
        home = Path(explicit)
    elif os.environ.get(HOME_ENV):
        home = Path(os.environ[HOME_ENV])
    else:
        from platformdirs import user_data_dir

        home = Path(user_data_dir("mnist-tui", appauthor=False))
    home = home.expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def data_cache(home: Path) -> Path:
    """The folder holding the converted MNIST idx files."""
    return home / "data" / "mnist"


def runs_folder(home: Path) -> Path:
    """The folder holding one sub-folder per run."""
    return home / "runs"


# A run id read from a file (study.json, app state) must name a folder inside runs/: a plain
# name, never a path (``../x``, ``/abs``) or a hidden entry.
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}")


def is_run_id(text: object) -> bool:
    """Whether ``text`` can be a run's folder name (and nothing else)."""
    return isinstance(text, str) and RUN_ID_PATTERN.fullmatch(text) is not None


def run_folder(home: Path, run_id: object) -> Path:
    """The folder of the run ``run_id`` taken from a file; UserFacing unless it is a plain
    folder name inside ``runs/`` (so no file can point the program outside the home)."""
    if not is_run_id(run_id):
        raise UserFacing(f"{str(run_id)[:80]!r} is not a run id (a plain folder name in runs/)")
    return runs_folder(home) / run_id
