"""Beyond the clean test set, the table of docs/results.md: for each run named (and their
ensemble), the clean accuracy, MNIST-C's mean and each corruption, ECE before and after
temperature scaling, and the accuracy rotated by 45 and 90 degrees.

    python bench/beyond.py RUN [RUN ...] [--images N] [--home DIR]
"""

from __future__ import annotations

import argparse
import sys
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
    parser.add_argument("--home", default=None)
    args = parser.parse_args()
    home = app_home(args.home)
    source = Subjects(home)
    subjects = [source.get(runs.find_run(home, run)) for run in args.runs]
    header = ["run", "model", "clean", "MNIST-C mean", *CORRUPTIONS, "ECE", "T", "ECE after T",
              "rotated 45", "rotated 90"]  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for subject in subjects:
        scores = corruptions_of(subject, None, args.images, 0, None)
        calibrated = calibration_of(subject, 10)
        turned = {p.amount: p.accuracy for p in shift_of(subject, 90, None, 45).points}
        cells = [subject.run_id[-4:], subject.model_name, f"{scores.clean:.2%}",
                 f"{scores.mean:.2%}", *(f"{scores.accuracy[n]:.1%}" for n in CORRUPTIONS),
                 f"{calibrated.before.ece:.2%}", f"{calibrated.temperature:.2f}",
                 f"{calibrated.after.ece:.2%}", f"{turned[45]:.2%}", f"{turned[90]:.2%}"]  # fmt: skip
        print("| " + " | ".join(cells) + " |", flush=True)
    if len(subjects) > 1:
        result = ensemble_of(subjects)
        e = result.ensemble
        print(f"ensemble of {len(subjects)}: accuracy {e.accuracy:.2%} (members"
              f" {result.mean.accuracy:.2%}), ECE {e.ece:.2%} ({result.mean.ece:.2%}), NLL"
              f" {e.nll:.4f} ({result.mean.nll:.4f}), rotated 45 {e.rotated_accuracy[45.0]:.2%}"
              f" ({result.mean.rotated_accuracy[45.0]:.2%}), 90 {e.rotated_accuracy[90.0]:.2%}"
              f" ({result.mean.rotated_accuracy[90.0]:.2%})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
