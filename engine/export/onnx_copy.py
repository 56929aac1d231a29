"""A run's ONNX copy, kept in the run beside its weights, so that predicting your own pictures
(``mnist-tui predict RUN --image FILE``) starts in a fraction of a second: onnxruntime and
NumPy load in about 0.3 s, torch in one to two.

The first prediction of a moment's weights goes through torch as always and then writes the
copy (``RUN/onnx/best.onnx``: ``engine.export.onnx_model.export_onnx``, checked by
onnxruntime against torch on 1,000 test images before it is kept). Later predictions use it
while it is fresh: its metadata holds the checkpoint file's (mtime_ns, size) when it was
written, so a run that trains on, or a checkpoint replaced, is read through torch again and
copied anew. A network that does not export leaves a note (``best.none``) so that it is not
tried again for the same weights. Nothing here is needed: without the ``export`` extra, or
where the run's folder is read-only, predictions take the torch path.

This module imports neither torch nor onnxruntime until asked; the copy runs through
``engine.export.onnx_run``.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.export.onnx_run import onnx_session

FOLDER = "onnx"
VERSION_KEY = "checkpoint_version"


@dataclass(frozen=True)
class OnnxCopy:
    """A fresh copy's session and what the metadata says of it."""

    session: object  # onnxruntime.InferenceSession
    classes: list[str]
    path: Path

    def probabilities(self, pixels: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """Softmax of the logits / temperature for float32 pixels (N, 1, 28, 28) in [0, 1]."""
        name = self.session.get_inputs()[0].name
        logits = self.session.run(None, {name: pixels.astype(np.float32)})[0] / temperature
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


def _paths(run_dir: Path, moment: str) -> tuple[Path, Path]:
    stem = str(moment).replace(":", "-")
    return run_dir / FOLDER / f"{stem}.onnx", run_dir / FOLDER / f"{stem}.none"


def _version(checkpoint: Path) -> str | None:
    try:
        stat = checkpoint.lstat()
    except OSError:
        return None
    return f"{stat.st_mtime_ns}:{stat.st_size}"


def fresh_copy(run_dir: Path, moment: str, checkpoint: Path) -> OnnxCopy | None:
    """The run's copy of these weights when there is one as new as ``checkpoint`` and
    onnxruntime is installed; None otherwise (the caller takes the torch path)."""
    path, _ = _paths(run_dir, moment)
    version = _version(checkpoint)
    if version is None or not path.is_file() or path.is_symlink():
        return None
    try:
        session = onnx_session(path)
        meta = session.get_modelmeta().custom_metadata_map
        if meta.get(VERSION_KEY) != version:
            return None
        return OnnxCopy(session, list(json.loads(meta["classes"])), path)
    except Exception:  # a damaged or foreign copy: the torch path, which writes it anew
        return None


def keep_copy(subject, run_dir: Path, moment: str, checkpoint: Path) -> Path | None:
    """Write the copy of ``subject``'s weights after a torch prediction; its path, or None
    where it cannot be written (no export extra, a read-only run, a network that does not
    export: noted so that it is not tried again for these weights). Never raises."""
    path, refused = _paths(run_dir, moment)
    version = _version(checkpoint)
    try:
        if version is None or refused.is_file() and refused.read_text().strip() == version:
            return None
        from engine.export import onnx_model

        onnx_model.check_available()
    except Exception:
        return None
    try:
        path.parent.mkdir(exist_ok=True)
        onnx_model.export_onnx(subject, path, {"run_id": run_dir.name, "moment": str(moment),
                                               "model": subject.model_name, VERSION_KEY: version})  # fmt: skip
        return path
    except Exception:
        with contextlib.suppress(OSError):
            refused.write_text(version + "\n")
        return None
