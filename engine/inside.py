"""Looking inside a trained model (study §4): predictions, filters, activations."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from engine.data import Split, normalise
from engine.errors import SettingError

CONV_LAYERS = ("conv1", "conv2")


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
    model: nn.Module, split: Split, indices: list[int], batch_size: int = 1000
) -> list[Prediction]:
    """Softmax probabilities of ``model`` for the images at ``indices``."""
    for index in indices:
        check_index(split, index)
    found: list[Prediction] = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(indices), batch_size):
            chunk = torch.tensor(indices[start : start + batch_size], dtype=torch.long)
            probs = F.softmax(model(normalise(split.images[chunk])).float(), dim=1)
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


def misclassified(model: nn.Module, split: Split, batch_size: int = 1000) -> list[int]:
    """Indices of the images ``model`` gets wrong."""
    predictions = predict(model, split, list(range(len(split))), batch_size)
    return [p.index for p in predictions if p.predicted != p.label]


def conv_layer(model: nn.Module, layer: str) -> nn.Conv2d:
    if layer not in CONV_LAYERS:
        raise SettingError(f"layer must be one of {', '.join(CONV_LAYERS)}, not {layer!r}")
    return getattr(model, layer)


def conv1_filters(model: nn.Module) -> torch.Tensor:
    """conv1's 32 filters, (32, 3, 3)."""
    return conv_layer(model, "conv1").weight.detach()[:, 0].cpu().clone()


def conv2_filter(model: nn.Module, k: int) -> torch.Tensor:
    """conv2's filter ``k`` at each of its 32 input depths, (32, 3, 3)."""
    weight = conv_layer(model, "conv2").weight.detach()
    if not 0 <= k < weight.shape[0]:
        raise SettingError(f"conv2 filter {k} does not exist: choose 0-{weight.shape[0] - 1}")
    return weight[k].cpu().clone()


def activations(model: nn.Module, image: torch.Tensor, layer: str = "conv1") -> torch.Tensor:
    """Feature maps of ``layer`` after its ReLU (and BatchNorm, where the model has one)
    for one uint8 image (28, 28): (32, 28, 28) for conv1, (32, 14, 14) for conv2."""
    conv_layer(model, layer)
    norm_name = {"conv1": "bn1", "conv2": "bn2"}[layer]
    source = getattr(model, norm_name, None) or getattr(model, layer)
    captured: list[torch.Tensor] = []
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
