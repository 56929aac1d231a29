"""A run's network as an ONNX file that takes raw pixels, checked by onnxruntime before it is
kept (``mnist-tui export RUN --onnx FILE``; the ``export`` extra).

What goes in the file, so that it works without mnist-tui:
- the input ``pixels``: float32 ``(N, 1, 28, 28)`` in [0, 1], white digit on black as MNIST
  gives them, N free; the output ``logits``: ``(N, classes)``;
- the run's normalisation inside the graph (engine.pixels.PixelModel, the same wrapper the
  attacks use), so callers never need MNIST's mean and standard deviation;
- in the model's metadata: the run's id, the moment of its weights, its classes, the test
  accuracy these weights score (measured at export on the whole test set, not copied from
  the run's log, which holds only the best checkpoint's) and the preprocessing a picture
  needs (engine.data.own_digits' summary).

PyTorch's exporter (``torch.onnx.export(..., dynamo=True)``, which needs onnxscript) writes
the file next to its destination; onnxruntime then runs it on the first 1,000 test images
beside torch. Only when every prediction agrees is it renamed into place: a failed export
or check leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import sys
import tempfile
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine import atomic
from engine import events as ev
from engine.errors import UserFacing
from engine.export.onnx_run import onnx_logits, onnx_session

EXTRA = "pip install 'mnist-tui[export]'"
CHECKED_IMAGES = 1_000  # test images run through onnxruntime beside torch at export
OPSET = 18
PREPROCESSING = (
    "MNIST's: greyscale, white digit on black, the digit's bounding box fitted into 20x20"
    " keeping its aspect ratio, placed in 28x28 by its centre of mass; pixels in [0, 1]"
    " (the normalisation is inside this graph)"
)


@dataclass(frozen=True)
class OnnxExport:
    """What an export wrote and what its check measured."""

    path: Path
    test_accuracy: float  # torch, these weights, the whole test set
    checked: int  # images run through onnxruntime
    agreed: int  # of them, predicted the same by both
    max_logit_difference: float


def check_available() -> None:
    """UserFacing, before anything is read or written, when a package is missing."""
    for package in ("onnx", "onnxscript", "onnxruntime"):
        try:
            __import__(package)
        except ImportError:
            raise UserFacing(f"ONNX export needs the {package} package: {EXTRA}") from None


def _reason(error: BaseException) -> str:
    """What the exporter found, in one line: the first line of the deepest cause (the
    exporter wraps it in advice about itself), and where in the network's own code."""
    while error.__cause__ is not None:
        error = error.__cause__
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reason = (lines or [type(error).__name__])[0][:240]
    ours = [frame for frame in traceback.extract_tb(error.__traceback__)
            if "site-packages" not in frame.filename and "/torch/" not in frame.filename
            and not frame.filename.endswith("pixels.py")]  # fmt: skip
    if ours:
        reason += f" (at {Path(ours[-1].filename).name}:{ours[-1].lineno}: {ours[-1].line})"
    return reason


@contextlib.contextmanager
def _quiet():
    """The exporter's progress (stdout), warnings and the graphs it dumps when it fails (its
    loggers write to the terminal's stderr directly) kept off the terminal: the reason is
    said in one line instead."""
    logging.disable(logging.CRITICAL)  # torch's loggers set their own levels: all of them
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
                warnings.catch_warnings(),
            ):
                warnings.simplefilter("ignore")
                yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        logging.disable(logging.NOTSET)


def _export_graph(model: torch.nn.Module, path: Path) -> None:
    """The exporter's file at ``path``; UserFacing with ONNX's reason when it fails."""
    from engine.pixels import PixelModel

    pixels = PixelModel(model)
    example = torch.rand(2, 1, 28, 28)
    batch = torch.export.Dim("batch")
    try:
        with _quiet():
            torch.onnx.export(pixels, (example,), str(path), dynamo=True, opset_version=OPSET,
                              input_names=["pixels"], output_names=["logits"],
                              dynamic_shapes={"pixels": {0: batch}}, external_data=False)  # fmt: skip
    except Exception as error:  # the exporter raises many kinds; its message says why
        raise UserFacing(f"this network does not export to ONNX: {_reason(error)}") from None


def _add_metadata(path: Path, metadata: dict[str, str]) -> None:
    import onnx

    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, metadata)
    model.doc_string = (
        "An MNIST digit classifier trained with mnist-tui. Input 'pixels': float32"
        " (N, 1, 28, 28) in [0, 1], white on black; output 'logits': (N, classes). " + PREPROCESSING
    )
    onnx.save(model, str(path))


def torch_logits(model: torch.nn.Module, pixels: torch.Tensor, batch: int = 1_000) -> torch.Tensor:
    """Logits of the network (in eval mode) for pixels in [0, 1], normalised as in training."""
    from engine.data import MEAN, STD

    with torch.inference_mode():
        return torch.cat([model((pixels[i : i + batch] - MEAN) / STD)
                          for i in range(0, len(pixels), batch)])  # fmt: skip


def export_onnx(
    subject, path: Path, metadata: dict[str, str], emit: ev.Emit = ev.ignore
) -> OnnxExport:
    """Write ``subject``'s network to ``path`` as ONNX taking raw pixels (see the module);
    checked by onnxruntime against torch before it is kept."""
    from engine.pixels import to_pixels

    check_available()
    path = atomic.writable_target(path, "ONNX")
    emit(ev.ProgressMade(task="test accuracy", done=0, total=3))
    pixels = to_pixels(subject.test.images)
    torch_out = torch_logits(subject.model, pixels)
    labels = subject.test.labels
    accuracy = (torch_out.argmax(1) == labels).float().mean().item()
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".onnx")
    os.close(fd)
    tmp = Path(name)
    try:
        emit(ev.ProgressMade(task="exporting", done=1, total=3))
        _export_graph(subject.model, tmp)
        _add_metadata(tmp, {**metadata, "test_accuracy": f"{accuracy:.6f}",
                            "classes": json.dumps(subject.classes),
                            "input": "pixels: float32 (N, 1, 28, 28) in [0, 1], white on black",
                            "output": "logits: float32 (N, classes)",
                            "preprocessing": PREPROCESSING})  # fmt: skip
        emit(ev.ProgressMade(task="checking with onnxruntime", done=2, total=3))
        checked = pixels[:CHECKED_IMAGES]
        theirs = onnx_logits(onnx_session(tmp), checked.numpy())
        ours = torch_out[:CHECKED_IMAGES].numpy()
        agreed = int((theirs.argmax(1) == ours.argmax(1)).sum())
        difference = float(np.abs(theirs - ours).max()) if len(ours) else 0.0
        if agreed != len(ours):
            raise UserFacing(
                f"the ONNX file disagrees with torch on {len(ours) - agreed} of {len(ours)}"
                f" test images (largest logit difference {difference:.2g}); nothing written"
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    emit(ev.ProgressMade(task="done", done=3, total=3))
    return OnnxExport(path, accuracy, len(ours), agreed, difference)
