"""Looking inside a trained model (study §4): predictions, filters, activations — of any
network, its layers found from the model (engine.models.layers)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from engine.config import RANDOM_IMAGES, SCORING_BATCH
from engine.data import Split, normalise
from engine.errors import SettingError
from engine.models.layers import HOOKED, convolutions, execution_order, linears
from engine.models.layers import layer as find_layer


@dataclass(frozen=True)
class Prediction:
    """The model's verdict on one image."""

    index: int
    label: int
    predicted: int
    probability: float  # of the predicted class
    probabilities: list[float]


def check_index(split: Split, index: int) -> None:
    if not 0 <= index < len(split):
        raise SettingError(
            f"image index {index} is out of range: the set has {len(split)} (0-{len(split) - 1})"
        )


def predict(
    model: nn.Module,
    split: Split,
    indices: list[int],
    batch_size: int = SCORING_BATCH,
    temperature: float = 1.0,
) -> list[Prediction]:
    """Softmax probabilities of ``model`` for the images at ``indices`` (of the logits divided
    by ``temperature``: engine.beyond.calibration)."""
    for index in indices:
        check_index(split, index)
    found: list[Prediction] = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(indices), batch_size):
            chunk = torch.tensor(indices[start : start + batch_size], dtype=torch.long)
            probs = F.softmax(model(normalise(split.images[chunk])).float() / temperature, dim=1)
            confidence, predicted = probs.max(1)
            for i, index in enumerate(chunk.tolist()):
                found.append(
                    Prediction(
                        index=index,
                        label=int(split.labels[index]),
                        predicted=int(predicted[i]),
                        probability=float(confidence[i]),
                        probabilities=probs[i].tolist(),
                    )
                )
    return found


def misclassified(model: nn.Module, split: Split, batch_size: int = SCORING_BATCH) -> list[int]:
    """Indices of the images ``model`` gets wrong."""
    predictions = predict(model, split, list(range(len(split))), batch_size)
    return [p.index for p in predictions if p.predicted != p.label]


@dataclass(frozen=True)
class Filters:
    """Pictures of a layer's weights: (n, h, w), each titled."""

    layer: str
    weights: torch.Tensor
    titles: list[str]
    title: str

    def to_dict(self) -> dict:
        return {"layer": self.layer, "title": self.title, "weights": self.weights.tolist()}

    def summary(self) -> str:
        w = self.weights
        return f"{self.title}; weights from {float(w.min()):.3f} to {float(w.max()):.3f}"


# A network without convolutions shows at most this many of its first layer's units.
MOST_UNITS = 32


def filters(model: nn.Module, layer: str | None = None, index: int | None = None) -> Filters:
    """A convolution's filters (``layer``; default the first): every filter where it reads
    one input channel, else filter ``index`` (default 0) at each of its input depths. A
    network with no convolution shows its first layer's weights as 28x28 pictures instead
    (``index``: from that unit on)."""
    convs = convolutions(model)
    if not convs:
        return _unit_pictures(model, layer, index)
    name = layer or convs[0][0]
    weight = find_layer(model, name).weight.detach().cpu()
    count, depth, height, width = weight.shape
    if depth == 1 and index is None:
        return Filters(name, weight[:, 0].clone(), [f"f{i}" for i in range(count)],
                       f"{name}: {count} filters ({height}x{width})")  # fmt: skip
    k = 0 if index is None else index
    if not 0 <= k < count:
        raise SettingError(f"{name} filter {k} does not exist: choose 0-{count - 1}")
    return Filters(name, weight[k].clone(), [f"d{i}" for i in range(depth)],
                   f"{name} filter {k}: its {height}x{width} kernel at each of the {depth}"
                   " input depths")  # fmt: skip


def _unit_pictures(model: nn.Module, layer: str | None, index: int | None) -> Filters:
    fcs = linears(model)
    name = layer or fcs[0][0]
    fc = find_layer(model, name, nn.Linear)
    if fc.in_features != 28 * 28:
        raise SettingError(f"{name} reads {fc.in_features} values, not a 28x28 image: only"
                           " the first layer's weights are pictures")  # fmt: skip
    first = index or 0
    if not 0 <= first < fc.out_features:
        raise SettingError(f"{name} unit {first} does not exist: choose 0-{fc.out_features - 1}")
    last = min(first + MOST_UNITS, fc.out_features)
    weights = fc.weight.detach().cpu()[first:last].reshape(-1, 28, 28).clone()
    return Filters(name, weights, [f"u{i}" for i in range(first, last)],
                   f"{name}: units {first}-{last - 1} of {fc.out_features}, their weights on"
                   " the 28x28 image (a network without convolutions has no filters; these"
                   " are its first layer's)")  # fmt: skip


