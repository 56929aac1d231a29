"""Models seen from pixel space: images in [0, 1], normalisation inside the model, so that
attacks and occlusion work on real pictures whatever the normalisation."""

from __future__ import annotations

import torch
from torch import nn

from engine.data import MEAN, STD


def to_pixels(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (n, 28, 28) to float pixels (n, 1, 28, 28) in [0, 1]."""
    return images.unsqueeze(1).float().div_(255.0)


class PixelModel(nn.Module):
    """A trained model's own copy, in eval mode, taking pixels in [0, 1]; returns logits.

    The copy is what attacks, occlusion and attribution work on: its weights are out of
    autograd (input gradients only, about a third less work) and laid out channels-last,
    while the network handed in — which the app's workers share — is never changed (see
    engine.subject)."""

    def __init__(self, model: nn.Module) -> None:
        import copy

        super().__init__()
        # NHWC convolutions are about 2x faster with oneDNN on the CPU, in exact float32.
        # (Outside inference mode, so the weights stay usable for input gradients.)
        with torch.inference_mode(False):
            own = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)
            self.model = own.requires_grad_(False)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        normalised = ((pixels - MEAN) / STD).contiguous(memory_format=torch.channels_last)
        return self.model(normalised)
