"""The app under load, in one run:

- start-up: seconds from launching `mnist-tui` in tmux to its home screen on display;
- key latency while a training run goes at full speed on the same machine: the time from
  tmux send-keys to the pane showing the change (a chart redrawn, the help screen opened or
  closed), median and 95th percentile, polled with capture-pane (a few ms of resolution).
  A lone Escape also waits out ESCDELAY (Textual's default 100 ms, as in curses) to tell
  the key from the start of an escape sequence, so it is reported apart;
- training images/s of the same run followed by the app, against the same run headless.

    python bench/ui_latency.py [--presses 200] [--subset 30000] [--epochs 3] [--startup-only]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import events as ev  # noqa: E402
from engine import launch, runs  # noqa: E402
from engine.config import TrainConfig  # noqa: E402
from engine.locations import app_home  # noqa: E402

SESSION = "mnist-tui-latency"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def wait_for_text(text: str, seconds: float = 30.0) -> float:
    """Seconds until ``text`` shows in the pane (polled with capture-pane, ~5 ms apart)."""
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if text in tmux("capture-pane", "-p", "-t", SESSION):
            return time.perf_counter() - start
    raise TimeoutError(f"{text!r} never appeared")


def open_app(home: Path, graphics: str = "auto") -> float:
    """Start the real app in tmux; seconds until its home screen shows."""
    tmux("kill-session", "-t", SESSION)
    command = f"{sys.executable} -m tui.cli --home {home} --graphics {graphics}"
    start = time.perf_counter()
    tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", "-c", str(ROOT), command)
    wait_for_text("Train convnet")
    return time.perf_counter() - start


def start_run(home: Path, config: TrainConfig) -> Path:
    run_dir, _, _ = launch.start(home, launch.prepare(home, config), detach=True)
    return run_dir


def wait_until_done(run_dir: Path) -> None:
    while runs.summarize(run_dir).status == "running":
        time.sleep(0.5)


def training_rate(run_dir: Path) -> float:
    epochs = [e for e in runs.read_events(run_dir) if isinstance(e, ev.EpochEvaluated)]
    return statistics.mean(e.images_per_s for e in epochs)


def follow(home: Path, run_dir: Path) -> None:
    """Open the app on the run's live screen and leave it there until the run ends."""
    open_app(home)
    tmux("send-keys", "-t", SESSION, "Tab")
    time.sleep(0.3)
    tmux("send-keys", "-t", SESSION, "Enter")
    wait_for_text("Escape leaves it running")
    while runs.summarize(run_dir).status == "running":
        time.sleep(0.5)
    tmux("kill-session", "-t", SESSION)


def follow_and_press(home: Path, run_dir: Path, presses: int) -> dict[str, list[float]]:
    """Open the app, follow the run, and time key presses while it goes."""
    open_app(home)
    tmux("send-keys", "-t", SESSION, "Tab")
    time.sleep(0.3)
    tmux("send-keys", "-t", SESSION, "Enter")
    wait_for_text("Escape leaves it running")
    wait_for_text("img/s")
    latencies: dict[str, list[float]] = {
        "l (log y on the loss chart, same screen)": [],
        "? (help screen opens or closes)": [],
        "Escape (help closes; includes the terminal's ESCDELAY)": [],
    }
    live = "Escape leaves it running"
    steps = [("l", "[log y]", 0), ("l", "and validation loss  ", 0), ("?", "Everywhere", 1),
             ("?", live, 1), ("?", "Everywhere", 1), ("Escape", live, 2)]  # fmt: skip
    for i in range(presses):
        key, marker, kind = steps[i % len(steps)]
        start = time.perf_counter()
        tmux("send-keys", "-t", SESSION, key)
        wait_for_text(marker)
        latencies[list(latencies)[kind]].append(time.perf_counter() - start)
        time.sleep(0.05)  # a person does not press 20 keys a second
    while runs.summarize(run_dir).status == "running":
        time.sleep(0.5)
    tmux("kill-session", "-t", SESSION)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--subset", type=int, default=30_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=3, help="headless/followed run pairs")
    parser.add_argument("--startup-only", action="store_true", help="measure start-up, stop")
    args = parser.parse_args()
    home = app_home()

    starts: dict[str, list[float]] = {"auto": [], "halfblock": []}
    for _ in range(5):  # alternating, so a warming cache or a drifting machine hits both
        for graphics in starts:  # auto asks the terminal what it draws first
            starts[graphics].append(open_app(home, graphics))
            tmux("kill-session", "-t", SESSION)
    for graphics, times in starts.items():
        print(f"start-up to the home screen, --graphics {graphics}: median"
              f" {statistics.median(times):.2f} s (runs: {', '.join(f'{s:.2f}' for s in times)})")  # fmt: skip
    if args.startup_only:
        return

    config = TrainConfig(epochs=args.epochs, subset=args.subset, device="cpu")
    alone_rates, watched_rates = [], []
    for _ in range(args.pairs):  # alternate, so drifts of the machine hit both alike
        headless = start_run(home, config)
        wait_until_done(headless)
        alone_rates.append(training_rate(headless))
        followed = start_run(home, config)
        follow(home, followed)
        watched_rates.append(training_rate(followed))
    pressed = start_run(home, config)
    for name, latencies in follow_and_press(home, pressed, args.presses).items():
        latencies_ms = sorted(1000 * x for x in latencies)
        p95 = latencies_ms[int(0.95 * (len(latencies_ms) - 1))]
        print(f"key to screen change while training, {name}, {len(latencies_ms)} presses: median"
              f" {statistics.median(latencies_ms):.1f} ms, p95 {p95:.1f} ms, max {latencies_ms[-1]:.1f} ms")  # fmt: skip
    alone, watched = statistics.median(alone_rates), statistics.median(watched_rates)
    print(f"training images/s, median of {args.pairs} runs each: headless {alone:,.0f}, followed by"
          f" the app (no keys pressed) {watched:,.0f} -> {watched / alone:.0%} of headless")  # fmt: skip
    print(f"(runs {headless.name}, {followed.name}; key presses timed during {pressed.name})")


if __name__ == "__main__":
    main()
