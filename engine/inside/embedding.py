"""The map of what the network learned: the test images' features at a layer (by default what
the last linear layer reads) projected to two dimensions with scikit-learn — PCA by default
(deterministic, fast), t-SNE on request (with its seed) — and how well the true classes
separate there, by the silhouette score of the features themselves (scikit-learn's, on the
full-dimensional features, so the score does not depend on the projection).

Through training, PCA may be fitted once (on the last moment, ``fit``) and applied at every
moment, so that the pictures share their axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from engine.config import EMBEDDING_IMAGES, EMBEDDING_METHODS
from engine.data import Split
from engine.errors import UserFacing
from engine.inside.scan import outputs, scan_layer
from engine.models.layers import linears, weighted

SILHOUETTE_SAMPLE = 2000  # images the silhouette is computed on (it is quadratic in them)


@dataclass(frozen=True)
class Embedding:
    """Each image's 2-D position, label and prediction, and the classes' separation."""

    layer: str
    method: str
    features: int  # the layer's width
    x: list[float]
    y: list[float]
    labels: list[int]
    predictions: list[int]
    indices: list[int]
    silhouette: float
    explained: list[float]  # PCA: the share of variance of each axis ([] for t-SNE)

    def to_dict(self) -> dict:
        return {"layer": self.layer, "method": self.method, "features": self.features,
                "silhouette": self.silhouette, "explained_variance": self.explained,
                "points": [{"index": i, "x": x, "y": y, "label": label, "prediction": p}
                           for i, x, y, label, p in zip(self.indices, self.x, self.y,
                                                        self.labels, self.predictions,
                                                        strict=True)]}  # fmt: skip

    def summary(self) -> str:
        wrong = sum(label != p for label, p in zip(self.labels, self.predictions, strict=True))
        axes = (f"; the axes hold {sum(self.explained):.0%} of the variance" if self.explained
                else "")  # fmt: skip
        return (f"{len(self.labels):,} test images at {self.layer} ({self.features} features),"
                f" {self.method.upper()} to 2-D{axes}; silhouette of the true classes"
                f" {self.silhouette:.3f} (-1 to 1: higher, better separated); {wrong} wrong"
                " marked")  # fmt: skip


def layer_features(model: nn.Module, split: Split, layer: str | None) -> tuple[str, np.ndarray]:
    """The input of ``layer`` (a convolution or linear layer; default: the last linear
    layer) for every image of ``split``, flattened: (images, features)."""
    named = dict(weighted(model))
    if layer is None:
        last = linears(model)
        if not last:
            raise UserFacing("this network has no linear layer: name a --layer")
        layer = last[-1][0]
    if layer not in named:
        raise UserFacing(f"no layer named {layer!r} (it has: {', '.join(named)})")
    features = scan_layer(model, named[layer], split, lambda given: given.flatten(1), inputs=True)
    return layer, features.numpy()


def predictions(model: nn.Module, split: Split) -> np.ndarray:
    return outputs(model, split, lambda logits: logits.argmax(1)).numpy()


def embedding(model: nn.Module, split: Split, layer: str | None = None, method: str = "pca",
              images: int = EMBEDDING_IMAGES, seed: int = 0, fit=None) -> Embedding:  # fmt: skip
    """The first ``images`` test images embedded (``fit``: a fitted PCA to apply instead of
    fitting one here, so moments share their axes)."""
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score

    if method not in EMBEDDING_METHODS:
        raise UserFacing(f"method {method!r}: one of {', '.join(EMBEDDING_METHODS)}")
    part = Split(split.images[:images], split.labels[:images])
    layer, features = layer_features(model, part, layer)
    labels = part.labels.cpu().numpy()
    guessed = predictions(model, part)
    sample = min(SILHOUETTE_SAMPLE, len(labels))
    separation = (float(silhouette_score(features[:sample], labels[:sample]))
                  if len(set(labels[:sample].tolist())) > 1 else 0.0)  # fmt: skip
    if method == "pca":
        pca = fit if fit is not None else PCA(n_components=2, random_state=seed).fit(features)
        if fit is not None and pca.n_features_in_ != features.shape[1]:
            raise UserFacing("the fitted axes come from another layer's features")
        points = pca.transform(features)
        explained = [float(v) for v in pca.explained_variance_ratio_]
    else:
        from sklearn.manifold import TSNE

        perplexity = min(30.0, max(2.0, (len(labels) - 1) / 3))
        points = TSNE(n_components=2, random_state=seed, init="pca",
                      perplexity=perplexity).fit_transform(features)  # fmt: skip
        explained = []
    return Embedding(layer, method, features.shape[1], points[:, 0].tolist(),
                     points[:, 1].tolist(), labels.tolist(), guessed.tolist(),
                     list(range(len(labels))), separation, explained)  # fmt: skip


def fitted_pca(model: nn.Module, split: Split, layer: str | None, images: int, seed: int = 0):
    """A PCA fitted on ``model``'s features (the last moment's, for a series of moments)."""
    from sklearn.decomposition import PCA

    _, features = layer_features(model, Split(split.images[:images], split.labels[:images]),
                                 layer)  # fmt: skip
    return PCA(n_components=2, random_state=seed).fit(features)


def through_training(subject_at, moments: list[str], layer: str | None, method: str,
                     images: int, seed: int) -> list[Embedding]:  # fmt: skip
    """The map at each of ``moments`` (``subject_at(moment)`` gives its subject), all on the
    PCA axes of the last one, so that the pictures are comparable. Takes the embedding
    analysis's values (``EMBEDDING.values(...)``), as every front end gives them."""
    if method != "pca":
        raise UserFacing(f"the maps through training share one set of PCA axes: the method"
                         f" must be pca, not {method}")  # fmt: skip
    last = subject_at(moments[-1])
    axes = fitted_pca(last.model, last.test, layer, images, seed)
    return [embedding(s.model, s.test, layer, "pca", images, seed, fit=axes)
            for s in map(subject_at, moments)]  # fmt: skip


def embedding_of(subject, layer: str | None, method: str, images: int, seed: int, emit=None,
                 cancel=None) -> Embedding:  # fmt: skip
    """The analysis (engine.analyses): on the subject's test images."""
    return embedding(subject.model, subject.test, layer, method, images, seed)
