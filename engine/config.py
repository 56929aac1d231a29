"""The settings of a training run, readable without importing torch (the app lists runs
before torch has loaded)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

# The occlusion study's defaults (SPEC §4): a 14x14 patch moved 2 pixels at a time.
OCCLUSION_PATCH = 14
OCCLUSION_STRIDE = 2


@dataclass
class TrainConfig:
    """Every setting of a run; defaults are SPEC §3's."""

    model: str = "convnet"
    epochs: int = 15
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 100
    # Scoring in eval mode gives the same numbers at any batch size; bigger is faster.
    eval_batch_size: int = 1000
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | mps
    subset: int | None = None  # a stratified N-image training subset, for quick runs
    data: str | None = None  # an MNIST-format folder; None: cache / offline copy / download
    # Random shifts of up to this many pixels per training image; 0 (the study's recipe)
    # turns them off.
    augment: int = 0
    # Speed settings, measured in bench/train_speed.py; they do not change the accuracy.
    precision: str = "auto"  # auto (bf16 where the hardware has it) | bf16 | fp32
    channels_last: bool = True  # NHWC convolutions: about 2x faster with oneDNN on CPU

    def validate(self) -> None:
        """Raise ValueError naming the first bad setting."""
        from engine.models import MODELS  # imported here: reading a config needs no torch

        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        checks = [
            (self.epochs >= 1, "epochs must be at least 1"),
            (self.lr > 0, "learning rate must be positive"),
            (0 <= self.momentum < 1, "momentum must be in [0, 1)"),
            (self.weight_decay >= 0, "weight decay must not be negative"),
            (self.batch_size >= 1, "batch size must be at least 1"),
            (self.eval_batch_size >= 1, "eval batch size must be at least 1"),
            (self.subset is None or self.subset >= 10, "subset must be at least 10 images"),
            (0 <= self.augment <= 8, "augment (the largest shift) must be 0-8 pixels"),
            (self.device in ("auto", "cpu", "cuda", "mps"), "device must be auto|cpu|cuda|mps"),
            (self.precision in ("auto", "bf16", "fp32"), "precision must be auto|bf16|fp32"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
