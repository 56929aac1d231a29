"""A run's weights as a safetensors file (``mnist-tui export RUN --safetensors FILE``; the
``export`` extra), and such a file read back (``mnist-tui import FILE.safetensors``).

safetensors holds tensors and a flat table of strings, and runs no code when read — the
format the field now shares weights in. The table carries what is needed to rebuild the
network: the run's settings as JSON (``settings``, with the network's name and arguments),
the run's id, the moment of the weights and the classes. ``import`` takes the network from
there when ``--model`` is not given.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from engine.errors import CheckpointError, UserFacing

EXTRA = "pip install 'mnist-tui[export]'"
FORMAT = "mnist-tui"  # the metadata's "format": a file this tool wrote


def check_available() -> None:
    try:
        import safetensors  # noqa: F401
    except ImportError:
        raise UserFacing(f"safetensors files need the safetensors package: {EXTRA}") from None


def write_safetensors(model: torch.nn.Module, path: Path, metadata: dict[str, str]) -> int:
    """The network's state dict at ``path`` (atomically) with ``metadata``; the number of
    tensors written. Tensors that share memory are written as copies, as safetensors wants."""
    from safetensors.torch import save

    from engine import atomic

    check_available()
    state = {name: tensor.detach().cpu().contiguous().clone()
             for name, tensor in model.state_dict().items()}  # fmt: skip
    raw = save(state, metadata={"format": FORMAT, **metadata})
    atomic.write_bytes(path, raw)
    return len(state)


def read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and the metadata of a safetensors file; CheckpointError, one line, when it
    cannot be read as one."""
    check_available()
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        tensors = load(raw)
        header_size = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8 : 8 + header_size])
    except (SafetensorError, ValueError, OverflowError) as error:
        raise CheckpointError(f"{path}: not a safetensors file ({error})") from None
    metadata = header.get("__metadata__") or {}
    return dict(tensors), {str(k): str(v) for k, v in metadata.items()}


def settings_of(metadata: dict[str, str]) -> dict:
    """The run settings a file written by ``write_safetensors`` carries ({} for others)."""
    try:
        settings = json.loads(metadata.get("settings", "{}"))
    except ValueError:
        return {}
    return settings if isinstance(settings, dict) else {}
