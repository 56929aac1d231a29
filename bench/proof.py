"""What CROWN's backward bound adds to interval bounds: for each run and eps, the share of the
test images proven by IBP alone and with the backward bound through the last layers (what
`mnist-tui certify` uses), on the same images, in batches of 128.

    python bench/proof.py RUN [RUN ...] --eps 0.01,0.1 [--home DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    import torch

    from engine import runs
    from engine.locations import app_home
    from engine.proof.intervals import IntervalNetwork, margins, pixel_box
    from engine.subject import Subjects

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="RUN")
    parser.add_argument("--eps", default="0.01,0.1")
    parser.add_argument("--home", default=None)
    args = parser.parse_args()
    home = app_home(args.home)
    source = Subjects(home)
    for run in args.runs:
        subject = source.get(runs.find_run(home, run))
        network = IntervalNetwork(subject.model)
        pixels = subject.test.images.unsqueeze(1).float() / 255
        labels = subject.test.labels
        for eps in (float(e) for e in args.eps.split(",")):
            shares = []
            for backward in (False, True):
                proven = 0
                with torch.no_grad():
                    for i in range(0, len(labels), 128):
                        batch = labels[i : i + 128]
                        lowest = margins(network.bounds(*pixel_box(pixels[i : i + 128], eps)),
                                         batch, backward)  # fmt: skip
                        lowest[torch.arange(len(batch)), batch] = 1
                        proven += int((lowest > 0).all(1).sum())
                shares.append(proven / len(labels))
            print(f"{subject.run_id} eps {eps:g}: IBP alone {shares[0]:.2%}, with the backward"
                  f" bound {shares[1]:.2%}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
