"""Sections on what the network does inside (study §4), for the report's first run."""

from __future__ import annotations

from engine.analyses.inside import ACTIVATIONS, FILTERS, OCCLUSION, PREDICTIONS
from engine.report import figures
from engine.report.context import Context
from engine.report.document import Figure, Section, Text, study_paragraph
from engine.report.sections.drawn import draws


@draws("predict")
def predictions(ctx: Context) -> Section:
    from engine.inside.network import misclassified

    subject = ctx.subject()
    run = ctx.subject_run
    section = Section("predictions", f"Looking inside {run.label}")
    section.add(study_paragraph(4, "**Predictions**"))
    values = PREDICTIONS.values(PREDICTIONS.given("report"))
    shown = PREDICTIONS.run(subject, values).predictions
    chosen = [p.index for p in shown]
    images = subject.test.images[chosen].numpy()
    titles = [f"#{p.index} true {p.label}\ncalled {p.predicted}" for p in shown]
    section.add(Figure("predictions-random", figures.image_grid(images, titles, 8),
                       f"{len(shown)} random test images (seed {values['seed']}) with their true"
                       " and predicted labels"))  # fmt: skip
    wrong = misclassified(subject.model, subject.test)
    if wrong:
        first = wrong[: len(shown)]
        shown = PREDICTIONS.run(subject, {"image": tuple(first)}).predictions
        titles = [f"#{p.index} true {p.label}\ncalled {p.predicted} {p.probability:.0%}"
                  for p in shown]  # fmt: skip
        section.add(Figure("predictions-wrong", figures.image_grid(
            subject.test.images[first].numpy(), titles, 8),
            f"The first {len(first)} of the {len(wrong)} misclassified test images, with the"
            " label given and its probability"))  # fmt: skip
    return section


@draws("filters", "activations")
def filters(ctx: Context) -> Section:
    """Each convolution's filters (a layer reading several channels: its filter 0 at each
    input depth), and the first two convolutions' maps of the study's image; the layers are
    the network's own (engine.models.layers)."""
    from engine.models.layers import convolutions

    subject = ctx.subject()
    section = Section("filters", "Filters and activations", sub=True)
    section.add(study_paragraph(4, "**Filters**"))
    convs = [name for name, _ in convolutions(subject.model)] or [None]
    for layer in convs:
        shown = FILTERS.run(subject, {"layer": layer})
        weights = shown.weights.numpy()
        section.add(Figure(f"filters-{shown.layer}", figures.image_grid(
            weights, shown.titles, 8, shown.title, symmetric=True, colorbar="weight",
            tile=0.7 if weights.shape[-1] <= 7 else 1.2),
            f"{shown.title}, red positive and blue negative weights"))  # fmt: skip
    if convs == [None]:
        return section  # no convolution: no feature maps
    section.add(study_paragraph(4, "**Activations**"))
    for layer in convs[:2]:
        result = ACTIVATIONS.run(subject, {"layer": layer})
        maps = result.maps.numpy()
        count, size = maps.shape[0], maps.shape[-1]
        section.add(Figure(f"activations-{layer}", figures.image_grid(
            maps, [str(i) for i in range(count)], 8,
            f"{layer}: {count} maps of {size}x{size} for test image {result.index}",
            cmap="magma", colorbar="activation", tile=0.7),
            f"The {count} activation maps of {layer} after its ReLU for test image"
            f" {result.index}, a {result.label}"))  # fmt: skip
    return section


@draws("occlude")
def occlusion(ctx: Context) -> Section:
    subject = ctx.subject()
    result = OCCLUSION.run(subject, cancel=ctx.cancel)  # the declared defaults: the study's
    image, label = subject.test.images[result.index], result.label
    section = Section("occlusion", "Occlusion", sub=True)
    section.add(study_paragraph(4, "**Occlusion**"))
    offsets = [str(o) for o in result.offsets]
    section.add(Figure("occlusion-image", figures.image_grid(
        image[None].numpy(), [f"test image {result.index}: a {label}"], 1, tile=2.0),
        f"Test image {result.index}, a {label}"))  # fmt: skip
    section.add(Figure("occlusion-true", figures.heatmap(
        result.true_probability.numpy(), offsets, offsets,
        f"probability of {label} with the patch at each position", "probability",
        "patch column (px)", "patch row (px)", vmin=0, vmax=1, annotate="{:.2f}"),
        f"Map of the probability of the true class {label} with a {result.patch}x{result.patch}"
        " patch at each position: low where covering the image hurts"))  # fmt: skip
    section.add(Figure("occlusion-predicted", figures.heatmap(
        result.predicted_class.numpy().astype(float), offsets, offsets,
        "class predicted with the patch at each position", "class", "patch column (px)",
        "patch row (px)", cmap="tab10", vmin=-0.5, vmax=9.5, annotate="{:.0f}"),
        "Map of the class predicted with the patch at each position"))  # fmt: skip
    section.add(Text(f"The patch changes the prediction at {result.changed_positions} of"
                     f" {len(offsets) ** 2} positions."))  # fmt: skip
    return section
