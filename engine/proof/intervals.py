"""Interval bound propagation (IBP; Gowal et al. 2018, "On the effectiveness of interval
bound propagation for training verifiably robust models"): bounds on a network's outputs for
every input in a box, by carrying a lower and an upper tensor through each layer.

Why written here: the reference library, auto_LiRPA, pins torch below 1.13 on PyPI and cannot
be installed beside torch 2. IBP is short: per layer kind, one rule.

- Affine layers (Conv2d, Linear, BatchNorm in eval mode, AvgPool2d, AdaptiveAvgPool2d): the
  box's centre goes through the layer, its radius through the layer's weights' magnitudes
  without bias: ``c' = f(c)``, ``r' = |W| r``.
- Monotone layers (ReLU, LeakyReLU, Sigmoid, Tanh, MaxPool2d, Flatten, Dropout and Identity
  in eval mode, reshapes): applied to each end.
- Anything else is refused (``UnsupportedLayer``, naming it): a bound that is not sound
  would prove what is not true.

The network's graph is read with torch.fx (``symbolic_trace``), so that functional calls in
``forward`` (``torch.flatten``, ``F.relu``, ``x.view``) count as layers too.

The logits' bounds alone are loose for a proof: whether class y beats class j is a question
about ``z_y - z_j``. When the network ends in Linear (then perhaps BatchNorm1d), that last
affine map is folded into the difference (the "specification" of Gowal et al., section 3):
``z_y - z_j = (W_y - W_j) h + (b_y - b_j)``, bounded from the box of ``h``. ``margins``
returns these lower bounds; an image is certified when all of them are above 0.

Tighter, for certifying (``margins(..., backward=True)``): where the network ends in Linear,
ReLU, Linear, the difference is carried back through the ReLU as CROWN does (Zhang et al.
2018; CROWN-IBP, Zhang et al. 2020, uses it on IBP's intermediate boxes): each ReLU between
two lines over its input's interval [l, u] (below: 0 or the identity, whichever is nearer;
above: the chord from (l, 0) to (u, u)), the line chosen by the sign of the difference's
weight, then bounded from the box before the first Linear. Both bounds are sound; the larger
is kept. Training uses the plain IBP bound (Gowal et al.'s recipe).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import UserFacing


class UnsupportedLayer(UserFacing):
    """A layer or operation whose bounds are not written here; the message names it."""


@dataclass
class Box:
    """Every value between ``lower`` and ``upper`` (elementwise). ``last``: when this box
    is the image of an earlier one by an affine map (weight, bias, the earlier box), kept so
    that the logits' differences can be bounded through it (see the module)."""

    lower: torch.Tensor
    upper: torch.Tensor
    last: tuple[torch.Tensor, torch.Tensor, Box] | None = None
    relu_of: Box | None = None  # the box a ReLU was applied to, when this is its output

    @property
    def centre(self) -> torch.Tensor:
        return (self.upper + self.lower) / 2

    @property
    def radius(self) -> torch.Tensor:
        return (self.upper - self.lower) / 2


MONOTONE_MODULES = (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.MaxPool2d, nn.MaxPool1d,
                    nn.Flatten, nn.Dropout, nn.Identity, nn.ReLU6, nn.ELU, nn.GELU, nn.SiLU)  # fmt: skip
# (GELU and SiLU are not monotone below about -0.75 and -1.28: they are refused below, but
# listed here so that the refusal says why rather than "unknown layer".)
NOT_MONOTONE = (nn.GELU, nn.SiLU)
MONOTONE_FUNCTIONS = {torch.flatten, torch.relu, F.relu, torch.sigmoid, torch.tanh,
                      F.max_pool2d, F.leaky_relu}  # fmt: skip
SHAPE_METHODS = {"view", "reshape", "flatten", "relu", "contiguous", "squeeze", "unsqueeze",
                 "sigmoid", "tanh"}  # fmt: skip


