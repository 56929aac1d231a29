"""What a convolution's channel responds to: the test images that excite it most, each with
the part of the image its strongest output sees (its receptive field at the peak), beside
the channel's filter — as CNN Explainer and Lucid's dataset examples show it. A channel
whose output never rises above zero on the test set never fires after its ReLU: dead.

The receptive field is worked out from the layers' geometry (kernel, stride, padding of each
convolution and pooling up to the layer, in the order the network defines them, as the zoo's
networks run them); it is clipped to the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.config import TOP_IMAGES_SHOWN
from engine.data import Split, normalise
from engine.errors import UserFacing
from engine.inside.scan import scan_layer
from engine.models.layers import convolutions


@dataclass(frozen=True)
class Field:
    """How the outputs of a layer map to input pixels: output (y, x) sees the square of
    ``size`` pixels centred on pixel ``centre + y * jump`` (and the same across)."""

    size: int
    jump: int
    centre: float

    def box(self, y: int, x: int, side: int = 28) -> tuple[int, int, int, int]:
        """(top, left, bottom, right), bottom and right exclusive, clipped to the image."""
        half = (self.size - 1) / 2
        top = round(self.centre + y * self.jump - half)
        left = round(self.centre + x * self.jump - half)
        return (max(0, top), max(0, left), min(side, top + self.size),
                min(side, left + self.size))  # fmt: skip


def receptive_field(model: nn.Module, layer: nn.Module) -> Field:
    """The receptive field of ``layer``'s outputs, from the geometry of every convolution and
    pooling defined before it (and itself): each widens the field by (kernel - 1) input steps
    and multiplies the step by its stride."""
    size, jump, centre = 1, 1, 0.0
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
            kernel, stride, padding = (_first(module.kernel_size), _first(module.stride),
                                       _first(module.padding))  # fmt: skip
            kernel = _first(getattr(module, "dilation", 1)) * (kernel - 1) + 1
            centre += ((kernel - 1) / 2 - padding) * jump
            size += (kernel - 1) * jump
            jump *= stride
        if module is layer:
            break
    return Field(size, jump, centre)


def _first(value) -> int:
    return int(value[0] if isinstance(value, tuple | list) else value)


def channel_peaks(model: nn.Module, layer: nn.Module, split: Split) -> torch.Tensor:
    """Each test image's strongest output of each channel of ``layer``: (images, channels)."""
    return scan_layer(model, layer, split, lambda output: output.amax(dim=(2, 3)))


@dataclass(frozen=True)
class TopImages:
    """The images that excite one channel most, where, and the channel's filter."""

    layer: str
    channel: int
    channels: int
    indices: list[int]
    labels: list[int]
    activations: list[float]  # each image's strongest output of the channel
    peaks: list[tuple[int, int]]  # where it is, in the layer's output
    boxes: list[tuple[int, int, int, int]]  # the pixels it sees: top, left, bottom, right
    field: int  # the receptive field's side, in pixels
    filter: list[list[float]]  # the channel's kernel (averaged over its input depths)
    input_depths: int
    highest: float  # the channel's strongest output over the whole test set
    firing: float  # the share of test images on which it rises above 0 anywhere

    @property
    def dead(self) -> bool:
        return self.highest <= 0

    def to_dict(self) -> dict:
        return {"layer": self.layer, "channel": self.channel, "channels": self.channels,
                "dead": self.dead, "highest": self.highest, "firing": self.firing,
                "field": self.field, "input_depths": self.input_depths, "filter": self.filter,
                "images": [{"index": i, "label": label, "activation": a, "peak": list(p),
                            "box": list(b)}
                           for i, label, a, p, b in zip(self.indices, self.labels,
                                                        self.activations, self.peaks,
                                                        self.boxes, strict=True)]}  # fmt: skip

    def summary(self) -> str:
        where = f"{self.layer} channel {self.channel} (of {self.channels})"
        if self.dead:
            return (f"{where} is dead: its output never rises above 0 on the test set, so its"
                    " ReLU never passes anything")  # fmt: skip
        return (f"{where}: the {len(self.indices)} test images that excite it most, outputs"
                f" {self.activations[0]:.3g} down to {self.activations[-1]:.3g}; it fires on"
                f" {self.firing:.0%} of the test images; each output sees {self.field}x"
                f"{self.field} pixels")  # fmt: skip


def top_images(model: nn.Module, split: Split, layer: str | None = None, channel: int = 0,
               count: int = TOP_IMAGES_SHOWN) -> TopImages:  # fmt: skip
    """The ``count`` test images of ``split`` on which ``layer``'s ``channel`` is strongest."""
    convs = convolutions(model)
    if not convs:
        raise UserFacing("this network has no convolution: top images are for conv channels")
    names = [name for name, _ in convs]
    if layer is None:
        layer = names[0]
    if layer not in names:
        raise UserFacing(f"no convolution named {layer!r} (it has: {', '.join(names)})")
    module = dict(convs)[layer]
    if not 0 <= channel < module.out_channels:
        raise UserFacing(f"{layer} has channels 0-{module.out_channels - 1}, not {channel}")
    peaks = channel_peaks(model, module, split)[:, channel]
    count = min(count, len(peaks))
    strongest = torch.topk(peaks, count).indices.tolist()
    field = receptive_field(model, module)
    where, values = _peak_positions(model, module, split, strongest, channel)
    weights = module.weight.detach().float().cpu()[channel]
    return TopImages(
        layer=layer, channel=channel, channels=module.out_channels, indices=strongest,
        labels=[int(split.labels[i]) for i in strongest], activations=values,
        peaks=where, boxes=[field.box(y, x) for y, x in where], field=field.size,
        filter=weights.mean(0).tolist(), input_depths=weights.shape[0],
        highest=float(peaks.max()), firing=float((peaks > 0).float().mean()),
    )  # fmt: skip


def _peak_positions(model, module, split: Split, indices: list[int], channel: int):
    """Where in ``module``'s output each chosen image peaks, and the peak's value."""
    seen: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: seen.append(out.detach().float()))
    try:
        with torch.inference_mode():
            model(normalise(split.images[indices]))
    finally:
        handle.remove()
    maps = seen[0][:, channel].cpu()
    flat = maps.flatten(1).argmax(1)
    width = maps.shape[-1]
    where = [(int(i) // width, int(i) % width) for i in flat]
    values = [float(maps[n].flatten()[i]) for n, i in enumerate(flat)]
    return where, values


def field_picture(image, box: tuple[int, int, int, int]):
    """A uint8 digit as [0, 1] floats with what a channel's output sees (``box``: top, left,
    bottom, right) outlined in mid-grey and the rest dimmed: the pictures of the top images
    in the CLI, the app and the report."""
    import numpy as np

    picture = np.asarray(image, dtype=np.float64) / 255
    top, left, bottom, right = box
    seen = np.full_like(picture, 0.3)
    seen[top:bottom, left:right] = 1.0
    picture = picture * seen
    frame = np.zeros_like(picture, dtype=bool)
    frame[top:bottom, [left, right - 1]] = True
    frame[[top, bottom - 1], left:right] = True
    return np.where(frame, np.maximum(picture, 0.5), picture)


def top_images_of(subject, layer: str | None, channel: int, count: int, emit=None,
                  cancel=None) -> TopImages:  # fmt: skip
    """The analysis (engine.analyses): on the subject's test images."""
    return top_images(subject.model, subject.test, layer, channel, count)
