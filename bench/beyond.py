"""Beyond the clean test set, the table of docs/results.md: for each run named (and their
ensemble), the clean accuracy, MNIST-C's mean and each corruption, ECE before and after
temperature scaling, and the accuracy rotated by 45 and 90 degrees; then the seconds the
corruptions (made and scored, or read back from the data's cache) and the calibration took.
``--ensemble RUN,RUN,...`` (or ``--study NAME``) adds a row for those runs as one network.

    python bench/beyond.py RUN [RUN ...] [--images N] [--ensemble RUNS | --study NAME] [--home DIR]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from engine import runs
    from engine.beyond.calibration import calibration_of
    from engine.beyond.corruptions import CORRUPTIONS, corruptions_of
    from engine.beyond.ensemble import ensemble_of
    from engine.beyond.shift import shift_of
    from engine.locations import app_home
    from engine.subject import Subjects

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="RUN")
    parser.add_argument("--images", type=int, default=None, help="test images for MNIST-C")
    parser.add_argument("--ensemble", default=None, help="runs, comma-separated: a row as one")
    parser.add_argument("--study", default=None, help="a study's runs as the ensemble's")
    parser.add_argument("--home", default=None)
    args = parser.parse_args()
    home = app_home(args.home)
    source = Subjects(home)
    subjects = [source.get(runs.find_run(home, run)) for run in args.runs]
    header = ["run", "model", "clean", "MNIST-C mean", *CORRUPTIONS, "ECE", "T", "ECE after T",
              "rotated 45", "rotated 90"]  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    timings = []
    for subject in subjects:
        start = time.perf_counter()
        scores = corruptions_of(subject, None, args.images, 0, None)
        middle = time.perf_counter()
        calibrated = calibration_of(subject, 10)
        timings.append((subject, middle - start, time.perf_counter() - middle))
        turned = {p.amount: p.accuracy for p in shift_of(subject, 90, None, 45).points}
        cells = [subject.run_id[-4:], subject.model_name, f"{scores.clean:.2%}",
                 f"{scores.mean:.2%}", *(f"{scores.accuracy[n]:.1%}" for n in CORRUPTIONS),
                 f"{calibrated.before.ece:.2%}", f"{calibrated.temperature:.2f}",
                 f"{calibrated.after.ece:.2%}", f"{turned[45]:.2%}", f"{turned[90]:.2%}"]  # fmt: skip
        print("| " + " | ".join(cells) + " |", flush=True)
    members = args.ensemble.split(",") if args.ensemble else []
    if args.study:
        from tui.cli.beyond_commands import study_runs

        members = study_runs(home, args.study, None)
    if members:
        result = ensemble_of([source.get(runs.find_run(home, run)) for run in members],
                             args.images or 10_000)  # fmt: skip
        e = result.ensemble
        cells = [f"ensemble of {len(members)}", "-", f"{e.accuracy:.2%}",
                 f"{e.corruption_accuracy:.2%}",
                 *(f"{e.by_corruption[n]:.1%}" for n in CORRUPTIONS), f"{e.ece:.2%}", "-", "-",
                 f"{e.rotated_accuracy[45.0]:.2%}", f"{e.rotated_accuracy[90.0]:.2%}"]  # fmt: skip
        print("| " + " | ".join(cells) + " |")
        m = result.mean
        print(f"its members on average: accuracy {m.accuracy:.2%}, MNIST-C {m.corruption_accuracy:.2%},"
              f" ECE {m.ece:.2%}, NLL {m.nll:.4f} (ensemble {e.nll:.4f}), rotated 45"
              f" {m.rotated_accuracy[45.0]:.2%}, 90 {m.rotated_accuracy[90.0]:.2%}; worst member"
              f" {min(j.accuracy for j in result.members):.2%}")  # fmt: skip
    for subject, corrupting, calibrating in timings:
        print(
            f"{subject.run_id[-4:]} ({subject.model_name}): corruptions {corrupting:.1f} s,"
            f" calibration {calibrating:.1f} s"
        )
    if len(subjects) > 1 and not members:
        result = ensemble_of(subjects, 0)
        e = result.ensemble
        print(f"ensemble of {len(subjects)}: accuracy {e.accuracy:.2%} (members"
              f" {result.mean.accuracy:.2%}), ECE {e.ece:.2%} ({result.mean.ece:.2%}), NLL"
              f" {e.nll:.4f} ({result.mean.nll:.4f}), rotated 45 {e.rotated_accuracy[45.0]:.2%}"
              f" ({result.mean.rotated_accuracy[45.0]:.2%}), 90 {e.rotated_accuracy[90.0]:.2%}"
              f" ({result.mean.rotated_accuracy[90.0]:.2%})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
