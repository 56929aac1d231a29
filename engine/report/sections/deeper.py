"""Looking deeper, with pictures: what the first convolution's most active channels respond
to, the map of what the network learned with its silhouette, and its confusions as images.
Each runs its declared analysis (engine.analyses) on the report's first run."""

from __future__ import annotations

import numpy as np

from engine.analyses import ANALYSES
from engine.report import figures
from engine.report.context import Context
from engine.report.document import Figure, Section, Text
from engine.report.sections.drawn import draws

CHANNELS = 4  # the first convolution's channels shown, the most often firing first


@draws("top-images")
def top_images(ctx: Context) -> Section:
    from engine.inside.channels import channel_peaks, field_picture
    from engine.models.layers import convolutions

    analysis = ANALYSES["top-images"]
    section = Section("top-images", analysis.title)
    subject = ctx.subject()
    convs = convolutions(subject.model)
    if not convs:
        return section.add(Text("Not made: this network has no convolution."))
    name, conv = convs[0]
    firing = (channel_peaks(subject.model, conv, subject.test) > 0).float().mean(0)
    chosen = sorted(range(conv.out_channels), key=lambda k: -float(firing[k]))[:CHANNELS]
    count = analysis.values(analysis.given("report"))["count"]  # a row a channel
    pictures, titles = [], []
    for channel in chosen:
        found = analysis.run(subject, analysis.given("report", layer=name, channel=channel),
                             cancel=ctx.cancel)  # fmt: skip
        for i, (index, box) in enumerate(zip(found.indices, found.boxes, strict=True)):
            pictures.append(field_picture(subject.test.images[index].numpy(), box))
            titles.append(f"channel {channel}: #{index}" if i == 0 else f"#{index}")
    section.add(Text(
        f"For {CHANNELS} channels of {name} (those firing on the most test images), the"
        f" {count} test images on which each responds most, a row a channel; each output of"
        f" {name} sees a {found.field}x{found.field}-pixel patch, drawn bright with the rest"
        " dimmed. `mnist-tui top-images RUN --layer L --channel K` for any channel."))  # fmt: skip
    section.add(Figure("top-images", figures.image_grid(
        np.stack(pictures), titles, count, f"{name}: the test images each channel responds to"
        " most", vmin=0, vmax=1, tile=0.85),
        f"{name}'s channels {', '.join(map(str, chosen))}: their strongest test images, the"
        " receptive field at the peak bright (grey scale 0-1)"))  # fmt: skip
    return section


@draws("embedding")
def embedding(ctx: Context) -> Section:
    analysis = ANALYSES["embedding"]
    found = analysis.run(ctx.subject(), cancel=ctx.cancel)
    wrong = [a != b for a, b in zip(found.labels, found.predictions, strict=True)]
    section = Section("embedding", analysis.title)
    section.add(Text(f"{found.summary()[0].upper()}{found.summary()[1:]}. Each digit its own"
                     " colour; the ringed points are the misclassified images. `mnist-tui"
                     " embedding RUN --through` shows the map at every moment of training on"
                     " one set of axes."))  # fmt: skip
    section.add(Figure("embedding", figures.class_scatter(
        found.x, found.y, found.labels, wrong,
        f"{found.layer}: PCA of {len(found.labels):,} test images (silhouette"
        f" {found.silhouette:.3f})"),
        f"The test images' features at {found.layer}, projected to two dimensions by PCA"))  # fmt: skip
    return section


@draws("confusions")
def confusions(ctx: Context) -> Section:
    analysis = ANALYSES["confusions"]
    subject = ctx.subject()
    found = analysis.run(subject, analysis.given("report"), cancel=ctx.cancel)
    section = Section("confusions", analysis.title)
    section.add(Text(f"{found.summary()[0].upper()}{found.summary()[1:]}."))
    matrix = np.array(found.matrix, dtype=np.float64)
    off = np.where(np.eye(len(matrix), dtype=bool), np.nan, matrix)
    section.add(Figure("confusion-matrix", figures.heatmap(
        off, [str(c) for c in subject.classes], [str(c) for c in subject.classes],
        "test images taken for another digit", "images", "predicted", "true",
        cmap="Reds", annotate="{:.0f}", vmin=0),
        "The confusion matrix without its diagonal (the right answers): how many test images"
        " of each digit (rows) were taken for each other digit (columns)"))  # fmt: skip
    if found.indices:
        true, guess = found.pair
        titles = [f"#{i}: P({guess}) {p:.0%}" for i, p in
                  zip(found.indices, found.predicted_probability, strict=True)]  # fmt: skip
        images = np.stack([subject.test.images[i].numpy() / 255 for i in found.indices])
        section.add(Figure("confused-pair", figures.image_grid(
            images, titles, len(titles), f"{true}s taken for {guess}s", vmin=0, vmax=1,
            tile=1.0),
            f"The {len(titles)} test images of the most confused pair, {true} taken for {guess},"
            " the most confidently wrong first"))  # fmt: skip
    return section
