"""How well the preprocessing of own digits (engine/data/own_digits.py) brings photos back to
MNIST. Each of the first N test digits is "photographed": dark ink on off-white paper lit
unevenly, with grain and specks, the digit 30-70% of the picture's height and off centre,
every third one's strokes thickened, in colour, saved alternately as PNG and JPEG. Then
``mnist-tui predict --image FOLDER`` reads them (the same code path as the command), and the
run predicts them preprocessed, raw (a plain resize, inverted: `--raw`) and as MNIST gives
them. The same for digits drawn as RGBA on a transparent background (ink only in alpha).

    python bench/own_digits.py RUN [--images 500] [--drawn 30] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def photograph(digit: np.ndarray, rng: np.random.Generator, index: int = 0) -> np.ndarray:
    """A 28x28 MNIST digit (uint8) as an RGB photo (uint8) of dark ink on off-white paper."""
    from PIL import Image
    from scipy import ndimage

    height, width = 400, 360
    ink = digit.astype(float) / 255
    if index % 3 == 2:  # a thicker pen
        ink = ndimage.grey_dilation(ink, size=(2, 2))
    rows = np.nonzero(ink.max(1) > 0.1)[0]
    drawn = max(rows.ptp() + 1, 1) if len(rows) else 20  # the digit's own height in 28x28
    share = rng.uniform(0.3, 0.7)  # of the picture's height
    side = int(round(28 * share * height / drawn))
    side = min(side, width - 8, height - 8)
    big = np.asarray(Image.fromarray((ink * 255).astype(np.uint8)).resize((side, side),
                     Image.BICUBIC), dtype=float) / 255  # fmt: skip
    page = np.zeros((height, width))
    y, x = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)  # off centre
    page[y : y + side, x : x + side] = big
    r, c = np.mgrid[0:height, 0:width]
    light = 0.72 + 0.2 * c / width + 0.06 * r / height  # lit from one side
    grey = light * (1 - 0.82 * page) + rng.normal(0, 0.03, page.shape)
    for _ in range(3):  # specks of dirt
        sy, sx = rng.integers(0, height - 4), rng.integers(0, width - 4)
        grey[sy : sy + 3, sx : sx + 3] = 0.25
    tint = np.array([1.0, 0.97, 0.9])  # off-white paper, blue-black ink
    rgb = np.clip(grey[..., None] * tint, 0, 1)
    return (rgb * 255).astype(np.uint8)


def drawn_on_transparent(digit: np.ndarray) -> np.ndarray:
    """A digit drawn as an app or a web canvas saves it: black ink, 280x280, RGBA, the ink
    only in the alpha channel over a fully transparent background."""
    from PIL import Image

    alpha = np.asarray(Image.fromarray(digit).resize((280, 280), Image.BICUBIC))
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = alpha
    return rgba


def write_photos(images: np.ndarray, folder: Path, seed: int = 0) -> list[Path]:
    """The photos of ``images`` (uint8, n x 28 x 28) in ``folder``, PNG and JPEG in turn,
    named so that they sort in the images' order."""
    from PIL import Image

    rng, paths = np.random.default_rng(seed), []
    for i, digit in enumerate(images):
        path = folder / f"{i:05d}.{'png' if i % 2 == 0 else 'jpg'}"
        Image.fromarray(photograph(digit, rng, i)).save(path, quality=88)
        paths.append(path)
    return paths


def write_drawn(images: np.ndarray, folder: Path) -> list[Path]:
    from PIL import Image

    paths = []
    for i, digit in enumerate(images):
        paths.append(folder / f"{i:05d}.png")
        Image.fromarray(drawn_on_transparent(digit), "RGBA").save(paths[-1])
    return paths


def predicted_by_command(home: Path, run: str, folder: Path, raw: bool = False) -> list[int]:
    """What ``mnist-tui predict RUN --image FOLDER --json`` says, file by file in order."""
    import contextlib
    import io

    from tui.cli.main import main as cli

    out = io.StringIO()
    argv = ["--home", str(home), "predict", run, "--image", str(folder), "--json"]
    with contextlib.redirect_stdout(out):
        assert cli(argv + (["--raw"] if raw else [])) == 0
    records = json.loads(out.getvalue())  # one list of records, one per file
    records.sort(key=lambda record: record["path"])
    return [int(record["prediction"]) for record in records]


def accuracies(home: Path, run: str, images: np.ndarray, labels: np.ndarray, drawn: bool = False):
    """(preprocessed, raw, as MNIST gives them) accuracies on ``images`` made into pictures."""
    import torch

    from engine import runs
    from engine.pixels import PixelModel, to_pixels
    from engine.subject import Subjects

    subject = Subjects(home).get(runs.find_run(home, run))
    with torch.no_grad():
        original = PixelModel(subject.model)(to_pixels(torch.from_numpy(images))).argmax(1)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (write_drawn if drawn else write_photos)(images, folder)
        preprocessed = predicted_by_command(home, run, folder)
        raw = predicted_by_command(home, run, folder, raw=True)
    right = lambda guesses: float(np.mean(np.asarray(guesses) == labels))  # noqa: E731
    return right(preprocessed), right(raw), right(original.numpy())


def main() -> int:
    from engine import runs
    from engine.locations import app_home
    from engine.subject import Subjects

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--drawn", type=int, default=30)
    parser.add_argument("--home", default=None)
    args = parser.parse_args()
    home = app_home(args.home)
    run_dir = runs.find_run(home, args.run)
    test = Subjects(home).get(run_dir).test
    for what, count, drawn in (("photographed", args.images, False),
                               ("drawn on transparent RGBA", args.drawn, True)):  # fmt: skip
        images, labels = test.images[:count].numpy(), test.labels[:count].numpy()
        done, raw, original = accuracies(home, run_dir.name, images, labels, drawn)
        print(f"{count} {what} test digits, run {run_dir.name}: preprocessed {done:.1%},"
              f" raw (plain resize) {raw:.1%}, as MNIST gives them {original:.1%}"
              f" (preprocessing {100 * (done - original):+.1f} points from MNIST's,"
              f" {100 * (done - raw):+.1f} over raw)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
