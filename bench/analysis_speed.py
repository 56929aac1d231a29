"""Speed of the analyses against the original notebook's ways, in one run:

- occlusion: the batched map against one forward pass per position;
- class synthesis: all classes in one batch against one class at a time with a fresh leaf
  tensor each step (and the weights' gradients computed, as the notebook did);
- robustness: images per second per attack step for FGSM and PGD over the test set.

    python bench/analysis_speed.py [RUN] [--steps 2000] [--robust-limit 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import runs  # noqa: E402
from engine.attacks.robustness import robustness_curve  # noqa: E402
from engine.attacks.start import gaussian_pixels  # noqa: E402
from engine.attacks.synthesis import synthesize_classes  # noqa: E402
from engine.data import MEAN, STD, Split, load_dataset  # noqa: E402  # noqa: E402
from engine.inside.occlusion import occlusion_map  # noqa: E402
from engine.locations import app_home, data_cache  # noqa: E402
from engine.models.zoo import forward_in_study_order  # noqa: E402
from engine.pixels import to_pixels  # noqa: E402


def timed(function, *args, **kwargs) -> float:
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def notebook_model(model):
    """The model as the notebook called it: plain layout, normalisation by hand, ReLU
    before each pool."""
    return lambda pixels: forward_in_study_order(model, (pixels - MEAN) / STD)


def occlusion_one_at_a_time(model, image, label, patch=14, stride=2) -> None:
    pixel_model = notebook_model(model)
    offsets = range(0, 28 - patch + 1, stride)
    with torch.no_grad():
        for top in offsets:
            for left in offsets:
                x = to_pixels(image.unsqueeze(0))
                x[:, :, top : top + patch, left : left + patch] = 0
                F.softmax(pixel_model(x), 1)[0, label].item()


def synthesis_one_class_at_a_time(model, classes, steps) -> None:
    pixel_model = notebook_model(model)
    for k in classes:
        x = gaussian_pixels(1, seed=k)
        for _ in range(steps):
            x = x.detach().requires_grad_(True)  # a fresh leaf each step
            pixel_model(x)[0, k].backward()
            x = (x + 0.01 * x.grad.sign()).clamp(0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default="latest")
    parser.add_argument("--steps", type=int, default=2000, help="synthesis steps per class")
    parser.add_argument("--robust-limit", type=int, default=10_000)
    args = parser.parse_args()

    home = app_home()
    run_dir = runs.find_run(home, args.run)
    model = runs.load_run_model(run_dir)
    reference = runs.load_run_model(run_dir)  # a separate copy, left as the notebook had it
    dataset = load_dataset(data_cache(home))
    test = Split(dataset.test_images, dataset.test_labels)
    print(f"model {run_dir.name}; torch {torch.__version__}, {torch.get_num_threads()} threads")

    image, label = test.images[7], int(test.labels[7])
    occlusion_map(model, image, label)  # warm-up
    batched = min(timed(occlusion_map, model, image, label) for _ in range(5))
    looped = min(timed(occlusion_one_at_a_time, reference, image, label) for _ in range(3))
    print(f"occlusion 14x14 stride 2 (64 positions): batched {batched * 1000:.1f} ms,"
          f" one pass per position {looped * 1000:.1f} ms -> {looped / batched:.1f}x")  # fmt: skip

    classes = list(range(10))
    batched = timed(synthesize_classes, model, classes, args.steps)
    looped = timed(synthesis_one_class_at_a_time, reference, classes, args.steps)
    print(f"class synthesis, 10 classes x {args.steps:,} steps: batched {batched:.1f} s,"
          f" one class at a time {looped:.1f} s -> {looped / batched:.1f}x"
          f" (10,000 steps batched: about {batched * 10_000 / args.steps:.0f} s)")  # fmt: skip

    for attack, steps in (("fgsm", 1), ("pgd", 40)):
        limit = args.robust_limit if attack == "fgsm" else max(1, args.robust_limit // 10)
        point = robustness_curve(model, test, [0.1], attack, limit=limit, steps=steps)[0]
        print(f"robustness {attack} eps 0.1 on {point.images:,} images: {point.seconds:.1f} s,"
              f" {point.images_per_s_per_step:,.0f} images/s per attack step")  # fmt: skip


if __name__ == "__main__":
    main()