def _monotone(function, box: Box) -> Box:
    return Box(function(box.lower), function(box.upper))


def _relu(function, box: Box) -> Box:
    """The box through a ReLU, remembering its input for the backward bound."""
    result = _monotone(function, box)
    result.relu_of = box
    return result


def _affine(module: nn.Module, box: Box) -> Box:
    """The box through an affine layer: centre through the layer, radius through |W|."""
    centre, radius = box.centre, box.radius
    if isinstance(module, nn.Conv2d):
        if module.padding_mode != "zeros":
            raise UnsupportedLayer(f"Conv2d with padding_mode={module.padding_mode!r}")
        out_c = module(centre)
        out_r = F.conv2d(radius, module.weight.abs(), None, module.stride, module.padding,
                         module.dilation, module.groups)  # fmt: skip
        return Box(out_c - out_r, out_c + out_r)
    if isinstance(module, nn.Linear):
        out_c, out_r = module(centre), F.linear(radius, module.weight.abs())
        result = Box(out_c - out_r, out_c + out_r)
        bias = module.bias if module.bias is not None else torch.zeros_like(out_c[0])
        result.last = (module.weight, bias, box)
        return result
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        if module.training or module.running_var is None:
            raise UnsupportedLayer(f"{type(module).__name__} in training mode (its bounds"
                                   " need the running statistics of eval mode)")  # fmt: skip
        scale = torch.rsqrt(module.running_var + module.eps)
        if module.weight is not None:
            scale = scale * module.weight
        shift = -module.running_mean * scale
        if module.bias is not None:
            shift = shift + module.bias
        shape = (1, -1) + (1,) * (centre.dim() - 2)
        out_c = centre * scale.view(shape) + shift.view(shape)
        out_r = radius * scale.abs().view(shape)
        result = Box(out_c - out_r, out_c + out_r)
        if box.last is not None and centre.dim() == 2:  # Linear then BatchNorm1d: one map
            weight, bias, earlier = box.last
            result.last = (scale[:, None] * weight, scale * bias + shift, earlier)
        return result
    if isinstance(module, (nn.AvgPool2d, nn.AdaptiveAvgPool2d)):  # positive weights
        return Box(module(box.lower), module(box.upper))
    raise AssertionError(module)


AFFINE_MODULES = (nn.Conv2d, nn.Linear, nn.modules.batchnorm._BatchNorm, nn.AvgPool2d,
                  nn.AdaptiveAvgPool2d)  # fmt: skip


def _module_box(module: nn.Module, box: Box, name: str) -> Box:
    if isinstance(module, NOT_MONOTONE):
        raise UnsupportedLayer(f"layer {name} ({type(module).__name__}) is not monotone:"
                               " its interval bounds are not written here")  # fmt: skip
    if isinstance(module, AFFINE_MODULES):
        return _affine(module, box)
    if isinstance(module, MONOTONE_MODULES):
        if isinstance(module, nn.Dropout) and module.training:
            raise UnsupportedLayer(f"layer {name} (Dropout) in training mode")
        if isinstance(module, (nn.Dropout, nn.Identity)):  # the identity in eval mode
            return box
        if type(module) is nn.ReLU:
            return _relu(module, box)
        return _monotone(module, box)
    raise UnsupportedLayer(f"layer {name} ({type(module).__name__}) has no interval bounds"
                           " here; supported: Conv2d, Linear, BatchNorm (eval), ReLU, MaxPool2d,"
                           " AvgPool2d, Flatten, Dropout (eval) and the like")  # fmt: skip


