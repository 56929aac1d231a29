"""Atomic writes: a temporary file in the same folder, flushed, then renamed over the target,
so a reader never sees half a file and a crash never leaves one; and reads that never follow
a link planted at a file's name."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def write_with(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(handle)`` on a temporary file, then rename it to ``path``. The folder
    must exist: it is never made here, so a run folder deleted while its run trains is not
    brought back by the next checkpoint (FileNotFoundError tells the writer it is gone)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: Path, raw: bytes) -> None:
    """Write ``raw`` to ``path`` atomically."""
    write_with(path, lambda handle: handle.write(raw))


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    write_bytes(path, (json.dumps(data, indent=2) + "\n").encode())


def read_text_nofollow(path: Path) -> str:
    """A file's text, refusing to follow a symlink at its name."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as handle:
        return handle.read()


def read_record(path: Path, missing: str, damaged: str) -> Any:
    """A JSON file's data, read without following a link; UserFacing ``missing`` where there
    is none, ``damaged (why)`` where it cannot be read or parsed."""
    from engine.errors import UserFacing

    try:
        return json.loads(read_text_nofollow(path))
    except FileNotFoundError:
        raise UserFacing(missing) from None
    except (OSError, ValueError, RecursionError) as error:
        raise UserFacing(f"{damaged} ({error})") from None


def writable_target(path: Path, what: str) -> Path:
    """``path`` resolved, or UserFacing when it cannot be written: its folder is missing, or
    it is a folder itself."""
    from engine.errors import UserFacing

    path = Path(path).expanduser()
    if path.is_dir():
        raise UserFacing(f"{path}: is a folder; give the {what} file's name")
    if not path.parent.is_dir():
        raise UserFacing(f"{path.parent}: no such folder for the {what} file")
    if not os.access(path.parent, os.W_OK):
        raise UserFacing(f"{path.parent}: cannot write here (permission denied)")
    return path.resolve()