def activations(model: nn.Module, image: torch.Tensor, layer: str | None = None) -> torch.Tensor:
    """Feature maps of a convolution (``layer``; default the first) after its ReLU, and
    after its BatchNorm where one follows it, for one uint8 image (28, 28): (channels, h, w)."""
    convs = convolutions(model)
    if not convs:
        raise SettingError("this network has no convolution, so no feature maps to show")
    name = layer or convs[0][0]
    find_layer(model, name)
    order = execution_order(model)
    at = [n for n, _ in order].index(name)
    following = order[at + 1][1] if at + 1 < len(order) else None
    norm = isinstance(following, nn.BatchNorm2d)
    source = following if norm else dict(order)[name]
    captured: list[torch.Tensor] = []
    with HOOKED:
        hook = source.register_forward_hook(lambda m, i, out: captured.append(out.detach()))
        model.eval()
        try:
            with torch.inference_mode():
                model(normalise(image.unsqueeze(0)))
        finally:
            hook.remove()
    return F.relu(captured[0][0]).cpu()


def centred(image: torch.Tensor) -> torch.Tensor:
    """A uint8 drawing (28, 28) shifted so its centre of mass sits at the centre, as the
    MNIST digits were prepared; a blank image is returned as it is."""
    weights = image.float()
    total = weights.sum()
    if total == 0:
        return image
    rows = torch.arange(image.shape[0], dtype=torch.float32)
    cols = torch.arange(image.shape[1], dtype=torch.float32)
    centre_row = (weights.sum(1) * rows).sum() / total
    centre_col = (weights.sum(0) * cols).sum() / total
    shift = (
        round(image.shape[0] / 2 - 0.5 - centre_row.item()),
        round(image.shape[1] / 2 - 0.5 - centre_col.item()),
    )
    shifted = torch.zeros_like(image)
    src_r = slice(max(0, -shift[0]), image.shape[0] - max(0, shift[0]))
    dst_r = slice(max(0, shift[0]), image.shape[0] - max(0, -shift[0]))
    src_c = slice(max(0, -shift[1]), image.shape[1] - max(0, shift[1]))
    dst_c = slice(max(0, shift[1]), image.shape[1] - max(0, -shift[1]))
    shifted[dst_r, dst_c] = image[src_r, src_c]
    return shifted


def classify(model: nn.Module, image: torch.Tensor) -> list[float]:
    """Softmax probabilities of the ten classes for one uint8 image (28, 28)."""
    model.eval()
    with torch.inference_mode():
        return F.softmax(model(normalise(image.unsqueeze(0))).float(), dim=1)[0].tolist()


@dataclass(frozen=True)
class Activations:
    """The feature maps of one convolution for one test image: (channels, h, w)."""

    layer: str
    index: int
    label: int
    maps: torch.Tensor

    def to_dict(self) -> dict:
        return {"layer": self.layer, "index": self.index, "label": self.label,
                "maps": self.maps.tolist()}  # fmt: skip

    def summary(self) -> str:
        count, height, width = self.maps.shape
        silent = int((self.maps.flatten(1).amax(1) == 0).sum())
        return (f"{self.layer}: {count} maps of {height}x{width} for test image {self.index};"
                f" {silent} silent (all zero), the largest value {float(self.maps.max()):.2f}")  # fmt: skip


def filters_of(subject, layer: str | None, filter: int | None, emit=None, cancel=None) -> Filters:
    return filters(subject.model, layer, filter)


def activations_of(subject, image: int, layer: str | None, emit=None, cancel=None) -> Activations:
    subject.check_index(image)
    maps = activations(subject.model, subject.test.images[image], layer)
    name = layer or convolutions(subject.model)[0][0]
    return Activations(name, image, int(subject.test.labels[image]), maps)


@dataclass(frozen=True)
class Predictions:
    predictions: list[Prediction]

    def to_dict(self) -> dict:
        return {"predictions": [p.__dict__ for p in self.predictions]}

    def summary(self) -> str:
        right = sum(p.predicted == p.label for p in self.predictions)
        return f"{right} of {len(self.predictions)} right"


def predictions_of(subject, image: tuple[int, ...] | None, random: int | None, wrong: bool,
                   seed: int, temperature: str | None = None, emit=None,
                   cancel=None) -> Predictions:  # fmt: skip
    """The named test images, or ``random`` (default 12) picked with ``seed`` — among the
    misclassified ones with ``wrong``; probabilities at ``temperature`` (a number, or fit)."""
    import random as chance

    from engine.beyond.calibration import temperature_of

    scale = temperature_of(subject, temperature)
    if image:
        if wrong:
            raise SettingError("--wrong picks images itself; leave out --image")
        indices = list(image)
    else:
        pool = misclassified(subject.model, subject.test) if wrong else range(len(subject.test))
        pool = list(pool)
        count = min(random or RANDOM_IMAGES, len(pool))
        indices = sorted(chance.Random(seed).sample(pool, count))
    for index in indices:
        subject.check_index(index)
    return Predictions(predict(subject.model, subject.test, indices, temperature=scale))
