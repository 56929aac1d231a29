"""The model out, measured: for each run named, `mnist-tui export RUN --onnx` then
onnxruntime on the whole test set fed raw pixels — its accuracy against the run's own (they
must be equal) and the largest logit difference from torch — and the time of the test set in
onnxruntime against torch on this machine's cores, as a ratio measured in this one process
(onnxruntime's threads set to torch's). Then `mnist-tui predict RUN --image ONE.png` from
the shell, wall time: once through torch (the run's ONNX copy removed first: that call writes
it again), then a few tries on the copy (engine.export.onnx_copy), Python's start included.

    python bench/export.py RUN [RUN ...] [--home DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def best_of(seconds: list[float]) -> float:
    return min(seconds)


def main() -> int:
    import numpy as np
    import onnxruntime
    import torch
    from PIL import Image

    from engine import runs
    from engine.export.onnx_model import torch_logits
    from engine.export.onnx_run import onnx_logits
    from engine.locations import app_home
    from engine.pixels import to_pixels
    from engine.subject import Subjects
    from tui.cli.main import main as cli

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="RUN")
    parser.add_argument("--home", default=None)
    args = parser.parse_args()
    home = app_home(args.home)
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, {threads} threads")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for run in args.runs:
            run_dir = runs.find_run(home, run)
            subject = Subjects(home).get(run_dir)
            path = folder / f"{run_dir.name}.onnx"
            assert cli(["--home", str(home), "export", run_dir.name, "--onnx", str(path)]) == 0
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            session = onnxruntime.InferenceSession(str(path), options,
                                                   providers=["CPUExecutionProvider"])  # fmt: skip
            pixels = to_pixels(subject.test.images)
            labels = subject.test.labels.numpy()
            timings = {"torch": [], "onnxruntime": []}
            for _ in range(3):
                start = time.perf_counter()
                ours = torch_logits(subject.model, pixels).numpy()
                timings["torch"].append(time.perf_counter() - start)
                start = time.perf_counter()
                theirs = onnx_logits(session, pixels.numpy())
                timings["onnxruntime"].append(time.perf_counter() - start)
            accuracy = float((theirs.argmax(1) == labels).mean())
            recorded = runs.summarize(run_dir).test_accuracy
            ratio = best_of(timings["torch"]) / best_of(timings["onnxruntime"])
            print(f"{run_dir.name} ({subject.model_name}): onnxruntime accuracy {accuracy:.2%},"
                  f" the run's {recorded:.2%} ({'equal' if abs(accuracy - recorded) < 1e-9 else 'DIFFERENT'});"
                  f" largest logit difference {np.abs(theirs - ours).max():.1e};"
                  f" test set in onnxruntime {ratio:.2f}x torch's speed"
                  f" ({best_of(timings['onnxruntime']):.2f} s against {best_of(timings['torch']):.2f} s)")  # fmt: skip
        picture = folder / "digit.png"
        Image.fromarray(255 - subject.test.images[0].numpy()).resize((280, 280)).save(picture)
        command = [sys.executable, "-m", "tui.cli", "--home", str(home), "predict",
                   args.runs[0], "--image", str(picture)]  # fmt: skip
        copies = runs.find_run(home, args.runs[0]) / "onnx"
        for stale in copies.glob("*") if copies.is_dir() else []:
            stale.unlink()
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT,
                       env={**os.environ, "NO_COLOR": "1"})  # fmt: skip
        first = time.perf_counter() - start
        print(f"predict --image of one 280x280 PNG from the shell, first time (torch, then the"
              f" ONNX copy written): {first:.2f} s wall")  # fmt: skip
        walls = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=ROOT,
                           env={**os.environ, "NO_COLOR": "1"})  # fmt: skip
            walls.append(time.perf_counter() - start)
        print(f"predict --image of one 280x280 PNG from the shell, on the copy: {best_of(walls):.2f} s wall"
              f" (best of 3; {', '.join(f'{w:.2f}' for w in walls)})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
