"""The architecture table of study §2, computed by running the model with forward hooks:
per layer the input and output shapes, parameters, neurons and multiply-adds."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from engine.models.layers import HOOKED

# Layers whose outputs count as neurons (study §2 counts conv, pool and fc outputs, not
# BatchNorm's, which only rescales the layer before it).
NEURON_LAYERS = (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.AvgPool2d)
CONV_GROUP = (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AvgPool2d)
COLUMNS = ("layer", "type", "input", "output", "parameters", "neurons", "mult-adds")
NUMBERS = ("parameters", "neurons", "mult-adds")  # aligned right


@dataclass(frozen=True)
class LayerRow:
    """One row of the table; shapes are per image, channels first."""

    name: str
    kind: str
    group: str  # conv | fc
    input_shape: list[int]
    output_shape: list[int]
    parameters: int
    neurons: int
    mult_adds: int


@dataclass(frozen=True)
class ModelSummary:
    """The table and its totals."""

    model: str
    input_shape: list[int]
    rows: list[LayerRow]

    @property
    def input_neurons(self) -> int:
        return _numel(self.input_shape)

    @property
    def parameters(self) -> int:
        return sum(r.parameters for r in self.rows)

    @property
    def neurons(self) -> int:
        return self.input_neurons + sum(r.neurons for r in self.rows)

    @property
    def mult_adds(self) -> int:
        return sum(r.mult_adds for r in self.rows)

    def parameters_in(self, group: str) -> int:
        return sum(r.parameters for r in self.rows if r.group == group)

    def neurons_in(self, group: str) -> int:
        """Outputs of the group's weighted layers (conv or fc), as study §2 counts them."""
        weighted = nn.Conv2d.__name__ if group == "conv" else nn.Linear.__name__
        return sum(r.neurons for r in self.rows if r.kind == weighted)

    def table(self) -> tuple[list[str], list[list[str]]]:
        """The study's §2 table, laid out once for the CLI and the app: (column labels,
        rows) — the input, each layer, then the totals (the last row). NUMBERS are the
        columns aligned right."""
        shape = lambda s: "x".join(map(str, s))  # noqa: E731
        rows = [["input", "", "", shape(self.input_shape), "0", f"{self.input_neurons:,}", "0"]]
        for r in self.rows:
            rows.append([r.name, r.kind, shape(r.input_shape), shape(r.output_shape),
                         f"{r.parameters:,}", f"{r.neurons:,}" if r.neurons else "-",
                         f"{r.mult_adds:,}"])  # fmt: skip
        rows.append(["total", "", "", "", f"{self.parameters:,}", f"{self.neurons:,}",
                     f"{self.mult_adds:,}"])  # fmt: skip
        return list(COLUMNS), rows

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "input_shape": self.input_shape,
            "rows": [asdict(r) for r in self.rows],
            "totals": {
                "parameters": self.parameters,
                "conv_parameters": self.parameters_in("conv"),
                "fc_parameters": self.parameters_in("fc"),
                "neurons": self.neurons,
                "input_neurons": self.input_neurons,
                "conv_neurons": self.neurons_in("conv"),
                "fc_neurons": self.neurons_in("fc"),
                "mult_adds": self.mult_adds,
            },
        }


def _numel(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _mult_adds(module: nn.Module, output: torch.Tensor) -> int:
    if isinstance(module, nn.Conv2d):
        per_output = (module.in_channels // module.groups) * _numel(list(module.kernel_size))
        return output[0].numel() * per_output
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    return 0


def summarize_model(model: nn.Module, name: str = "", input_shape=(1, 28, 28)) -> ModelSummary:
    """Run one blank image through ``model`` and record every leaf layer it passes."""
    rows: list[LayerRow] = []
    hooks = []

    def record(layer_name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            rows.append(
                LayerRow(
                    name=layer_name,
                    kind=type(module).__name__,
                    group="conv" if isinstance(module, CONV_GROUP) else "fc",
                    input_shape=list(inputs[0].shape[1:]),
                    output_shape=list(output.shape[1:]),
                    parameters=sum(p.numel() for p in module.parameters()),
                    neurons=output[0].numel() if isinstance(module, NEURON_LAYERS) else 0,
                    mult_adds=_mult_adds(module, output),
                )
            )

        return hook

    with HOOKED:  # the app's workers may share this model: one hooked pass at a time
        for layer_name, module in model.named_modules():
            # ReLU modules change no shape and hold nothing: the table, like the study's, has
            # no rows for them
            if not list(module.children()) and not isinstance(module, nn.ReLU):
                hooks.append(module.register_forward_hook(record(layer_name)))
        was_training = model.training
        model.eval()  # BatchNorm needs eval mode for a batch of one
        try:
            device = next(model.parameters()).device
            with torch.no_grad():
                model(torch.zeros(1, *input_shape, device=device))
        finally:
            for hook in hooks:
                hook.remove()
            model.train(was_training)
    return ModelSummary(
        model=name or type(model).__name__, input_shape=list(input_shape), rows=rows
    )
