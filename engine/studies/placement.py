"""Where a study's runs go on this machine: on a CPU one after another, each with every
thread (two at once on 2 cores trained at 443-1,362 images/s against ~8,000 alone); on a GPU
as many at once as its memory holds, the cores shared out between them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from engine.studies.definition import Study

# What one run holds on a GPU, estimated: the CUDA context (about 0.5 GiB), the whole split
# on the device (about 0.2 GiB in float32), the model, its optimizer and a batch's
# activations — rounded up to leave room for the allocator's cache and cuDNN's workspace.
RUN_GPU_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class Placement:
    """How a study's runs share this machine: how many at once, each with how many threads."""

    at_once: int
    threads: int
    why: str


def placement(
    device: str,
    runs_left: int,
    cores: int,
    gpu_free_bytes: int = 0,
    at_once: int | None = None,
) -> Placement:
    """On a CPU one run at a time with every thread (two at once on 2 cores trained at
    443-1,362 images/s against ~8,000 alone); on a CUDA GPU as many as its free memory holds
    (RUN_GPU_BYTES each), at most one per core; ``at_once`` overrides the choice. The threads
    of the runs at once add up to the cores."""
    runs_left, cores = max(1, runs_left), max(1, cores)
    if at_once is not None:
        count = min(at_once, runs_left)
        why = f"{count} at once, as asked"
    elif device == "cuda":
        fit = gpu_free_bytes // RUN_GPU_BYTES
        count = max(1, min(fit, cores, runs_left))
        why = (f"{count} at once on the GPU ({gpu_free_bytes / 1024**3:.0f} GiB free holds {fit}"
               f" at ~{RUN_GPU_BYTES / 1024**3:.0f} GiB a run; {cores} cores)")  # fmt: skip
    else:
        count = 1
        why = f"one at a time with all {cores} threads (fastest on a {device})"
    threads = max(1, cores // count)
    return Placement(count, threads, why + (f", {threads} threads each" if count > 1 else ""))


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores or 1


def machine_placement(study: Study, todo: list, at_once: int | None = None) -> Placement:
    """``placement`` for the study's runs ``todo`` (what ``pending`` lists), on this
    machine's device and cores."""
    from engine.training.device import resolve_device

    devices = {resolve_device(study.config(group, seed).device).type for _, group, seed, _ in todo}
    device = devices.pop() if len(devices) == 1 else "cpu"  # mixed devices: one at a time
    free = 0
    if device == "cuda":
        import torch

        free, _ = torch.cuda.mem_get_info()
    return placement(device, len(todo), usable_cores(), free, at_once)
