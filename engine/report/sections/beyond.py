"""Sections beyond the clean test set (study §9), for every run of the report: the
reliability diagram before and after temperature scaling, accuracy and confidence as the
digits turn, MNIST-C's corruptions with a gallery, and — where the report has several runs on
one test set — those runs as an ensemble. Each runs its declared analysis with the report's
values (``Analysis.givens["report"]``)."""

from __future__ import annotations

from engine.analyses.beyond import CALIBRATION, CORRUPTIONS, SHIFT
from engine.errors import UserFacing
from engine.report import figures
from engine.report.context import Context
from engine.report.document import Figure, Section, Table, Text, study_paragraph
from engine.report.sections.drawn import draws


def sections(ctx: Context) -> list[Section]:
    return [calibration(ctx), shift(ctx), corruptions(ctx), *filter(None, [ensemble(ctx)])]


@draws("calibration")
def calibration(ctx: Context) -> Section:
    section = Section("calibration", "Calibrated confidence", sub=True)
    section.add(study_paragraph(9, "**Calibration**"))
    panels, rows = {}, []
    for run in ctx.runs:
        ctx.check_cancel()
        result = CALIBRATION.run(ctx.subject(run), CALIBRATION.given("report"), cancel=ctx.cancel)
        before, after = result.before, result.after
        panels[f"{run.label}: ECE {before.ece:.2%}, after T {after.ece:.2%}"] = (before.bins,
                                                                                after.bins)  # fmt: skip
        for label, figures_of in (("as trained", before), (f"T = {result.temperature:.3g}", after)):
            rows.append([run.label, label, f"{figures_of.accuracy:.2%}",
                         f"{figures_of.mean_confidence:.2%}", f"{figures_of.ece:.2%}",
                         f"{figures_of.mce:.2%}", f"{figures_of.nll:.4f}",
                         f"{figures_of.brier:.4f}"])  # fmt: skip
    section.add(Figure("reliability", figures.reliability_diagrams(panels),
                       "Reliability diagrams: each confidence bin's accuracy as a bar, before and"
                       " after temperature scaling, against the diagonal; the number over a"
                       " bar is its count of test images"))  # fmt: skip
    section.add(Table(["run", "temperature", "accuracy", "mean confidence", "ECE", "MCE", "NLL",
                       "Brier"], rows,
                      "On the whole test set; T fitted on each run's validation split by NLL"
                      " (no prediction changes)."))  # fmt: skip
    return section


@draws("shift")
def shift(ctx: Context) -> Section:
    values = SHIFT.values(SHIFT.given("report"))
    section = Section("shift", "Under shift: the digits turned", sub=True)
    section.add(study_paragraph(9, "**Shift**"))
    curves, rows, angles = {}, [], []
    for run in ctx.runs:
        ctx.check_cancel()
        curve = SHIFT.run(ctx.subject(run), values, cancel=ctx.cancel)
        angles = [p.amount for p in curve.points]
        curves[f"{run.label} accuracy"] = (angles, [100 * p.accuracy for p in curve.points])
        curves[f"{run.label} confidence"] = (angles,
                                             [100 * p.mean_confidence for p in curve.points])  # fmt: skip
        rows.append([run.label, "accuracy", *(f"{p.accuracy:.1%}" for p in curve.points)])
        rows.append([run.label, "confidence", *(f"{p.mean_confidence:.1%}" for p in curve.points)])
        rows.append([run.label, "ECE", *(f"{p.ece:.1%}" for p in curve.points)])
    section.add(Figure("shift-rotate", figures.line_chart(
        curves, "accuracy and mean confidence as the test digits turn", "rotation (degrees)",
        "%", ylim=(0, 100)),
        "Line chart of each run's accuracy and mean confidence against the angle the test"
        " digits are rotated by"))  # fmt: skip
    section.add(Table(["run", "", *(f"{a:g}°" for a in angles)], rows,
                      "The whole test set rotated about its centre; confidence far above"
                      " accuracy is a network sure of what it gets wrong."))  # fmt: skip
    return section


