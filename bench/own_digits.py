"""How well the preprocessing of own digits (engine/data/own_digits.py) brings photos back to
MNIST: each of the first N test digits is "photographed" — turned to dark ink on light paper,
made ten times larger, placed off centre, lit unevenly from one side, given grain and three
specks of dirt, saved as a JPEG — then read back, and the run predicts it, preprocessed and
raw (only shrunk and inverted), beside the original digit.

    python bench/own_digits.py RUN [--images 300] [--home DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def photograph(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 28x28 MNIST digit (uint8) as a photo of ink on paper, greyscale in [0, 1]."""
    from PIL import Image

    big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.BICUBIC), dtype=float) / 255
    page = np.zeros((400, 360))
    y, x = rng.integers(0, 120), rng.integers(0, 80)
    page[y : y + 280, x : x + 280] = big
    rows, columns = np.mgrid[0:400, 0:360]
    light = 0.75 + 0.2 * columns / 360 + 0.05 * rows / 400
    photo = light * (1 - 0.85 * page) + rng.normal(0, 0.03, page.shape)
    for _ in range(3):
        sy, sx = rng.integers(0, 396), rng.integers(0, 356)
        photo[sy : sy + 3, sx : sx + 3] = 0.2
    return np.clip(photo, 0, 1)


def main() -> int:
    import torch
    from PIL import Image

    from engine import runs
    from engine.data.own_digits import own_digit
    from engine.locations import app_home
    from engine.pixels import PixelModel, to_pixels
    from engine.subject import Subjects

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--home", default=None)
    args = parser.parse_args()
    home = app_home(args.home)
    subject = Subjects(home).get(runs.find_run(home, args.run))
    model, rng = PixelModel(subject.model), np.random.default_rng(0)
    right = {"preprocessed": 0, "raw": 0, "original": 0}
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.images):
            digit = subject.test.images[i].numpy()
            path = Path(folder) / f"{i}.jpg"
            Image.fromarray((photograph(digit, rng) * 255).astype(np.uint8)).save(path, quality=85)
            stack = np.stack([own_digit(path).seen, own_digit(path, raw=True).seen, digit])
            with torch.no_grad():
                predicted = model(to_pixels(torch.from_numpy(stack))).argmax(1).tolist()
            for name, guess in zip(right, predicted, strict=True):
                right[name] += guess == int(subject.test.labels[i])
    shown = ", ".join(f"{name} {count / args.images:.1%}" for name, count in right.items())
    print(f"{args.images} photographed test digits, run {subject.run_id}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
