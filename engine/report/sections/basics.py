"""Sections on the data, the networks, training and the test set (study §1-§3)."""

from __future__ import annotations

import numpy as np

from engine.columns import REPORT_RUN_COLUMNS, cells
from engine.config import MODEL_ABOUT, STUDY_MODELS, model_about, model_label
from engine.report import figures
from engine.report.context import Context
from engine.report.document import Figure, Section, Table, Text
from engine.study_text import study_paragraphs


def data(ctx: Context) -> Section:
    splits, classes = ctx.splits()
    counts = {
        name: np.bincount(split.labels.cpu().numpy(), minlength=len(classes)).tolist()
        for name, split in (("train", splits.train), ("validation", splits.val),
                            ("test", splits.test))
    }  # fmt: skip
    section = Section("data", "The data")
    section.add(*(Text(p) for p in study_paragraphs(1)[:2]))
    rows = [[name, *(f"{c:,}" for c in values), f"{sum(values):,}"]
            for name, values in counts.items()]  # fmt: skip
    section.add(Table(["split", *classes, "total"], rows,
                      f"Images per class in each split (seed {ctx.subject_run.config.seed})."))  # fmt: skip
    chart = figures.bar_chart(counts, classes, "images per class", "images")
    return section.add(Figure("data-classes", chart,
                              "Bar chart of the number of images of each digit in the training,"
                              " validation and test splits"))  # fmt: skip


def networks(ctx: Context) -> Section:
    from engine.models.layer_table import summarize_model
    from engine.models.zoo import build_model

    # the study's two networks, and any other network a run of the report trained (a
    # user's file is built from that run's own copy of it)
    made = {name: None for name in STUDY_MODELS}
    for run in ctx.runs:
        made.setdefault(run.config.model, run)
    section = Section("networks", "The networks")
    section.add(Text(study_paragraphs(2)[0]))
    others = [n for n in made if n not in STUDY_MODELS]
    if others:
        section.add(Text("This report's runs also trained " + "; ".join(
            f"`{model_label(n)}` ({model_about(n)})" for n in others) + "."))  # fmt: skip
    for name, run in made.items():
        model = build_model(name) if run is None or name in MODEL_ABOUT else ctx.subject(run).model
        summary = summarize_model(model, name)
        rows = [[r.name, r.kind, "x".join(map(str, r.input_shape)),
                 "x".join(map(str, r.output_shape)), f"{r.parameters:,}", f"{r.neurons:,}",
                 f"{r.mult_adds:,}"] for r in summary.rows]  # fmt: skip
        rows.append(["total", "", "x".join(map(str, summary.input_shape)), "",
                     f"{summary.parameters:,}", f"{summary.neurons:,}",
                     f"{summary.mult_adds:,}"])  # fmt: skip
        section.add(Table(["layer", "kind", "input", "output", "parameters", "neurons",
                           "multiply-adds"], rows,
                          f"{model_label(name)}: measured by running the model layer by layer"
                          " (neurons total includes the input's)."))  # fmt: skip
    return section


def training(ctx: Context) -> Section:
    section = Section("training", "Training")
    section.add(Text(study_paragraphs(3)[0]))
    differing = [line for line in map(_recipe_difference, ctx.runs) if line]
    if differing:
        section.add(Text("The runs here were not all trained by that recipe: "
                         + "; ".join(differing) + "."))  # fmt: skip
    section.add(Table([c.label for c in REPORT_RUN_COLUMNS],
                      cells(REPORT_RUN_COLUMNS, ctx.runs), "The runs of this report."))  # fmt: skip
    loss = {run.label: (_epochs(run), [e.train_loss for e in run.state.epochs]) for run in ctx.runs}
    val_loss = {f"{run.label} val": (_epochs(run), [e.val_loss for e in run.state.epochs])
                for run in ctx.runs}  # fmt: skip
    section.add(Figure("training-loss", figures.line_chart(
        {**{f"{k} train": v for k, v in loss.items()}, **val_loss}, "loss per epoch",
        "epoch", "cross-entropy", log_y=True),
        "Line chart of the training and validation loss of each run against the epoch, on a"
        " logarithmic axis"))  # fmt: skip
    accuracy = {run.label: (_epochs(run), [100 * e.val_accuracy for e in run.state.epochs])
                for run in ctx.runs}  # fmt: skip
    section.add(Figure("training-accuracy", figures.line_chart(
        accuracy, "validation accuracy per epoch", "epoch", "accuracy (%)"),
        "Line chart of each run's validation accuracy against the epoch"))  # fmt: skip
    for run in ctx.runs:
        steps, smoothed = run.state.steps, run.state.smoothed
        if steps:
            section.add(Figure(f"loss-steps-{run.id}", figures.line_chart(
                {"raw": (steps, run.state.losses), "smoothed": (steps, smoothed)},
                f"{run.label}: training loss per batch", "batch", "loss", log_y=True),
                f"Line chart of {run.label}'s training loss at every batch, raw and smoothed"))  # fmt: skip
    return section


# The settings that make the study's recipe, as the report states them when a run differs.
RECIPE = (("epochs", "{} epochs"), ("batch_size", "batches of {}"), ("lr", "learning rate {:g}"),
          ("optimiser", "{}"), ("subset", "a {:,}-image subset"), ("augment", "shifts of {} px"),
          ("adversarial", "the {} defence"))  # fmt: skip


