"""Speed and faithfulness of attribution: every method for one image, the project's way (engine/inside/attribution.py:
batched integrated gradients and SmoothGrad, its own batched occlusion, channels-last
pixels) against Captum called the obvious way, one method after the other with its
defaults (Occlusion on the probabilities); the class view over the test set; and each
method's mean deletion area over the first N test images (lower: more faithful).

    python bench/attribution_speed.py [RUN] [--rounds 5] [--class-limit 10000] [--faithfulness 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
from captum import attr
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import runs  # noqa: E402
from engine.data import MEAN, STD  # noqa: E402
from engine.inside.attribution import (  # noqa: E402
    METHODS,
    AttributionSettings,
    attribute,
    class_view,
    curve_area,
    explain,
)
from engine.locations import app_home  # noqa: E402
from engine.subject import load_subject  # noqa: E402


def captum_obvious(model, image, target: int) -> None:
    """Each method as Captum's documentation shows it, on a model that normalises inside."""

    class Normalised(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, pixels):
            return self.inner((pixels - MEAN) / STD)

    wrapped = Normalised(model.eval())
    x = (image.float() / 255).view(1, 1, 28, 28).requires_grad_(True)
    base = torch.zeros_like(x)
    attr.Saliency(wrapped).attribute(x, target=target)
    attr.InputXGradient(wrapped).attribute(x, target=target)
    attr.IntegratedGradients(wrapped).attribute(x, base, target=target, n_steps=50)
    attr.NoiseTunnel(attr.Saliency(wrapped)).attribute(x, nt_type="smoothgrad", nt_samples=25,
                                                       stdevs=0.15, target=target)  # fmt: skip
    coarse = attr.LayerGradCam(wrapped, model.conv2).attribute(x, target=target)
    attr.LayerAttribution.interpolate(coarse, (28, 28), "bilinear")
    attr.DeepLift(wrapped).attribute(x, base, target=target)
    attr.Occlusion(lambda v: F.softmax(wrapped(v), 1)).attribute(
        x.detach(),
        sliding_window_shapes=(1, 14, 14),
        strides=(1, 2, 2),
        baselines=0.0,
        target=target,
    )


def ours(model, image, target: int) -> None:
    settings = AttributionSettings()
    for method in METHODS:
        attribute(model, image, target, method, settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default="latest")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--class-limit", type=int, default=10_000)
    parser.add_argument("--faithfulness", type=int, default=100, metavar="N")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    home = app_home()
    run_dir = runs.find_run(home, args.run)
    subject = load_subject(home, run_dir)
    image, target = subject.test.images[7], int(subject.test.labels[7])
    print(f"model {run_dir.name}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    ours(subject.model, image, target)  # warm-up (oneDNN kernels, Captum imports)
    captum_obvious(subject.model, image, target)
    times = {"project": [], "captum": []}
    for _ in range(args.rounds):  # alternating, so both see the same machine
        for name, function in (("project", ours), ("captum", captum_obvious)):
            start = time.perf_counter()
            function(subject.model, image, target)
            times[name].append(time.perf_counter() - start)
    a, b = statistics.median(times["project"]), statistics.median(times["captum"])
    print(f"all 7 methods, one image: project {a:.3f} s, Captum one after the other {b:.3f} s"
          f" -> {b / a:.2f}x (median of {args.rounds})")  # fmt: skip
    areas: dict[str, list[float]] = {m: [] for m in (*METHODS, "random order")}
    for index in range(args.faithfulness):
        _, results, random_curve = explain(subject.model, subject.test.images[index])
        for r in results:
            areas[r.method].append(r.deletion_area)
        areas["random order"].append(curve_area(*random_curve))
    if args.faithfulness:
        print(
            f"mean deletion area over test images 0-{args.faithfulness - 1} (lower: more faithful):"
        )
        for method, values in sorted(areas.items(), key=lambda kv: statistics.mean(kv[1])):
            print(f"  {method:<22} {statistics.mean(values):.3f}")
    for method in [m for m in METHODS if m != "occlusion"]:
        start = time.perf_counter()
        class_view(
            subject.model, subject.test.images, subject.test.labels, method, limit=args.class_limit
        )
        print(
            f"class view {method:<22} {args.class_limit:,} images: {time.perf_counter() - start:.1f} s"
        )


if __name__ == "__main__":
    main()
