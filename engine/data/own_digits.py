"""A learner's own digit — a photo or a scan of a handwritten digit — made into the 28x28
picture the network expects, the way MNIST's own digits were made.

MNIST's description (LeCun, Cortes and Burges, yann.lecun.com/exdb/mnist): "The original
black and white (bilevel) images from NIST were size normalized to fit in a 20x20 pixel box
while preserving their aspect ratio. The resulting images contain grey levels as a result of
the anti-aliasing technique used by the normalization algorithm. The images were centered in
a 28x28 image by computing the center of mass of the pixels, and translating the image so as
to position this point at the center of the 28x28 field." The digits are white on black.

A photo of paper is none of that: dark ink on light paper, lit unevenly, with the paper's
grain and specks of dirt, the digit anywhere in it at any size. So, in order:

1. Read with Pillow (PNG, JPEG, BMP, GIF, WebP, TIFF; any size and mode), turned as its EXIF
   orientation says; transparency laid on white; 16-bit scaled to [0, 1]; then greyscale.
2. The background found from the border (its median): light paper is inverted, so that the
   ink is bright on dark as in MNIST.
3. Uneven light removed: the paper's level fitted as a smooth surface (a quadratic in x
   and y) to the pixels that are paper, and subtracted. Light across a page varies slowly,
   which a quadratic follows, and a fit to the paper alone never takes in the strokes. A
   grey-level opening (what this did first) must be wider than every stroke: photos of
   thick pens came out hollow, and 500 photographed test digits read 97.4% against 99.2%
   with the fit (bench/own_digits.py). The paper's grain is left to step 4's threshold.
4. The ink found by Otsu's threshold on what is left; specks (connected pieces under a
   tenth of the largest) ignored. No ink at all is an error, not a picture.
5. The ink's bounding box fitted into 20x20 keeping its aspect ratio, anti-aliased (Pillow's
   box filter when shrinking), and placed in 28x28 so that its centre of mass is at the
   centre. The run's own normalisation is applied by the network's caller, as for MNIST.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import UserFacing

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
BOX, FIELD = 20, 28  # MNIST: the digit fitted into 20x20, centred in 28x28
WORKING_SIDE = 512  # larger pictures are shrunk to this long side first (speed; a digit ends
# up 20 pixels tall, so nothing is lost)
SPECK = 0.1  # an ink piece smaller than this share of the largest is a speck
LEAST_INK = 0.0005  # less ink than this share of the picture: no digit found
PAPER_FITS = 4  # fits of the paper's level, each leaving out the ink the last one found
LEAST_CONTRAST = 0.08  # ink and paper closer than this (of the 0-1 range): nothing to read


class PictureError(UserFacing):
    """A file that is not a picture of a digit: said in one line naming it."""


@dataclass(frozen=True)
class OwnDigit:
    path: str
    picture: np.ndarray  # the picture as given, greyscale in [0, 1] (for showing)
    seen: np.ndarray  # what the network sees: 28x28 uint8, white digit on black
    inverted: bool  # the paper was light and was inverted


def images_in(folder: Path) -> list[Path]:
    """The pictures in a folder, by name (PictureError where there is none)."""
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
    if not found:
        raise PictureError(f"{folder}: no picture in it ({', '.join(SUFFIXES)})")
    return found


def read_picture(path: Path) -> np.ndarray:
    """The picture as greyscale in [0, 1], turned as its EXIF says (PictureError if it is not
    a readable picture, or larger than Pillow's decompression-bomb limit)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                image = ImageOps.exif_transpose(opened)
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PictureError(f"{path}: larger than Pillow's limit of"
                           f" {Image.MAX_IMAGE_PIXELS:,} pixels (a decompression bomb?)") from None  # fmt: skip
    except UnidentifiedImageError:
        raise PictureError(
            f"{path}: not a picture Pillow can read ({', '.join(SUFFIXES)})"
        ) from None
    except (OSError, ValueError, SyntaxError) as error:
        reason = getattr(error, "strerror", None) or str(error).splitlines()[0] or "unreadable"
        raise PictureError(f"{path}: cannot be read ({reason})") from None
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        grey = np.asarray(image, dtype=np.float64)
        top = grey.max()
        return grey / top if top > 0 else grey
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    return np.asarray(image.convert("L"), dtype=np.float64) / 255.0


def shrunk(picture: np.ndarray, side: int = WORKING_SIDE) -> np.ndarray:
    """The picture with its long side at most ``side`` (box filter: anti-aliased)."""
    from PIL import Image

    height, width = picture.shape
    scale = side / max(height, width)
    if scale >= 1:
        return picture
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(picture.astype(np.float32), "F").resize(size, Image.BOX))


def otsu(values: np.ndarray) -> float:
    """Otsu's threshold: the level that best splits the values into two classes."""
    histogram, edges = np.histogram(values, bins=256, range=(0.0, 1.0))
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(histogram)
    total = weight[-1]
    mean = np.cumsum(histogram * centres)
    between = (mean[-1] * weight / total - mean) ** 2 / np.maximum(weight * (total - weight), 1)
    return float(centres[int(np.argmax(between))])