@draws("corruptions")
def corruptions(ctx: Context) -> Section:
    values = CORRUPTIONS.values(CORRUPTIONS.given("report"))
    section = Section("corruptions", "Natural corruptions (MNIST-C)", sub=True)
    section.add(study_paragraph(9, "**Natural corruptions**"))
    groups, rows, names, shown = {}, [], [], None
    for run in ctx.runs:
        ctx.check_cancel()
        try:
            scores = CORRUPTIONS.run(ctx.subject(run), values, cancel=ctx.cancel)
        except UserFacing as error:  # scikit-image missing: said, and the report goes on
            return section.add(Text(f"Not made: {error}."))
        names = list(scores.accuracy)
        groups[run.label] = [100 * scores.clean, *(100 * scores.accuracy[n] for n in names)]
        rows.append([run.label, f"{scores.clean:.1%}", f"{scores.mean:.1%}",
                     *(f"{scores.accuracy[n]:.1%}" for n in names)])  # fmt: skip
        shown = shown or scores
    section.add(Figure("corruptions", figures.bar_chart(
        groups, ["clean", *names], f"accuracy under each corruption (first {shown.images:,} test"
        " images)", "accuracy (%)", size=(7.2, 3.4), slanted=True, ylim=(0, 100)),
        "Bar chart of each run's accuracy on the clean images and under each of MNIST-C's"
        " fifteen corruptions"))  # fmt: skip
    gallery = [ctx.subject(ctx.runs[0]).test.images[0].numpy(), *shown.examples.values()]
    section.add(Figure("corruption-gallery", figures.image_grid(
        gallery, ["clean", *shown.examples], columns=8, title="the first test image under each",
        vmin=0, vmax=255, colorbar="pixel value (0-255)"),
        "The first test image, clean and under each corruption, on one grey scale"))  # fmt: skip
    section.add(Table(["run", "clean", "mean", *names], rows,
                      f"Accuracy on the first {shown.images:,} test images, the corruptions"
                      " written here from MNIST-C's published code at its severities, each"
                      " image's draws seeded by its index."))  # fmt: skip
    return section


def ensemble(ctx: Context) -> Section | None:
    """The report's runs as one network, where there are several on one test set."""
    from engine.analyses.beyond import CORRUPTED_IMAGES
    from engine.beyond.ensemble import ensemble_of

    if len(ctx.runs) < 2:
        return None
    section = Section("ensemble", "The report's networks as an ensemble", sub=True)
    section.add(study_paragraph(9, "**Ensembles**"))
    try:
        result = ensemble_of([ctx.subject(run) for run in ctx.runs], cancel=ctx.cancel)
    except UserFacing as error:
        return section.add(Text(f"Not made from these runs: {error}."))
    labels = {run.id: run.label for run in ctx.runs}
    angles = list(result.ensemble.rotated_accuracy)
    corrupted = result.ensemble.corruption_accuracy is not None
    rows = [[labels.get(j.name, j.name), f"{j.accuracy:.2%}", f"{j.ece:.2%}", f"{j.nll:.4f}",
             *(f"{j.rotated_accuracy[a]:.2%}" for a in angles),
             *([f"{j.corruption_accuracy:.2%}"] if corrupted else [])]
            for j in (*result.members, result.mean, result.ensemble)]  # fmt: skip
    section.add(Text(result.summary() + "."))
    section.add(Table(["network", "accuracy", "ECE", "NLL", *(f"rotated {a:g}°" for a in angles),
                       *(["MNIST-C mean"] if corrupted else [])], rows,
                      "Their probabilities averaged; the whole test set (MNIST-C: its first"
                      f" {CORRUPTED_IMAGES:,} images)."))  # fmt: skip
    return section
