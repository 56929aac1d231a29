"""Where a run or an analysis computes: the device chosen (``auto`` picks CUDA, then MPS,
then the CPU), its name for a figure, and the precision it computes in — apart from the
training loop, which uses them, as the launcher, the studies and the analyses do."""

from __future__ import annotations

import torch

from engine.errors import DeviceUnavailable


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then the CPU; an unavailable choice is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailable("device cuda: no CUDA GPU is available here (try auto or cpu)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise DeviceUnavailable("device mps: Apple's MPS is not available here (try auto or cpu)")
    return torch.device(name)


def device_label(device: torch.device) -> str:
    """'cpu', 'mps', or the GPU's name ('NVIDIA H200'): where a figure was measured."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else device.type


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype to train and score in, or None for plain float32."""
    if precision == "fp32" or device.type == "mps":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    # On the CPU bf16 pays only where oneDNN has native bf16 instructions (AVX512-BF16, AMX).
    return torch.bfloat16 if torch.backends.mkldnn.is_available() and _cpu_has_bf16() else None


def _cpu_has_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