def light_paper(picture: np.ndarray) -> bool:
    """Whether the picture's border (the paper around the digit) is light: then it is
    inverted, so that the ink is bright on dark as in MNIST."""
    border = np.concatenate([picture[0], picture[-1], picture[:, 0], picture[:, -1]])
    return bool(np.median(border) > 0.5)


def paper_level(ink: np.ndarray) -> np.ndarray:
    """The paper's own level under the ink: a smooth surface (a quadratic in x and y) fitted
    by least squares to the pixels that are paper, found in turns — fit everything, leave
    out what stands above the fit by more than Otsu's threshold (the ink), fit again."""
    height, width = ink.shape
    step = max(1, max(height, width) // 128)  # a sample of about 128x128 points is plenty
    ys, xs = np.mgrid[0:height:step, 0:width:step]
    terms = lambda y, x: [np.ones_like(y), y, x, y * y, x * y, x * x]  # noqa: E731
    design = np.stack(terms(ys.ravel() / height - 0.5, xs.ravel() / width - 0.5), axis=1)
    values = ink[::step, ::step].ravel()
    paper = np.ones_like(values, dtype=bool)
    for _ in range(PAPER_FITS):
        coefficients = np.linalg.lstsq(design[paper], values[paper], rcond=None)[0]
        above = values - design @ coefficients
        top = above.max()
        if top <= 0:
            break
        paper = above < otsu(np.clip(above / top, 0.0, 1.0)) * top
        if paper.sum() < design.shape[1]:
            break
    y, x = np.mgrid[0:height, 0:width]
    return sum(c * t for c, t in zip(coefficients, terms(y / height - 0.5, x / width - 0.5),
                                     strict=True))  # fmt: skip


def ink_of(picture: np.ndarray) -> tuple[np.ndarray, bool]:
    """The ink as bright on dark in [0, 1], the paper's uneven light taken away; and whether
    the picture was inverted (light paper)."""
    inverted = light_paper(picture)
    ink = 1.0 - picture if inverted else picture.copy()
    ink = np.clip(ink - paper_level(ink), 0.0, None)
    top = ink.max()
    return (ink / top if top > 0 else ink), inverted


def digit_mask(ink: np.ndarray) -> np.ndarray:
    """The ink's pixels, specks left out (an empty mask: no digit)."""
    from scipy import ndimage

    if ink.max() <= 0:
        return np.zeros_like(ink, dtype=bool)
    mask = ink > max(otsu(ink), 0.2)
    pieces, count = ndimage.label(mask)
    if count == 0:
        return mask
    sizes = ndimage.sum(mask, pieces, range(1, count + 1))
    keep = [i + 1 for i, size in enumerate(sizes) if size >= SPECK * sizes.max()]
    return np.isin(pieces, keep)


def mnist_like(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The masked ink fitted into 20x20 keeping its aspect ratio and placed in 28x28 by its
    centre of mass: uint8, white on black."""
    from PIL import Image
    from scipy import ndimage

    rows, columns = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max() + 1, columns.min(), columns.max() + 1
    kept = ndimage.binary_dilation(mask, iterations=2)  # the strokes' anti-aliased edges
    crop = (ink * kept)[top:bottom, left:right]
    height, width = crop.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    fitted = np.asarray(Image.fromarray(crop.astype(np.float32), "F").resize(size, Image.BOX))
    field = np.zeros((FIELD, FIELD), dtype=np.float64)
    cy, cx = ndimage.center_of_mass(fitted)
    y = int(np.clip(round(FIELD / 2 - cy), 0, FIELD - fitted.shape[0]))
    x = int(np.clip(round(FIELD / 2 - cx), 0, FIELD - fitted.shape[1]))
    field[y : y + fitted.shape[0], x : x + fitted.shape[1]] = fitted
    top_value = field.max()
    return (
        np.round(255 * field / top_value).astype(np.uint8)
        if top_value > 0
        else field.astype(np.uint8)
    )


def own_digit(path: Path, raw: bool = False) -> OwnDigit:
    """The file as the network should see it (``raw``: only shrunk to 28x28 and, if the
    paper is light, inverted — no light removal, no fitting)."""
    from PIL import Image

    picture = read_picture(path)
    if picture.size == 0 or float(picture.max() - picture.min()) < 1e-3:
        raise PictureError(f"{path}: blank (one colour): no ink found")
    low, high = np.percentile(picture, (0.5, 99.5))
    if high - low < LEAST_CONTRAST:
        raise PictureError(f"{path}: no ink found (the darkest and lightest parts differ by"
                           f" {high - low:.0%} of the range: too faint to tell from the paper)")  # fmt: skip
    if raw:
        inverted = light_paper(picture)
        grey = 1.0 - picture if inverted else picture
        small = Image.fromarray(grey.astype(np.float32), "F").resize((FIELD, FIELD), Image.BOX)
        seen = np.round(255 * np.clip(np.asarray(small), 0, 1)).astype(np.uint8)
        return OwnDigit(str(path), picture, seen, inverted)
    ink, inverted = ink_of(shrunk(picture))
    mask = digit_mask(ink)
    if mask.sum() < LEAST_INK * mask.size:
        raise PictureError(f"{path}: no ink found (a blank page, or too faint to tell from the"
                           " paper)")  # fmt: skip
    return OwnDigit(str(path), picture, mnist_like(ink, mask), inverted)
