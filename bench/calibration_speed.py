"""How long `mnist-tui calibration` takes for each run named: making the run's validation
split (once per process: scikit-learn's stratified split of the training set), then the
calibration itself (the validation and test logits, the temperature's fit, the figures)
three times in a row, as the app repeats it. Nothing else should be running.

    python bench/calibration_speed.py RUN [RUN ...] [--home DIR]
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
    from engine.locations import app_home
    from engine.subject import Subjects

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="RUN")
    parser.add_argument("--home", default=None)
    args = parser.parse_args()
    home = app_home(args.home)
    source = Subjects(home)
    for run in args.runs:
        subject = source.get(runs.find_run(home, run))
        start = time.perf_counter()
        subject.val  # noqa: B018 - made on first use; timed apart
        split = time.perf_counter() - start
        times = []
        for _ in range(3):
            start = time.perf_counter()
            calibration_of(subject, 10)
            times.append(time.perf_counter() - start)
        print(f"{subject.run_id[-4:]} ({subject.model_name}): validation split {split:.2f} s,"
              f" calibration {', '.join(f'{t:.2f}' for t in times)} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
