"""A home of many runs: how long `mnist-tui runs` takes and how long the app takes from its
start to a home screen listing them all (in tmux, as a person sees it).

The home is made of copies of one finished run (its events, summary and checkpoints), as a
few studies make them; a copy is its own run. With ``--cold`` every copy's summary.json is
removed first, so each listing folds every log (the price before summaries were trusted).

    python bench/thousand_runs.py RUN [--runs 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import runs  # noqa: E402
from engine.locations import app_home  # noqa: E402

SESSION = "mnist-tui-thousand"


def make_home(source: Path, count: int, folder: Path, cold: bool) -> Path:
    home = folder / "home"
    target = runs.runs_folder(home)
    target.mkdir(parents=True)
    for i in range(count):
        copy = target / f"20260101-000000-{source.name.split('-', 2)[-1]}-{i:05d}"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("*.pt"))
        if cold:
            (copy / runs.SUMMARY).unlink(missing_ok=True)
    return home


def time_runs_command(home: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tui.cli", "--home", str(home), "runs"], cwd=ROOT,
                   stdout=subprocess.DEVNULL, check=True)  # fmt: skip
    return time.perf_counter() - start


def time_app_start(home: Path, last_id: str) -> float:
    """Seconds from launching the app in tmux to its home listing the newest run."""
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, check=False)
    command = f"cd {ROOT} && {sys.executable} -m tui.cli --home {home}"
    start = time.perf_counter()
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "120", "-y", "36", command],
                   check=True)  # fmt: skip
    shown = last_id[-6:]
    try:
        while time.perf_counter() - start < 120:
            pane = subprocess.run(["tmux", "capture-pane", "-t", SESSION, "-p"],
                                  capture_output=True, text=True, check=False).stdout  # fmt: skip
            if shown in pane:
                return time.perf_counter() - start
            time.sleep(0.01)
        raise TimeoutError("the home screen never listed the runs")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a finished run to copy (id, prefix, name or latest)")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="no summary.json in the copies")
    args = parser.parse_args()
    source = runs.find_run(app_home(), args.run, needs="any")
    with tempfile.TemporaryDirectory() as folder:
        small = make_home(source, 3, Path(folder) / "small", args.cold)
        many = make_home(source, args.runs, Path(folder) / "many", args.cold)
        newest = runs.list_runs(many)[-1].name
        rows = []
        for label, home, last in (("3 runs", small, runs.list_runs(small)[-1].name),
                                  (f"{args.runs:,} runs", many, newest)):  # fmt: skip
            listing = [time_runs_command(home) for _ in range(args.rounds)]
            starting = [time_app_start(home, last) for _ in range(args.rounds)]
            rows.append((label, statistics.median(listing), statistics.median(starting)))
    print(f"home of copies of {source.name}{' (no summaries)' if args.cold else ''}, medians of"
          f" {args.rounds} rounds")  # fmt: skip
    print(f"{'home':<12} {'mnist-tui runs':>15} {'app to home':>12}")
    for label, listing, starting in rows:
        print(f"{label:<12} {listing:>13.2f} s {starting:>10.2f} s")
    print(f"ratio {args.runs:,} / 3 runs: runs {rows[1][1] / rows[0][1]:.2f}x, app start"
          f" {rows[1][2] / rows[0][2]:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
