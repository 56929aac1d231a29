"""MNIST-C (Mu & Gilmer 2019, "MNIST-C: a robustness benchmark for computer vision"): the 15
corruptions of its benchmark applied to the test set, written anew here from the published
definitions (github.com/google-research/mnist-c, ``corruptions.py``) at the severity each
has there by default, and every image's corruption seeded by its index, so that one seed
gives the same images every time.

Where this differs from the published code:
- ``motion_blur``: the published one calls ImageMagick (radius 10, sigma 3, an angle from
  -45 to 45 degrees). Here the same blur is written out: the image averaged with copies of
  itself moved 0-10 pixels along the angle, weighted by a Gaussian of sigma 3 (ImageMagick's
  motion blur is such a one-sided Gaussian streak).
- ``glass_blur``: the same local shuffle (a pixel swapped with a neighbour up to 1 away, for
  each position in the same order, twice), drawn for all images at once.
- ``impulse_noise``: salt and pepper on 17% of the pixels, half each, drawn with NumPy
  (scikit-image's ``random_noise`` does the same).
- ``brightness``: the published one adds 0.5 to the value channel in HSV of a grey image:
  for grey that is adding 0.5 to the pixel, clipped, which is what is done.
- The random draws come from NumPy's per-image generators, not the global one, so the
  images are not those of the published static dataset; ``--mnist-c DIR`` scores that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine import events as ev
from engine.attacks.start import check_cancel
from engine.errors import UserFacing

EXTRA = "pip install 'mnist-tui[corruptions]'"
CENTRE = 13.5  # the published affine corruptions keep the image's centre fixed


def _gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    from scipy import ndimage

    return ndimage.gaussian_filter(x, sigma, mode="nearest", truncate=4.0)  # skimage's gaussian


def _warp(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``x`` through the affine map ``matrix`` (3x3, in (column, row) coordinates) about the
    centre, bilinear, black outside: skimage's ``warp(x, inverse_map=AffineTransform(...))``."""
    from skimage import transform

    a1, a2 = matrix[0, :2]
    b1, b2 = matrix[1, :2]
    fixed = matrix.copy()
    fixed[0, 2] += CENTRE * (1 - a1 - a2)
    fixed[1, 2] += CENTRE * (1 - b1 - b2)
    return transform.warp(x, inverse_map=transform.AffineTransform(matrix=fixed), order=1,
                          mode="constant", cval=0.0)  # fmt: skip


def _line(c0: float, r0: float, c1: float, r1: float) -> np.ndarray:
    """A line from (c0, r0) to (c1, r1), fading over 2.3 pixels, as MNIST-C draws it."""
    if c1 == c0:
        return np.zeros((28, 28))
    cc, rr = np.meshgrid(np.linspace(0, 27, 28), np.linspace(0, 27, 28), sparse=True)
    slope = (r1 - r0) / (c1 - c0)
    distance = np.clip(np.abs(rr - (slope * (cc - c0) + r0)), 0, 2.3 - 1e-10)
    line = np.clip(np.log(1 - distance / 2.3) + 1, 0, 1)
    line[:, : int(np.floor(c0))] = 0
    line[:, int(np.ceil(c1)) :] = 0
    return np.clip(line, 0, 1)


