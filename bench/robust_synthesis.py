"""Do a model's class syntheses look like digits? Independent judges (networks that did not
make them: a standard convnet, and robust ones too) label each synthesised image; the share
labelled as the class it was synthesised for is printed per model and judge, over seeds.

A standard network's syntheses are noise it calls k with certainty (and that noise may
transfer to another standard network); a robust network's gradients are "perceptually
aligned" (Santurkar et al. 2019), so its syntheses should convince any judge, robust or not.
A judge never judges its own syntheses.

    python bench/robust_synthesis.py RUN [RUN ...] --judges JUDGE [JUDGE ...]
                                     [--seeds 0 1 2] [--method sign|l2] [--steps N]

``--method sign`` (default) is the study's synthesis (1,000 signed steps of 0.01 from noise
unless --steps); ``l2`` steps along the gradient from mid-grey (300 of 0.5), as Santurkar et
al. synthesise with robust models.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import runs  # noqa: E402
from engine.attacks.synthesis import synthesize_classes  # noqa: E402
from engine.config import SYNTHESIS_DEFAULTS, SYNTHESIS_METHODS  # noqa: E402
from engine.locations import app_home  # noqa: E402
from engine.pixels import PixelModel  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="runs whose syntheses are judged")
    parser.add_argument("--judges", nargs="+", required=True, help="runs that label the images")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--method", choices=list(SYNTHESIS_DEFAULTS), default="sign")
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    steps, step_size = SYNTHESIS_DEFAULTS[args.method]
    steps = args.steps or (1000 if args.method == "sign" else steps)
    home = args.home or app_home()
    judges = {}
    for name in args.judges:
        run_dir = runs.find_run(home, name)
        judges[run_dir] = PixelModel(runs.load_run_model(run_dir))
    print(f"{args.method}: {SYNTHESIS_METHODS[args.method]}; {steps} steps of {step_size:g};"
          f" seeds {args.seeds}")  # fmt: skip
    for name in args.runs:
        run_dir = runs.find_run(home, name)
        model = runs.load_run_model(run_dir)
        images = [synthesize_classes(model, list(range(10)), steps=steps, seed=seed,
                                     method=args.method).images for seed in args.seeds]  # fmt: skip
        total = 10 * len(args.seeds)
        verdicts = []
        for judge_dir, judge in judges.items():
            if judge_dir == run_dir:
                continue
            with torch.no_grad():
                right = sum(int((judge(x).argmax(1) == torch.arange(10)).sum()) for x in images)
            defence = runs.read_config(judge_dir).adversarial
            verdicts.append(f"{judge_dir.name} ({defence}) {right}/{total} = {right / total:.0%}")
        print(f"{run_dir.name} ({runs.read_config(run_dir).adversarial}), labelled as their class"
              f" by: {'; '.join(verdicts)}")  # fmt: skip


if __name__ == "__main__":
    main()
