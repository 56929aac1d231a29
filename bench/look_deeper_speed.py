"""How long looking deeper takes on the real test set: the embedding of 10,000 test images
with PCA (features, projection and silhouette), and the top images of every channel of the
first convolution (one scan of the test set gives every channel's peaks).

    python bench/look_deeper_speed.py [--run RUN] [--rounds 3]

RUN (default: the latest run in the home) gives the network; the figures are the median of
the rounds, after a warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import runs  # noqa: E402
from engine.inside.channels import channel_peaks, receptive_field  # noqa: E402
from engine.inside.embedding import embedding  # noqa: E402
from engine.locations import app_home  # noqa: E402
from engine.models.layers import convolutions  # noqa: E402
from engine.subject import load_subject  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="latest")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    home = app_home()
    subject = load_subject(home, runs.find_run(home, args.run))
    model, test = subject.model, subject.test
    name, conv = convolutions(model)[0]

    def every_channel() -> None:
        peaks = channel_peaks(model, conv, test)
        field = receptive_field(model, conv)
        for channel in range(conv.out_channels):
            torch.topk(peaks[:, channel], 9)
        assert field.size > 0

    def pca() -> None:
        embedding(model, test, images=len(test))

    print(f"{subject.run_id} ({subject.model_name}), {len(test):,} test images,"
          f" {torch.get_num_threads()} threads", flush=True)  # fmt: skip
    for label, work in ((f"top images of every {name} channel ({conv.out_channels})",
                         every_channel), ("embedding of every test image, PCA", pca)):  # fmt: skip
        work()  # warm-up
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
        print(
            f"{label}: {statistics.median(times):.2f} s (rounds: "
            + ", ".join(f"{t:.2f}" for t in times)
            + ")",
            flush=True,
        )


if __name__ == "__main__":
    main()