class IntervalNetwork:
    """A network read once (torch.fx), whose ``bounds(lower, upper)`` is the Box of its
    outputs for inputs between ``lower`` and ``upper`` (normalised, as the network takes
    them). UnsupportedLayer, naming it, where a layer or call has no rule here."""

    def __init__(self, model: nn.Module) -> None:
        import torch.fx

        self.model = model
        try:
            self.graph = torch.fx.symbolic_trace(model).graph
        except Exception as error:  # fx raises many kinds on data-dependent code
            first = (
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            )
            raise UnsupportedLayer(f"the network's forward cannot be read as a graph"
                                   f" ({first[:200]})") from None  # fmt: skip
        self.modules = dict(model.named_modules())
        for node in self.graph.nodes:  # refuse before any work, naming the first bad layer
            if node.op == "call_module":
                module = self.modules[node.target]
                if not isinstance(module, AFFINE_MODULES + MONOTONE_MODULES) or isinstance(
                    module, NOT_MONOTONE
                ):
                    _module_box(module, Box(torch.zeros(1), torch.zeros(1)), node.target)
            elif node.op == "call_function" and node.target not in MONOTONE_FUNCTIONS | {
                operator.add, operator.getitem}:  # fmt: skip
                raise UnsupportedLayer(f"the call {getattr(node.target, '__name__', node.target)}"
                                       " in forward has no interval bounds here")  # fmt: skip
            elif node.op == "call_method" and node.target not in SHAPE_METHODS | {"size"}:
                raise UnsupportedLayer(f"the method .{node.target}() in forward has no"
                                       " interval bounds here")  # fmt: skip

    def bounds(self, lower: torch.Tensor, upper: torch.Tensor) -> Box:
        values: dict[str, object] = {}

        def value(argument):
            if isinstance(argument, torch.fx.Node):
                return values[argument.name]
            if isinstance(argument, (tuple, list)):
                return type(argument)(value(a) for a in argument)
            return argument

        import torch.fx

        for node in self.graph.nodes:
            if node.op == "placeholder":  # NHWC: oneDNN's convolutions are ~2x faster so
                if lower.dim() == 4:
                    lower = lower.contiguous(memory_format=torch.channels_last)
                    upper = upper.contiguous(memory_format=torch.channels_last)
                values[node.name] = Box(lower, upper)
            elif node.op == "get_attr":
                values[node.name] = getattr(self.model, node.target)
            elif node.op == "call_module":
                values[node.name] = _module_box(self.modules[node.target],
                                                value(node.args[0]), node.target)  # fmt: skip
            elif node.op == "call_function":
                values[node.name] = self._function(node, [value(a) for a in node.args],
                                                   {k: value(v) for k, v in node.kwargs.items()})  # fmt: skip
            elif node.op == "call_method":
                target, *rest = [value(a) for a in node.args]
                kwargs = {k: value(v) for k, v in node.kwargs.items()}
                if node.target == "size":
                    values[node.name] = target.lower.size(*rest, **kwargs)
                else:
                    values[node.name] = (_relu if node.target == "relu" else _monotone)(
                        lambda t, m=node.target, r=rest, k=kwargs: getattr(t, m)(*r, **k), target
                    )
            elif node.op == "output":
                return value(node.args[0])
        raise AssertionError("a graph without output")

    @staticmethod
    def _function(node, args, kwargs):
        target = node.target
        if target is operator.getitem:
            return args[0][args[1]]
        if target is operator.add:
            a, b = args
            if isinstance(a, Box) and isinstance(b, Box):
                return Box(a.lower + b.lower, a.upper + b.upper)
            box, constant = (a, b) if isinstance(a, Box) else (b, a)
            return Box(box.lower + constant, box.upper + constant)
        box, *rest = args
        through = _relu if target in (torch.relu, F.relu) else _monotone
        return through(lambda t: target(t, *rest, **kwargs), box)


def _lowest_over(coefficients: torch.Tensor, box: Box, rows=slice(None)) -> torch.Tensor:
    """min over the box (its images ``rows``) of ``coefficients @ h`` ((N, K, H))."""
    lower, upper = box.lower.flatten(1)[rows], box.upper.flatten(1)[rows]
    centre, radius = (upper + lower) / 2, (upper - lower) / 2
    return (torch.einsum("nkh,nh->nk", coefficients, centre)
            - torch.einsum("nkh,nh->nk", coefficients.abs(), radius))  # fmt: skip