def _recipe_difference(run) -> str:
    """'convnet 1a2b: 2 epochs, batches of 20' — how a run's settings differ from the
    study's recipe (the defaults), or ''."""
    from engine.config import TrainConfig

    recipe = TrainConfig()
    changed = [text.format(getattr(run.config, name)) for name, text in RECIPE
               if getattr(run.config, name) != getattr(recipe, name)]  # fmt: skip
    return f"{run.label}: {', '.join(changed)}" if changed else ""


def _epochs(run) -> list[int]:
    return [e.epoch for e in run.state.epochs]


def batchnorm(ctx: Context) -> Section | None:
    """The BatchNorm comparison: needs a convnet and a convnet-bn run."""
    plain = next((r for r in ctx.runs if r.config.model == STUDY_MODELS[0]), None)
    normed = next((r for r in ctx.runs if r.config.model == "convnet-bn"), None)
    if plain is None or normed is None:
        return None
    section = Section("batchnorm", "BatchNorm or not", sub=True)
    section.add(Text(study_paragraphs(3)[1]))
    rows = []
    for label, get, fmt in (
        ("test accuracy", lambda s: s.test_accuracy, "{:.2%}"),
        ("best validation accuracy", lambda s: s.best_val_accuracy, "{:.2%}"),
        ("training time per image (ms)", lambda s: s.train_ms_per_image, "{:.4f}"),
        ("inference time per image (ms)", lambda s: s.test_ms_per_image, "{:.4f}"),
    ):
        a, b = get(plain.summary), get(normed.summary)
        ratio = f"{b / a:.2f}x" if a and b and "time" in label else (
            f"{100 * (b - a):+.2f} pt" if a is not None and b is not None else "-")  # fmt: skip
        rows.append([label, fmt.format(a) if a is not None else "-",
                     fmt.format(b) if b is not None else "-", ratio])  # fmt: skip
    section.add(Table(["", plain.label, normed.label, "convnet-bn against convnet"], rows,
                      "One run each: differences between seeds are of the same size; a study"
                      " ({section:study}, when one is named) gives intervals."))  # fmt: skip
    return _side_by_side(ctx, section, plain, normed)


def _side_by_side(ctx: Context, section: Section, plain, normed) -> Section:
    """What each network learned, one beside the other (`mnist-tui embedding A --vs B`): the
    map of the test images at the last hidden layer, each with its own PCA."""
    from engine.analyses import ANALYSES

    analysis = ANALYSES["embedding"]
    found = [analysis.run(ctx.subject(run), cancel=ctx.cancel) for run in (plain, normed)]
    panels = [(f.x, f.y, f.labels, [a != b for a, b in zip(f.labels, f.predictions, strict=True)],
               f"{run.label}: silhouette {f.silhouette:.3f}")
              for f, run in zip(found, (plain, normed), strict=True)]  # fmt: skip
    section.add(Text(
        f"What each learned, side by side: the {len(found[0].labels):,} test images' features"
        f" at {found[0].layer}, each network's own PCA. The silhouette of the true classes (-1"
        f" to 1, higher: better separated): {plain.label} {found[0].silhouette:.3f},"
        f" {normed.label} {found[1].silhouette:.3f}. `mnist-tui embedding"
        f" {plain.id} --vs {normed.id}` prints the same; any picture takes --vs, and in the"
        " app two runs picked in the Runs screen (space, then s) show every picture of both"
        " side by side."))  # fmt: skip
    section.add(Figure("batchnorm-embedding", figures.class_scatters(panels),
                       f"The map of what {plain.label} (left) and {normed.label} (right) learned:"
                       " PCA of the features, a colour a digit, the misclassified ringed"))  # fmt: skip
    return section


def test_set(ctx: Context) -> Section:
    section = Section("test", "The test set", sub=True)
    for run in ctx.runs:
        test = run.state.test
        if test is None:
            continue
        classes = [str(i) for i in range(len(test.confusion))]
        section.add(Figure(f"confusion-{run.id}", figures.heatmap(
            test.confusion, classes, classes, f"{run.label}: confusion matrix", "images",
            "predicted", "true", cmap="Blues", annotate="{:.0f}"),
            f"Confusion matrix of {run.label} on the test set: true digit by row, predicted by"
            f" column; {test.test_accuracy:.2%} on the diagonal overall"))  # fmt: skip
        section.add(Text(
            f"{run.label}: test accuracy {test.test_accuracy:.2%}, loss {test.test_loss:.4f};"
            f" inference on the {sum(map(sum, test.confusion)):,} test images took"
            f" {test.seconds:.2f} s ({test.images_per_s:,.0f} images/s)."))  # fmt: skip
    per_class = {run.label: [100 * a for a in run.state.test.per_class_accuracy]
                 for run in ctx.runs if run.state.test}  # fmt: skip
    labels = [str(i) for i in range(len(next(iter(per_class.values()), [])))]
    rows = [[name, *(f"{a:.1f}" for a in values)] for name, values in per_class.items()]
    section.add(Table(["run", *labels], rows, "Test accuracy per class (%)."))
    return section
