"""A study of N runs against the same N runs one after another, measured in one run.

The goal (issue: studies): on one machine a study takes no longer than its runs in
sequence. Each round trains, in fresh homes, N runs with seeds 0..N-1 one after another
(``launch.start`` in this process, as `mnist-tui train` does) and then the same N runs as
one study (``run_study`` with the machine's placement: one at a time on a CPU, several at
once on a GPU); ``--at-once K`` adds a third way, K runs at once with the cores shared out,
to show what the placement avoids (on a CPU) or gains (on a GPU). Rounds alternate, so a
machine that slows down hurts every way alike.

    python bench/study_speed.py [--runs 4] [--subset 5000] [--epochs 1] [--rounds 2]
                                [--at-once 2] [--device auto] [--data DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import launch  # noqa: E402
from engine.config import TrainConfig  # noqa: E402
from engine.locations import app_home, data_cache  # noqa: E402
from engine.studies import define, machine_placement, pending, run_study  # noqa: E402


def settings(args) -> dict:
    return {"epochs": args.epochs, "subset": args.subset, "device": args.device,
            "data": str(args.data) if args.data else ""}  # fmt: skip


HOMES: list[Path] = []


def fresh_home(args) -> Path:
    """A new home sharing the MNIST cache of the usual one (no copy, no download); removed
    when the bench ends."""
    home = Path(tempfile.mkdtemp(prefix="study-bench-"))
    HOMES.append(home)
    cache = data_cache(app_home())
    if cache.is_dir() and not args.data:
        data_cache(home).parent.mkdir(parents=True, exist_ok=True)
        data_cache(home).symlink_to(cache, target_is_directory=True)
    return home


def in_sequence(args) -> float:
    home = fresh_home(args)
    start = time.perf_counter()
    for seed in range(args.runs):
        config = TrainConfig(**settings(args), seed=seed)
        launch.start(home, launch.prepare(home, config), detach=False)
    return time.perf_counter() - start


def as_study(args, at_once: int | None) -> float:
    home = fresh_home(args)
    study = define(home, "bench", seeds=list(range(args.runs)), base=settings(args))
    start = time.perf_counter()
    state = run_study(home, study, at_once=at_once)
    elapsed = time.perf_counter() - start
    assert state.done == args.runs, state
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--subset", type=int, default=5000, help="images per run (real MNIST)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--at-once", type=int, default=2, help="the third way (0: leave it out)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", type=Path, default=None, help="an MNIST folder (IDX files)")
    args = parser.parse_args()

    probe = fresh_home(args)
    study = define(probe, "p", seeds=list(range(args.runs)), base=settings(args))
    place = machine_placement(study, pending(probe, study))
    ways = {"in sequence": lambda: in_sequence(args), "study": lambda: as_study(args, None)}
    if args.at_once:
        ways[f"{args.at_once} at once"] = lambda: as_study(args, args.at_once)
    times: dict[str, list[float]] = {way: [] for way in ways}
    print(f"{args.runs} runs of {args.epochs} epoch(s) on {args.subset} images, {args.rounds}"
          f" rounds; the study's placement here: {place.why}")  # fmt: skip
    for round_ in range(args.rounds):
        for way, measure in ways.items():
            times[way].append(measure())
            print(f"  round {round_ + 1}: {way}: {times[way][-1]:.1f} s", flush=True)
    reference = statistics.median(times["in sequence"])
    for way, values in times.items():
        median = statistics.median(values)
        print(f"{way:>14}: median {median:6.1f} s   {median / reference:.2f}x the sequence")
    for home in HOMES:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
