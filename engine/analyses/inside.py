"""The analyses that look inside the network (study §4), declared once."""

from __future__ import annotations

from engine.analyses.declaration import Analysis, count, image, parameter, register, seed
from engine.config import (
    ATTRIBUTION_METHODS,
    HISTOGRAM_BINS,
    OCCLUSION_PATCH,
    OCCLUSION_STRIDE,
    RANDOM_IMAGES,
)


def layer_name(help: str):
    return parameter("layer", str, None, help, optional=True, metavar="NAME",
                     noun="a layer's name")  # fmt: skip


OCCLUSION = register(Analysis(
    name="occlude", title="Occlusion", study_section="4",
    about="occlusion maps: where covering the image changes the answer",
    compute="engine.occlusion:occlusion_of",
    parameters=(
        image(),
        count("patch", OCCLUSION_PATCH, "patch size in pixels", maximum=28),
        count("stride", OCCLUSION_STRIDE, "step between positions, in pixels", maximum=14),
        parameter("fill", float, 0.0, "the patch's pixel value (0: black)", minimum=0,
                  maximum=1),
    ),
))  # fmt: skip

ATTRIBUTION = register(Analysis(
    name="attribute", title="Attribution", study_section="4",
    about=f"attribution maps by {len(ATTRIBUTION_METHODS)} methods side by side, with their"
    " faithfulness",
    description="Which pixels made the network say what it said: saliency, input x"
    " gradient, integrated gradients, SmoothGrad, Grad-CAM, DeepLIFT (all from Captum) and"
    " occlusion, for one test image and class, each with its deletion curve (remove the"
    " most important pixels first; the faster P(class) falls, the more faithful the map)."
    " With --class-view, each method's mean map over the correctly classified images of"
    " each digit.",
    compute="engine.attribution:explanation_of",
    parameters=(
        image(),
        parameter("method", str, "all", "the method, or all of them",
                  choices=(*ATTRIBUTION_METHODS, "all")),
        parameter("target", int, None, "the class to explain (blank: the predicted one)",
                  minimum=0, maximum=9, optional=True, metavar="T"),
        layer_name("Grad-CAM's convolution (blank: the last one)"),
    ),
))  # fmt: skip


FILTERS = register(Analysis(
    name="filters", title="Filters", study_section="4",
    about="a convolution's filters (a network without one: its first layer's weights)",
    compute="engine.inside:filters_of",
    parameters=(
        layer_name("the convolution (blank: the first)"),
        count("filter", None, "where the layer reads several channels: the filter shown at"
              " each input depth (blank: 0); a network without convolutions: the first unit",
              low=0, optional=True, metavar="K"),
    ),
))  # fmt: skip

ACTIVATIONS = register(Analysis(
    name="activations", title="Activations", study_section="4", in_app=False,
    about="a convolution's feature maps for a test image",
    compute="engine.inside:activations_of",
    parameters=(image(), layer_name("the convolution (blank: the first; the command without"
                                     " --json shows each in turn)")),
))  # fmt: skip


HISTOGRAMS = register(Analysis(
    name="histograms", title="Weight and gradient histograms", study_section="3",
    about="each layer's weights and gradients: their spread, and where they vanish or explode",
    description="Each convolution's and linear layer's weights and their gradient (of the loss"
                " on the first test images) as histograms, with the gradient's size against"
                " the weights'. With --epoch or --at, at that moment of training; with"
                " --through, that size for every moment kept.",
    compute="engine.histograms:histograms_of", in_report=False,
    parameters=(
        layer_name("only this layer (blank: every convolution and linear layer)"),
        count("bins", HISTOGRAM_BINS, "bars in each histogram", low=2, maximum=200),
    ),
))  # fmt: skip


PREDICTIONS = register(Analysis(
    name="predict", title="Predictions", study_section="4",
    about="test images with true and predicted labels",
    compute="engine.inside:predictions_of",
    parameters=(
        parameter("image", int, None, "these test images", minimum=0, maximum=10**7,
                  many=True, most=100, optional=True, metavar="I", aliases=("--index",)),
        count("random", None, f"this many random images (blank: {RANDOM_IMAGES})", optional=True,
              maximum=1000, metavar="N"),
        parameter("wrong", bool, False, "pick among the misclassified images"),
        seed("for --random"),
    ),
))  # fmt: skip
