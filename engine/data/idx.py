"""The MNIST idx file format: read and write the four files, gzipped or not, and their MD5s."""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from engine.errors import DataError

__all__ = [
    "DataError",
    "FILE_NAMES",
    "MNIST_MD5",
    "encode",
    "find_file",
    "md5",
    "parse",
    "read_bytes",
]

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension

# The four files of an MNIST-format folder, by role; the names are the official ones.
FILE_NAMES = {
    "train-images": "train-images-idx3-ubyte",
    "train-labels": "train-labels-idx1-ubyte",
    "test-images": "t10k-images-idx3-ubyte",
    "test-labels": "t10k-labels-idx1-ubyte",
}

# MD5 of the official uncompressed files (study §1).
MNIST_MD5 = {
    "train-images": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels": "a25bea736e30d166cdddb491f175f624",
    "test-images": "2646ac647ad5339dbf082846283269ea",
    "test-labels": "27ae3e4e09519cfbb04c329615203637",
}


# No MNIST-format file this app reads is near this size (MNIST's largest is 47 MB): a
# header that claims more is refused before anything is inflated (a gzip bomb stops here).
MAX_DATA_BYTES = 256 * 1024 * 1024


def find_file(folder: Path, role: str) -> Path | None:
    """The file for ``role`` in ``folder``: official name, with ``.gz`` or the ``.idx``
    dot-spelling some copies use; ``None`` if absent."""
    stem = FILE_NAMES[role]
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, dotted):
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def read_bytes(path: Path, expected_magic: int | None = None) -> bytes:
    """The uncompressed content of an idx file, read no further than its header allows:
    the magic number and the sizes are checked before the data is inflated."""
    try:
        with open(path, "rb") as raw_handle:
            gzipped = raw_handle.read(2) == b"\x1f\x8b"
        opener = gzip.open if gzipped else open
        with opener(path, "rb") as handle:
            head = handle.read(4)
            if len(head) < 4:
                raise DataError(f"{path}: too short to be an idx file ({len(head)} bytes)")
            (magic,) = struct.unpack(">I", head)
            if expected_magic is not None and magic != expected_magic:
                raise DataError(_bad_magic(path, magic, expected_magic))
            dims = magic & 0xFF
            if magic >> 8 != 0x08 or not 1 <= dims <= 3:
                raise DataError(
                    f"{path}: bad magic number 0x{magic:08x} (not an MNIST-format idx file)"
                )
            sizes = handle.read(4 * dims)
            if len(sizes) < 4 * dims:
                raise DataError(f"{path}: header cut short (truncated or corrupt)")
            # Python's integers: numpy's int64 product of 2**31 x 2**31 x 4 overflows to 0
            size = math.prod(struct.unpack(f">{dims}I", sizes))
            if size > MAX_DATA_BYTES:
                raise DataError(
                    f"{path}: header claims {size:,} bytes of data, more than any MNIST-format file"
                )
            data = handle.read(size + 1)  # one byte more than the header allows tells of extra data
        return head + sizes + data
    except DataError:
        raise
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise DataError(f"{path}: cannot be read ({reason})") from None


def _bad_magic(origin: object, magic: int, expected: int) -> str:
    return (
        f"{origin}: bad magic number 0x{magic:08x}, expected 0x{expected:08x}"
        " (not an MNIST-format idx file, or the images and labels are swapped)"
    )


def parse(raw: bytes, expected_magic: int, origin: str) -> np.ndarray:
    """The array an idx file holds, after checking its magic number and length."""
    if len(raw) < 8:
        raise DataError(f"{origin}: too short to be an idx file ({len(raw)} bytes)")
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != expected_magic:
        raise DataError(_bad_magic(origin, magic, expected_magic))
    dims = magic & 0xFF
    shape = struct.unpack(f">{dims}I", raw[4 : 4 + 4 * dims])
    offset = 4 + 4 * dims
    size = math.prod(shape)
    if len(raw) - offset != size:
        raise DataError(
            f"{origin}: header says {size} bytes of data for shape {shape},"
            f" the file holds {len(raw) - offset} (truncated or corrupt)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def encode(array: np.ndarray) -> bytes:
    """The idx bytes of a uint8 array of 1 (labels) or 3 (images) dimensions."""
    magic = IMAGES_MAGIC if array.ndim == 3 else LABELS_MAGIC
    header = struct.pack(">I", magic) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def md5(raw: bytes) -> str:
    """Hex MD5 of some bytes."""
    return hashlib.md5(raw).hexdigest()
