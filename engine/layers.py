"""A model's layers found from the model itself — by kind and by the order data meets
them — never by hard-wired names: any module tree works.

``convolutions(model)``: the Conv2d layers, in the order the forward pass runs them;
``linears``: the Linear ones; ``layer(model, name)``: a layer by its module name, with a
one-line error listing the choices.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.errors import SettingError

INPUT = (1, 1, 28, 28)  # the shape every network here takes (normalised images)


def execution_order(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's leaf modules in the order one forward pass runs them (each once)."""
    order: list[tuple[str, nn.Module]] = []
    seen: set[int] = set()
    hooks = []
    for name, module in model.named_modules():
        if not list(module.children()):

            def record(m, _inputs, _output, name=name):
                if id(m) not in seen:
                    seen.add(id(m))
                    order.append((name, m))

            hooks.append(module.register_forward_hook(record))
    device = next(model.parameters()).device
    training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            model(torch.zeros(INPUT, device=device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(training)
    return order


def of_kind(model: nn.Module, kind: type[nn.Module]) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in execution_order(model) if isinstance(m, kind)]


def convolutions(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    return of_kind(model, nn.Conv2d)


def linears(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    return of_kind(model, nn.Linear)


def layer(model: nn.Module, name: str, kind: type[nn.Module] = nn.Conv2d) -> nn.Module:
    """The ``kind`` layer named ``name``; SettingError naming the ones there are."""
    layers = dict(of_kind(model, kind))
    if name not in layers:
        what = "convolution" if kind is nn.Conv2d else kind.__name__
        choices = ", ".join(layers) or "none"
        raise SettingError(f"this network has no {what} named {name!r} (it has: {choices})")
    return layers[name]


def last_convolution(model: nn.Module) -> str:
    """The name of the convolution nearest the output (Grad-CAM's layer)."""
    convs = convolutions(model)
    if not convs:
        raise SettingError("this network has no convolution: Grad-CAM needs one")
    return convs[-1][0]
