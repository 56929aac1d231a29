"""Running an ONNX file with onnxruntime on the CPU, without torch: what the export's check
(``engine.export.onnx_model``) and a run's ONNX copy (``engine.export.onnx_copy``) both use.
onnxruntime is imported when a session is made."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def onnx_session(path: Path):
    """An onnxruntime session on ``path`` for the CPU."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_logits(session, pixels: np.ndarray, batch: int = 1_000) -> np.ndarray:
    """Logits of float32 pixels (N, 1, 28, 28) from an onnxruntime session, in batches."""
    name = session.get_inputs()[0].name
    parts = [session.run(None, {name: pixels[i : i + batch]})[0]
             for i in range(0, len(pixels), batch)]  # fmt: skip
    return np.concatenate(parts) if parts else np.zeros((0, 10), np.float32)
