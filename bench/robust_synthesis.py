"""Do a model's class syntheses look like digits? An independent judge (a standard convnet
that did not make them) labels each synthesised image; the share labelled as the class it
was synthesised for is printed per model, over several seeds.

A standard network's syntheses are noise it calls k with certainty; a robust network's
gradients are "perceptually aligned" (Santurkar et al. 2019), so its syntheses should look
like the digit to another network too.

    python bench/robust_synthesis.py JUDGE RUN [RUN ...] [--seeds 0 1 2] [--steps 1000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import runs  # noqa: E402
from engine.attacks import synthesize_classes  # noqa: E402
from engine.locations import app_home  # noqa: E402
from engine.pixels import PixelModel  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("judge", help="the independent standard run that labels the images")
    parser.add_argument("runs", nargs="+", help="runs whose syntheses are judged")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    home = args.home or app_home()
    judge_dir = runs.find_run(home, args.judge)
    judge = PixelModel(runs.load_run_model(judge_dir))
    print(f"judge: {judge_dir.name}; {args.steps} steps of 0.01 from noise; seeds {args.seeds}")
    for name in args.runs:
        run_dir = runs.find_run(home, name)
        if run_dir == judge_dir:
            sys.exit("the judge must not judge its own syntheses")
        model = runs.load_run_model(run_dir)
        defence = runs.read_config(run_dir).adversarial
        right, labels = 0, []
        for seed in args.seeds:
            result = synthesize_classes(model, list(range(10)), steps=args.steps, seed=seed)
            with torch.no_grad():
                called = judge(result.images).argmax(1).tolist()
            labels.append(called)
            right += sum(int(c == k) for k, c in enumerate(called))
        total = 10 * len(args.seeds)
        print(f"{run_dir.name} ({defence}): {right}/{total} = {right / total:.0%} labelled as"
              f" their class; judge's labels per seed: {labels}")  # fmt: skip


if __name__ == "__main__":
    main()