def _plasma(rng: np.random.Generator, size: int = 256, decay: float = 1.4) -> np.ndarray:
    """The diamond-square height map MNIST-C's fog uses, in [0, 1]."""
    grid = np.zeros((size, size))
    step, wibble = size, 100.0

    def wibbled(array):
        return array / 4 + wibble * rng.uniform(-wibble, wibble, array.shape)

    while step >= 2:
        corners = grid[0:size:step, 0:size:step]
        square = corners + np.roll(corners, -1, axis=0)
        square += np.roll(square, -1, axis=1)
        grid[step // 2 : size : step, step // 2 : size : step] = wibbled(square)
        centres = grid[step // 2 : size : step, step // 2 : size : step]
        corners = grid[0:size:step, 0:size:step]
        left = centres + np.roll(centres, 1, axis=0) + corners + np.roll(corners, -1, axis=1)
        grid[0:size:step, step // 2 : size : step] = wibbled(left)
        top = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=0)
        grid[step // 2 : size : step, 0:size:step] = wibbled(top)
        step //= 2
        wibble /= decay
    grid -= grid.min()
    return grid / grid.max()


# --- the corruptions: one image in [0, 1] (28x28) and its generator -> the image in [0, 1] ---


def identity(x, rng):
    return x


def shot_noise(x, rng):  # severity 5: c = 3
    return np.clip(rng.poisson(x * 3) / 3.0, 0, 1)


def impulse_noise(x, rng):  # severity 4: 17% of the pixels
    x = x.copy()
    hit = rng.uniform(size=x.shape) < 0.17
    x[hit] = (rng.uniform(size=x.shape) < 0.5)[hit]
    return x


def glass_blur(x, rng):  # severity 1 (one image; ``glass_blur_all`` draws for many at once)
    return glass_blur_all(x[None], rng)[0]


def glass_blur_all(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma, delta, rounds = 0.7, 1, 2
    blurred = np.stack([_gaussian(x, sigma) for x in images])
    x = np.uint8(blurred * 255)
    rows = np.arange(len(x))
    for _ in range(rounds):
        for h in range(28 - delta, delta, -1):
            for w in range(28 - delta, delta, -1):
                swap = rng.uniform(size=len(x)) < 0.5
                dx, dy = rng.integers(-delta, delta, size=(2, len(x)))
                hp, wp = h + dy, w + dx
                here, there = x[rows, h, w].copy(), x[rows, hp, wp].copy()
                x[rows[swap], h, w] = there[swap]
                x[rows[swap], hp[swap], wp[swap]] = here[swap]
    return np.clip(np.stack([_gaussian(i / 255.0, sigma) for i in x]), 0, 1)


def motion_blur(x, rng):  # severity 1: radius 10, sigma 3, angle -45 to 45 degrees
    from scipy import ndimage

    angle = np.deg2rad(rng.uniform(-45, 45))
    offsets = np.arange(0, 11)
    weights = np.exp(-(offsets**2) / (2 * 3.0**2))
    weights /= weights.sum()
    out = np.zeros_like(x)
    for k, weight in zip(offsets, weights, strict=True):
        out += weight * ndimage.shift(x, (-k * np.sin(angle), k * np.cos(angle)), order=1,
                                      mode="nearest")  # fmt: skip
    return np.clip(out, 0, 1)


def shear(x, rng):  # severity 2: 0.4, either way
    c = 0.4 * rng.choice([-1, 1])
    return np.clip(_warp(x, np.array([[1, -np.sin(c), 0], [0, np.cos(c), 0], [0, 0, 1.0]])), 0, 1)


def scale(x, rng):  # severity 3: 1 / 0.7
    c = 1 / 0.7
    return np.clip(_warp(x, np.diag([c, c, 1.0])), 0, 1)


def rotate(x, rng):  # severity 2: 0.4 radians, either way
    c = 0.4 * rng.choice([-1, 1])
    m = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1.0]])
    return np.clip(_warp(x, m), 0, 1)


def brightness(x, rng):  # severity 5: +0.5 (to the value in HSV, which for grey is the pixel)
    return np.clip(x + 0.5, 0, 1)


def translate(x, rng):  # severity 3: 3 pixels along each axis, either way
    dx, dy = 3 * rng.choice([-1, 1], 2)
    return np.clip(_warp(x, np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1.0]])), 0, 1)


def stripe(x, rng):
    x = x.copy()
    x[:, :7] = 1 - x[:, :7]
    x[:, 21:] = 1 - x[:, 21:]
    return x


def fog(x, rng):  # severity 5: (3.0, 1.4)
    top = x.max()
    return np.clip((x + 3.0 * _plasma(rng)[:28, :28]) * top / (top + 3.0), 0, 1)


