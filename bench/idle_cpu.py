"""What the app costs while nobody touches it: CPU seconds per minute of the app's process
(its own threads; a run it follows trains in a process of its own) on each main screen,
as a share of one core — opened in tmux on a home, left to settle, then measured.

    python bench/idle_cpu.py [--seconds 30] [--settle 8] [--live]

``--live`` also measures the training view following a run that trains meanwhile (started
detached on a 3,000-image subset, or ``--live-subset N``, as long as the measurement needs).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import launch, runs  # noqa: E402
from engine.config import TrainConfig  # noqa: E402
from engine.locations import app_home  # noqa: E402

SESSION = "mnist-tui-idle"
# (what, keys from the home screen); Escape between screens brings the home back. The home
# is measured last: just after the app starts it is still loading (torch, the runs' table)
SCREENS = [("runs", ["3"]), ("studies", ["u"]), ("finished run", ["Tab", "Enter"]),
           ("architecture", ["4"]), ("help", ["?"]), ("home", [])]  # fmt: skip
TICKS = os.sysconf("SC_CLK_TCK")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def cpu_seconds(pid: int) -> float:
    """User + system time of the process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def app_pid() -> int:
    """The app's Python process: the tmux pane's process (the shell exec'd into it)."""
    return int(tmux("display-message", "-p", "-t", SESSION, "#{pane_pid}").strip())


def measure(seconds: float) -> float:
    pid = app_pid()
    start_cpu, start = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--settle", type=float, default=8)
    parser.add_argument("--live", action="store_true")
    parser.add_argument("--live-subset", type=int, default=3000,
                        help="the live run's training images (0: all 54,000, an epoch every"
                             " ~20 s here; 3,000 ends an epoch every second or two)")  # fmt: skip
    args = parser.parse_args()
    home = app_home()
    if not runs.list_runs(home):
        sys.exit("no runs in the home: train one first (mnist-tui train --epochs 1)")
    tmux("kill-session", "-t", SESSION)
    tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "36",
         f"exec {sys.executable} -m tui.cli --home {home}")  # fmt: skip
    time.sleep(args.settle)
    rows = []
    for label, keys in SCREENS:
        for key in keys:
            tmux("send-keys", "-t", SESSION, key)
            time.sleep(0.5)
        time.sleep(args.settle)
        rows.append((label, measure(args.seconds)))
        print(f"{label:<22} {100 * rows[-1][1]:6.2f}% of a core", flush=True)
        tmux("send-keys", "-t", SESSION, "Escape")
        time.sleep(1)
    if args.live:
        config = TrainConfig(epochs=100, subset=args.live_subset or None, device="cpu",
                             snapshots="none")  # fmt: skip
        run_dir, _, _ = launch.start(home, launch.prepare(home, config), detach=True)
        try:
            # a fresh app, whose home lists the new run first: Tab, Enter follows it
            tmux("kill-session", "-t", SESSION)
            tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "36",
                 f"exec {sys.executable} -m tui.cli --home {home}")  # fmt: skip
            time.sleep(args.settle)
            tmux("send-keys", "-t", SESSION, "Tab")
            time.sleep(0.5)
            tmux("send-keys", "-t", SESSION, "Enter")
            time.sleep(args.settle)
            if "x stops it" not in tmux("capture-pane", "-t", SESSION, "-p"):
                sys.exit("the app did not open the live run's view")
            rows.append(("following a live run", measure(args.seconds)))
            print(f"{rows[-1][0]:<22} {100 * rows[-1][1]:6.2f}% of a core", flush=True)
        finally:
            from engine.runs.process import stop

            stop(run_dir)
    tmux("kill-session", "-t", SESSION)
    worst = max(rows, key=lambda r: r[1])
    print(f"worst: {worst[0]}, {100 * worst[1]:.2f}% of a core ({60 * worst[1]:.2f} CPU s a"
          f" minute)")  # fmt: skip


if __name__ == "__main__":
    main()