def _backward(difference: torch.Tensor, constant: torch.Tensor, hidden: Box,
              rows: torch.Tensor) -> torch.Tensor | None:  # fmt: skip
    """CROWN's lower bound of ``difference @ relu(z) + constant`` for the images ``rows``,
    where ``hidden`` is the ReLU's output and ``z`` = W a + b the Linear before it (see the
    module); None where the network does not end so."""
    before = hidden.relu_of
    if before is None or before.last is None:
        return None
    weight, bias, earlier = before.last
    low, high = before.lower.flatten(1)[rows], before.upper.flatten(1)[rows]
    crossing = (low < 0) & (high > 0)
    chord = torch.where(crossing, high / (high - low).clamp_min(1e-12), (low >= 0).to(low.dtype))
    chord_shift = torch.where(crossing, -chord * low, torch.zeros_like(low))
    beneath = ((low >= 0) | (crossing & (high > -low))).to(low.dtype)  # 1: identity; 0: zero
    # a positive weight takes the line beneath, a negative one the chord above
    rising, falling = difference.clamp(min=0), difference.clamp(max=0)
    through = rising * beneath[:, None, :] + falling * chord[:, None, :]  # weights on z
    constant = (constant + torch.einsum("nkh,nh->nk", falling, chord_shift)
                + torch.einsum("nkh,h->nk", through, bias))  # fmt: skip
    return _lowest_over(through @ weight, earlier, rows) + constant


def margins(box: Box, labels: torch.Tensor, backward: bool = False) -> torch.Tensor:
    """Lower bounds of ``z_y - z_j`` for each image and class j ((N, classes); 0 at j = y),
    through the network's last affine map where it ends in one (see the module), else from
    the logits' bounds (``lower_y - upper_j``); ``backward``: also through the ReLU and the
    Linear before that map (CROWN) for the images the first bound leaves unproven, keeping
    the larger of the two bounds."""
    rows = torch.arange(len(labels), device=labels.device)
    if box.last is None:
        lowest = box.lower[rows, labels][:, None] - box.upper
    else:
        weight, bias, earlier = box.last
        difference = weight[labels][:, None, :] - weight[None, :, :]  # (N, classes, hidden)
        constant = bias[labels][:, None] - bias[None, :]
        lowest = _lowest_over(difference, earlier) + constant
        if backward:
            open_ = lowest.clone()
            open_[rows, labels] = 1.0
            unproven = rows[(open_ <= 0).any(dim=1)]
            if len(unproven):
                tighter = _backward(difference[unproven], constant[unproven], earlier, unproven)
                if tighter is not None:
                    lowest[unproven] = torch.maximum(lowest[unproven], tighter)
    lowest = lowest.clone()
    lowest[rows, labels] = 0.0
    return lowest


def pixel_box(pixels: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The L-infinity box of radius ``eps`` around images in [0, 1], clipped to valid
    pixels, then normalised as the networks take them (a monotone map: each end apart)."""
    from engine.data import MEAN, STD

    lower = (pixels - eps).clamp(0.0, 1.0)
    upper = (pixels + eps).clamp(0.0, 1.0)
    return (lower - MEAN) / STD, (upper - MEAN) / STD


def certified(network: IntervalNetwork, pixels: torch.Tensor, labels: torch.Tensor,
              eps: float, backward: bool = True) -> torch.Tensor:  # fmt: skip
    """Which images are proven: no perturbation within ``eps`` changes the prediction
    (``backward``: with CROWN's bound through the last layers too)."""
    lowest = margins(network.bounds(*pixel_box(pixels, eps)), labels, backward)
    others = torch.ones_like(lowest, dtype=torch.bool)
    others[torch.arange(len(labels)), labels] = False
    return (lowest > 0).masked_fill(~others, True).all(dim=1)