def spatter(x, rng):  # severity 4: (0.65, 0.3, 1, 0.65, 1.5)
    liquid = _gaussian(rng.normal(0.65, 0.3, x.shape), 1)
    liquid[liquid < 0.65] = 0
    mask = _gaussian((liquid > 0.65).astype(np.float64), 1.5)
    mask[mask < 0.8] = 0
    return np.clip(x * (1 - mask) + 63 / 255 * mask, 0, 1)


def dotted_line(x, rng):
    r0, r1 = rng.integers(0, 27, size=2)
    line = _line(0, r0, 27, r1)
    edges = np.arange(0, 30, 2)
    for i in range(1, len(edges), 2):
        line[:, edges[i - 1] : edges[i]] = 0
    return np.clip(x + line, 0, 1)


def zigzag(x, rng):
    a = b = 2.0
    c0, c1 = 2, 25
    r0 = rng.integers(0, 27)
    r1 = r0 + rng.integers(-5, 5)
    theta = np.arctan((r1 - r0) / (c1 - c0))
    length = (c1 - c0) / np.cos(theta)
    ends = [(0.0, 0.0)]
    r_i = 0.0
    for i in range(int((length - a) // (2 * a)) + 1):
        r_i = (-1) ** i * b
        ends.append(((2 * i + 1) * a, r_i))
    most = (2 * a) * (length // (2 * a))
    if length != most:
        ends.append((length, r_i / (2 * (length - most))))
    turn = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    cs, rs = turn @ np.array(ends).T
    cs, rs = cs + c0, rs + r0
    x = x.copy()
    for i in range(1, len(cs)):
        x = np.clip(x + _line(cs[i - 1], rs[i - 1], cs[i], rs[i]), 0, 1)
    return x


def canny_edges(x, rng):
    from skimage import feature

    return feature.canny(x).astype(np.float64)


CORRUPTIONS: dict[str, Callable] = {f.__name__: f for f in (
    shot_noise, impulse_noise, glass_blur, motion_blur, shear, scale, rotate, brightness,
    translate, stripe, fog, spatter, dotted_line, zigzag, canny_edges)}  # fmt: skip
# MNIST-C's own names and order; "identity" (no corruption) is the clean set


def check_available() -> None:
    try:
        import skimage  # noqa: F401
    except ImportError:
        raise UserFacing(f"the corruptions need scikit-image: {EXTRA}") from None


def corrupted(images: np.ndarray, name: str, seed: int = 0) -> np.ndarray:
    """uint8 images (N, 28, 28) under corruption ``name``, as uint8; image i's draws come
    from a generator seeded by (seed, i, the corruption's number)."""
    if name == "identity":
        return images
    number = list(CORRUPTIONS).index(name) + 1
    pixels = images.astype(np.float64) / 255.0
    if name == "glass_blur":
        out = glass_blur_all(pixels, np.random.default_rng([seed, number]))
    else:
        function = CORRUPTIONS[name]
        out = np.stack([function(x, np.random.default_rng([seed, i, number]))
                        for i, x in enumerate(pixels)])  # fmt: skip
    return np.round(np.clip(out, 0, 1) * 255).astype(np.uint8)


@dataclass(frozen=True)
class CorruptionScores:
    clean: float
    accuracy: dict[str, float]  # by MNIST-C's names
    images: int
    examples: dict[str, np.ndarray]  # one digit under each (uint8), for the gallery
    source: str  # "written here" or the MNIST-C folder scored

    def to_dict(self) -> dict:
        return {"clean": self.clean, "corruptions": self.accuracy, "mean": self.mean,
                "images": self.images, "source": self.source}  # fmt: skip

    @property
    def mean(self) -> float:
        return float(np.mean(list(self.accuracy.values()))) if self.accuracy else 0.0

    def summary(self) -> str:
        worst = min(self.accuracy, key=self.accuracy.get)
        return (f"mean accuracy under {len(self.accuracy)} corruptions {self.mean:.2%}"
                f" (clean {self.clean:.2%}); worst: {worst} {self.accuracy[worst]:.2%}")  # fmt: skip


def cached_corrupted(images: np.ndarray, name: str, seed: int, cache: Path | None) -> np.ndarray:
    """``corrupted``, kept in ``cache`` (the home's data folder) under the images' digest, the
    corruption and the seed: made once (most of a minute for the 10,000 test images on two
    cores), read back in milliseconds. A damaged file is made again; a cache that cannot be
    written is skipped."""
    import hashlib

    from engine import atomic

    if cache is None or name == "identity":
        return corrupted(images, name, seed)
    digest = hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()[:16]
    path = cache / f"{name}-seed{seed}-{len(images)}-{digest}.npy"
    try:
        kept = np.load(path, allow_pickle=False)
        if kept.shape == images.shape and kept.dtype == np.uint8:
            return kept
    except (OSError, ValueError):
        pass
    made = corrupted(images, name, seed)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        atomic.write_with(path, lambda out: np.save(out, made, allow_pickle=False))
    except OSError:
        pass
    return made


def _accuracy(model, images: np.ndarray, labels: torch.Tensor, cancel) -> float:
    from engine.beyond.calibration import logits_of

    logits = logits_of(model, torch.from_numpy(images), cancel)
    return float((logits.argmax(1) == labels).double().mean())


def parse_only(text: str | None) -> list[str]:
    """The corruptions named (comma-separated; all when blank), or UserFacing naming them."""
    if not text:
        return list(CORRUPTIONS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CORRUPTIONS]
    if unknown or not names:
        raise UserFacing(f"no corruption named {', '.join(unknown) or repr(text)}: MNIST-C's"
                         f" are {', '.join(CORRUPTIONS)}")  # fmt: skip
    return names


def mnist_c_folder(folder: Path, names: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The published static dataset's test images and labels per corruption
    (``NAME/test_images.npy``, ``NAME/test_labels.npy``); UserFacing naming what is missing."""
    found = {}
    for name in names:
        images, labels = folder / name / "test_images.npy", folder / name / "test_labels.npy"
        if not images.is_file() or not labels.is_file():
            raise UserFacing(f"{folder}: no {name}/test_images.npy and test_labels.npy (MNIST-C's"
                             " layout, from its mnist_c.zip)")  # fmt: skip
        try:
            pictures = np.load(images, allow_pickle=False).reshape(-1, 28, 28)
            truth = np.load(labels, allow_pickle=False).reshape(-1)
        except (OSError, ValueError) as error:
            raise UserFacing(f"{images}: cannot be read ({error})") from None
        found[name] = (pictures.astype(np.uint8), truth.astype(np.int64))
    return found


def corruptions_of(subject, only: str | None, images: int | None, seed: int,
                   mnist_c: str | None, emit: ev.Emit = ev.ignore, cancel=None) -> CorruptionScores:  # fmt: skip
    """The subject's accuracy under each corruption (and on the clean images)."""
    names = parse_only(only)
    count = len(subject.test) if images is None else min(images, len(subject.test))
    clean_images = subject.test.images[:count].numpy()
    labels = subject.test.labels[:count]
    clean = _accuracy(subject.model, clean_images, labels, cancel)
    accuracy, examples = {}, {}
    if mnist_c:
        published = mnist_c_folder(Path(mnist_c).expanduser(), names)
    else:
        check_available()
    for done, name in enumerate(names):
        check_cancel(cancel, "corruptions")
        emit(ev.ProgressMade(task=name, done=done, total=len(names)))
        if mnist_c:
            pictures, truth = published[name]
            pictures, truth = pictures[:count], torch.from_numpy(truth[:count])
            accuracy[name] = _accuracy(subject.model, pictures, truth, cancel)
        else:
            pictures = cached_corrupted(clean_images, name, seed, subject.cache)
            accuracy[name] = _accuracy(subject.model, pictures, labels, cancel)
        examples[name] = pictures[0]
    emit(ev.ProgressMade(task="done", done=len(names), total=len(names)))
    return CorruptionScores(clean, accuracy, count, examples,
                            str(mnist_c) if mnist_c else "written here")  # fmt: skip
