"""A model's layers found from the model itself — by kind and in the order they are
defined — never by hard-wired names: any module tree works.

``convolutions(model)``: the Conv2d layers, in the order the forward pass runs them;
``linears``: the Linear ones; ``layer(model, name)``: a layer by its module name, with a
one-line error listing the choices.
"""

from __future__ import annotations

import threading

from torch import nn

from engine.errors import SettingError


def execution_order(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's leaf modules in the order they are defined — for the networks here and
    any written the usual way, the order data meets them. Read from the module tree, not by
    running the model: a forward pass with hooks on a model that another thread is running
    (the app's workers share one) would see the other pass's calls."""
    return [(name, m) for name, m in model.named_modules() if not list(m.children())]


# One hooked forward pass at a time: a hook on a model shared between threads catches
# whichever pass runs through it.
HOOKED = threading.Lock()


def of_kind(model: nn.Module, kind: type | tuple[type, ...]) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in execution_order(model) if isinstance(m, kind)]


def convolutions(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    return of_kind(model, nn.Conv2d)


def linears(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    return of_kind(model, nn.Linear)


def weighted(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The convolutions and linear layers, in the order they are defined."""
    return of_kind(model, (nn.Conv2d, nn.Linear))


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
