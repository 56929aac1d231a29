"""A clean training step recorded once as a CUDA graph and replayed for every batch.

On a GPU the study's batches of 100 are launch-bound: the step's few dozen small kernels
(gather, normalise, forward, loss, backward, the optimiser's update) each cost more to
launch from Python than to run. Recorded as one graph, a step is one launch. Written by
hand rather than with ``torch.compile(mode="reduce-overhead")``: that needs Triton and tens
of seconds of compiling on first use, and leaves the optimiser's update and the batch's
gather outside the graph; the graph here holds the whole step, and replays the same
kernels the eager step runs (PyTorch's "whole network capture").

What it keeps equal to the eager step:

- the warm-up steps that must run before a capture change the weights, BatchNorm's
  statistics and the momentum; they are put back afterwards, so the run starts from
  exactly where it was (a momentum buffer that did not exist yet is zeroed, which SGD's
  first step with no dampening treats the same);
- the learning rate is a tensor the graph reads, filled from the optimiser's own (float)
  rate before each replay, so the schedule, ``last.pt`` and a resume are unchanged;
- the update is SGD's fused kernel (one launch) inside the graph; a step outside it (an
  epoch's last, smaller batch) is the optimiser's usual one, on the same momentum.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from engine.config import TrainConfig
from engine.data import normalise

WARM_UP_STEPS = 3  # what PyTorch's documentation runs before a capture


def graphs_apply(config: TrainConfig, device: torch.device) -> bool:
    """Whether a run replays its steps as a graph: asked for, on a CUDA GPU, and a clean
    run with SGD (a defended step's attack and Adam's step counter stay eager)."""
    return (
        config.cuda_graphs
        and device.type == "cuda"
        and not config.defended
        and config.optimiser == "sgd"
        and config.augment == 0
    )


class GraphedStep:
    """``step(index)``: one SGD step on ``images[index]``, replayed from a graph; the batch's
    loss as a 0-d tensor on the GPU (reading it is left to the caller, who can batch the
    waits)."""

    def __init__(self, model: nn.Module, forward: Callable, optimiser: torch.optim.SGD,
                 images: torch.Tensor, labels: torch.Tensor, batch_size: int,
                 label_smoothing: float) -> None:  # fmt: skip
        device = images.device
        self.optimiser = optimiser
        self.index = torch.zeros(batch_size, dtype=torch.long, device=device)
        self.lr = torch.tensor(float(optimiser.param_groups[0]["lr"]), device=device)
        params = [p for group in optimiser.param_groups for p in group["params"]]

        def step() -> torch.Tensor:
            batch = self.index
            loss = F.cross_entropy(forward(normalise(images[batch])), labels[batch],
                                   label_smoothing=label_smoothing)  # fmt: skip
            loss.backward()
            optimiser.step()
            return loss

        before = {name: value.clone() for name, value in model.state_dict().items()}
        momentum = [_momentum(optimiser, p) for p in params]
        momentum = [None if m is None else m.clone() for m in momentum]
        kept = [{key: group[key] for key in ("lr", "fused", "foreach")}
                for group in optimiser.param_groups]  # fmt: skip
        for group in optimiser.param_groups:  # the graph's update: fused, at self.lr
            group.update(lr=self.lr, fused=True, foreach=False)
        try:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(WARM_UP_STEPS):
                    optimiser.zero_grad(set_to_none=True)
                    step()
            torch.cuda.current_stream().wait_stream(side)
            optimiser.zero_grad(set_to_none=True)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                # detached: the recorded step's autograd graph is let go, else an eager step
                # later would meet its gradient accumulators, tied to the recording's stream
                self.loss = step().detach()
            # the graph owns these; kept so that an eager step's zero_grad cannot free them
            self.grads = {id(p): p.grad for p in params}
        finally:
            for group, values in zip(optimiser.param_groups, kept, strict=True):
                group.update(values)
            with torch.no_grad():  # undo the warm-up (recording a graph runs nothing)
                for name, value in model.state_dict().items():
                    value.copy_(before[name])
                for param, saved in zip(params, momentum, strict=True):
                    buffer = _momentum(optimiser, param)
                    if buffer is not None:
                        buffer.copy_(saved) if saved is not None else buffer.zero_()
        torch.cuda.synchronize(device)

    recorded_last = False  # whether the last step taken was a replay

    def grad_of(self, param: torch.Tensor) -> torch.Tensor | None:
        """``param``'s gradient from the last replay."""
        return self.grads.get(id(param))

    def __call__(self, index: torch.Tensor) -> torch.Tensor:
        self.recorded_last = True
        self.index.copy_(index)
        self.lr.fill_(float(self.optimiser.param_groups[0]["lr"]))
        self.graph.replay()
        return self.loss.detach().clone()


def _momentum(optimiser: torch.optim.Optimizer, param: torch.Tensor) -> torch.Tensor | None:
    return optimiser.state.get(param, {}).get("momentum_buffer")
