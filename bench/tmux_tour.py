"""Drive the real `mnist-tui` in tmux, as a person would: home -> train a tiny run ->
architecture -> occlusion -> quit, reading the screen with capture-pane after each step.

    python bench/tmux_tour.py        (needs tmux; exits non-zero on the first failed check)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import synthetic_arrays, write_idx_folder  # noqa: E402

SESSION = "mnist-tui-tour"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_for(text: str, seconds: float = 60) -> float:
    """Seconds until ``text`` is on screen; fails the tour if it never is."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if text in screen():
            return time.monotonic() - start
        time.sleep(0.1)
    print(screen())
    sys.exit(f"FAILED: {text!r} not on screen after {seconds:.0f} s")


def keys(*names: str) -> None:
    for name in names:
        tmux("send-keys", "-t", SESSION, name)
        time.sleep(0.15)


def main() -> None:
    if not shutil.which("tmux"):
        sys.exit("tmux is not installed (apt-get install tmux)")
    work = Path(tempfile.mkdtemp(prefix="mnist-tui-tour-"))
    data = write_idx_folder(work / "data", synthetic_arrays())
    command = f"{sys.executable} -m tui.cli --home {work / 'home'} --data {data}"
    tmux("kill-session", "-t", SESSION)
    tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", "-c", str(ROOT), command)
    try:
        print(f"home screen after {wait_for('Train convnet'):.1f} s")
        keys("1")
        wait_for("learning rate")
        keys("End", "BSpace", "BSpace", "BSpace", "3", "Enter")  # the epochs field has the focus
        print(f"tiny run finished after {wait_for('finished: test accuracy', 120):.1f} s")
        assert "epoch" in screen() and "3/3" in screen(), "the epoch table shows 3 epochs"
        keys("Escape", "4")
        wait_for("799,078")
        assert "40,494" in screen()
        print("architecture: 799,078 parameters, 40,494 neurons on screen")
        keys("Escape", "7")
        wait_for("cursor: patch at row 0, column 0")
        keys("Right", "Down")
        wait_for("cursor: patch at row 2, column 2")
        print("occlusion: cursor moved to row 2, column 2")
        keys("Escape", "q")
        time.sleep(1.0)
        gone = SESSION not in tmux("list-sessions")
        assert gone, "the app quit and its tmux session closed"
        print("quit: the session closed. PASSED")
    finally:
        tmux("kill-session", "-t", SESSION)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
