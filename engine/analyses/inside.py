"""The analyses that look inside the network (study §4), declared once."""

from __future__ import annotations

from engine.analyses.declaration import (
    IMAGE_NUMBER,
    Analysis,
    count,
    image,
    parameter,
    register,
    seed,
)
from engine.config import (
    EMBEDDING_IMAGES,
    EMBEDDING_METHODS,
    HISTOGRAM_BINS,
    OCCLUSION_FILL,
    OCCLUSION_PATCH,
    OCCLUSION_STRIDE,
    RANDOM_IMAGES,
    TOP_IMAGES_SHOWN,
)
from engine.inside.attribution_methods import METHODS


def layer_name(help: str):
    return parameter("layer", str, None, help, optional=True, metavar="NAME",
                     noun="a layer's name")  # fmt: skip


OCCLUSION = register(Analysis(
    name="occlude", title="Occlusion", study_section="4",
    about="occlusion maps: where covering the image changes the answer",
    compute="engine.inside.occlusion:occlusion_of",
    parameters=(
        image(),
        count("patch", OCCLUSION_PATCH, "patch size in pixels", maximum=28),
        count("stride", OCCLUSION_STRIDE, "step between positions, in pixels", maximum=14),
        parameter("fill", float, OCCLUSION_FILL, "the patch's pixel value (0: black)", minimum=0,
                  maximum=1),
    ),
))  # fmt: skip

ATTRIBUTION = register(Analysis(
    name="attribute", title="Attribution", study_section="4",
    about=f"attribution maps by {len(METHODS)} methods side by side, with their faithfulness",
    description="Which pixels made the network say what it said, for one test image and"
    " class, by each method — " + "; ".join(f"{name}: {m.about}" for name, m in METHODS.items())
    + " (all but occlusion from Captum) — each with its deletion curve (remove the most"
    " important pixels first; the faster P(class) falls, the more faithful the map). The mean"
    " map of each digit: `mnist-tui class-view`.",
    compute="engine.inside.attribution:explanation_of",
    parameters=(
        image(),
        parameter("method", str, "all", "the method, or all of them",
                  choices=(*METHODS, "all")),
        parameter("target", int, None, "the class to explain (blank: the predicted one)",
                  minimum=0, maximum=9, optional=True, metavar="T"),
        layer_name("Grad-CAM's convolution (blank: the last one)"),
    ),
))  # fmt: skip


CLASS_VIEW = register(Analysis(
    name="class-view", title="Attribution by class", study_section="4",
    about="each attribution method's mean map over the correctly classified images of a digit",
    description="What each method says the network looks at for each digit: its map averaged"
    " over the correctly classified test images of that digit (all methods but occlusion,"
    " whose 64 passes an image are too slow for thousands; name it with --method to have it).",
    compute="engine.inside.attribution:class_view_of", in_app=False, in_report=False,
    parameters=(
        parameter("method", str, "all", "the method, or all of them but occlusion",
                  choices=(*METHODS, "all")),
        count("limit", None, "the first N test images (blank: all)", optional=True,
              metavar="N"),
    ),
))  # fmt: skip


FILTERS = register(Analysis(
    name="filters", title="Filters", study_section="4",
    about="a convolution's filters (a network without one: its first layer's weights)",
    compute="engine.inside.network:filters_of",
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
    compute="engine.inside.network:activations_of",
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
    compute="engine.inside.histograms:histograms_of", in_report=False,
    parameters=(
        layer_name("only this layer (blank: every convolution and linear layer)"),
        count("bins", HISTOGRAM_BINS, "bars in each histogram", low=2, maximum=200),
    ),
))  # fmt: skip


TOP_IMAGES = register(Analysis(
    name="top-images", title="What a channel responds to",
    about="the test images that excite a convolution's channel most, and where it looks",
    description="For one channel of a convolution: the test images on which its output is"
    " strongest, each with the part of the image its strongest output sees (its receptive"
    " field at the peak; the rest dimmed), beside the channel's filter; a channel whose output"
    " never rises above 0 on the test set is said to be dead.",
    compute="engine.inside.channels:top_images_of", study_section="4",
    parameters=(
        layer_name("the convolution (blank: the first)"),
        count("channel", 0, "the channel (its filter's number)", low=0, maximum=4096, metavar="K"),
        count("count", TOP_IMAGES_SHOWN, "how many images", maximum=100),
    ),
    givens={"report": {"count": 6}},  # a row of each of its channels fits the page
))  # fmt: skip


EMBEDDING = register(Analysis(
    name="embedding", title="The map of what it learned",
    about="the test images' features at a layer in 2-D (PCA or t-SNE), one colour per digit",
    description="What a layer makes of the test images: its input features (default: what the"
    " last linear layer reads), projected to two dimensions by scikit-learn's PCA (default:"
    " deterministic and fast) or t-SNE (with --seed), each image drawn as its digit in its"
    " colour, misclassified ones marked; the silhouette score says how well the true classes"
    " separate in the features (-1 to 1). With --epoch N or --at, at that moment of training.",
    compute="engine.inside.embedding:embedding_of", study_section="4",
    parameters=(
        layer_name("the layer whose input is mapped (blank: the last linear layer)"),
        parameter("method", str, "pca", "pca (deterministic, fast) or tsne (slower, seeded)",
                  choices=EMBEDDING_METHODS),
        count("images", EMBEDDING_IMAGES, "how many test images (the first ones)", low=10,
              maximum=10_000),
        seed("t-SNE's seed"),
    ),
))  # fmt: skip


CONFUSIONS = register(Analysis(
    name="confusions", title="Confusions as pictures",
    about="which digits are taken for which, most often first, and the images of a pair",
    description="The (true, predicted) pairs the network gets wrong on the test set, most"
    " frequent first, and the test images of one pair (--pair 4,9: fours taken for nines;"
    " default: the most confused pair), the most confidently wrong first, with the"
    " probability of the wrong and of the right class.",
    compute="engine.inside.confusions:confusions_of", study_section="4",
    parameters=(
        parameter("pair", int, None, "the true digit, then the predicted one (blank: the most"
                  " confused pair)", minimum=0, maximum=9, many=True, most=2, optional=True,
                  metavar="T,P"),
        count("count", 16, "how many of its images", maximum=1000),
    ),
    givens={"report": {"count": 6}},  # one row of the page
))  # fmt: skip


PREDICTIONS = register(Analysis(
    name="predict", title="Predictions", study_section="4",
    about="test images with true and predicted labels",
    compute="engine.inside.network:predictions_of",
    parameters=(
        parameter("image", int, None, "these test images" + IMAGE_NUMBER, minimum=0,
                  many=True, most=100, optional=True, metavar="I", aliases=("--index",)),
        count("random", None, f"this many random images (blank: {RANDOM_IMAGES})", optional=True,
              maximum=1000, metavar="N"),
        parameter("wrong", bool, False, "pick among the misclassified images"),
        seed("for --random"),
        parameter("temperature", str, None, "show the probabilities of the logits divided by T:"
                  " a number, or fit (fitted on the validation split, as `mnist-tui"
                  " calibration`; the fast recipe's label smoothing makes them look less sure"
                  " than they are)", optional=True, metavar="T|fit",
                  noun="a number above 0, or fit"),
    ),
    givens={"report": {"random": 16}},  # the report's page of random images (seed 0)
))  # fmt: skip
