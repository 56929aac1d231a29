"""Where the app keeps its data cache and runs: ``--home``, ``$MNIST_TUI_HOME``, or the user
data folder."""

from __future__ import annotations

import os
from pathlib import Path

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
