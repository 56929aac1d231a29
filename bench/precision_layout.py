"""What each speed setting of the training loop buys on this machine: training and scoring
images/s of both models in float32 or bfloat16 autocast, NCHW or channels-last (NHWC).

    python bench/precision_layout.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.models.zoo import build_model  # noqa: E402

MODES = {"fp32": (False, False), "bf16": (True, False), "channels-last": (False, True),
         "channels-last + bf16": (True, True)}  # fmt: skip


def rates(name: str, bf16: bool, channels_last: bool) -> tuple[float, float]:
    torch.manual_seed(0)
    model = build_model(name)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(100, 1, 28, 28).contiguous(memory_format=layout)
    y = torch.randint(0, 10, (100,))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x).float(), y)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    for _ in range(5):
        step()
    start = time.perf_counter()
    for _ in range(40):
        step()
    train = 4000 / (time.perf_counter() - start)
    model.eval()
    big = torch.randn(1000, 1, 28, 28).contiguous(memory_format=layout)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        model(big)
        start = time.perf_counter()
        for _ in range(5):
            model(big)
        score = 5000 / (time.perf_counter() - start)
    return train, score


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; images/s")
    print(f"{'model':<12}{'setting':<24}{'train':>10}{'score':>10}")
    for name in ("convnet", "convnet-bn"):
        for mode, (bf16, channels_last) in MODES.items():
            train, score = rates(name, bf16, channels_last)
            print(f"{name:<12}{mode:<24}{train:>10,.0f}{score:>10,.0f}")


if __name__ == "__main__":
    main()
