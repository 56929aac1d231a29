"""Sections on breaking the network (study §5): class synthesis, the targeted image, the
adding-noise matrix (first run) and the FGSM and PGD robustness curves (every run). Each runs
its declared analysis with the report's values, named beside the declaration
(``Analysis.givens["report"]``)."""

from __future__ import annotations

import numpy as np

from engine.analyses.attacks import (
    NOISE,
    REPORT_ATTACKS,
    REPORT_SOURCE,
    ROBUSTNESS,
    SYNTHESIZE,
    TARGETED,
    eps_cells,
    eps_columns,
)
from engine.config import synthesis_budget
from engine.report import figures
from engine.report.context import Context
from engine.report.document import Figure, Section, Table, Text, study_paragraph
from engine.report.sections.drawn import draws


@draws("synthesize")
def synthesis(ctx: Context) -> Section:
    values = SYNTHESIZE.values(SYNTHESIZE.given("report"))
    result = SYNTHESIZE.run(ctx.subject(), values, cancel=ctx.cancel)
    steps = values["steps"]
    section = Section("synthesis", "Breaking it: class synthesis")
    section.add(study_paragraph(5, "All of these"))
    section.add(study_paragraph(5, "**Class synthesis**"))
    titles = [f"class {k}\np={p:.3f}" for k, p in zip(result.classes, result.probabilities,
                                                         strict=True)]  # fmt: skip
    section.add(Figure("synthesis-images", figures.image_grid(
        result.images[:, 0].numpy(), titles, 10, vmin=0, vmax=1),
        f"Ten images synthesised from noise by {steps:,} steps, one per class, with"
        " the probability the network gives that class"))  # fmt: skip
    curve = np.array(result.logit_curve)
    series = {str(k): (result.curve_steps, curve[:, i].tolist()) for i, k in
              enumerate(result.classes)}  # fmt: skip
    section.add(Figure("synthesis-logits", figures.line_chart(
        series, "logit of the target class against the step", "step", "logit"),
        "Line chart of each class's logit rising over the synthesis steps"))  # fmt: skip
    size = synthesis_budget(values["method"], steps, values["step_size"])[1]
    section.add(Text(f"{steps:,} steps of {size:g} (the study ran 10,000; the logits"
                     " have flattened well before the end, as the chart shows)."))  # fmt: skip
    return section


@draws("targeted")
def targeted(ctx: Context) -> Section:
    from engine.attacks.noise import first_correct

    subject = ctx.subject()
    source = REPORT_SOURCE
    index = first_correct(subject.model, subject.test, source)
    values = TARGETED.values(TARGETED.given("report", image=index))
    target, beta = values["target"], values["beta"]
    result = TARGETED.run(subject, values, cancel=ctx.cancel)
    section = Section("targeted", "The targeted image", sub=True)
    section.add(study_paragraph(5, "**Targeted image**"))
    pictures = np.stack([result.reference[0].numpy(), result.image[0].numpy()])
    section.add(Figure("targeted-images", figures.image_grid(
        pictures, [f"test #{index}: a {source}", f"called {result.predicted}"
                   f" (p={result.probability:.3f})"], 2, vmin=0, vmax=1, tile=1.8),
        f"The real {source} (test image {index}) and the image formed near it that the network"
        f" calls {result.predicted}"))  # fmt: skip
    section.add(Figure("targeted-curve", figures.line_chart(
        {f"p({target})": (result.curve_steps, result.probability_curve)},
        f"probability of {target} against the step (beta {beta:g})", "step",
        "probability", ylim=(0, 1.02)),
        f"Line chart of the probability of {target} over the steps"))  # fmt: skip
    crossed = f"after {result.crossed_at:,} steps" if result.crossed_at is not None else "never"
    section.add(Text(f"The probability of {target} passed 0.5 {crossed}; the final image is"
                     f" {result.mse:.4f} from the real {source} in mean squared error."))  # fmt: skip
    return section


@draws("noise")
def noise(ctx: Context) -> Section:
    values = NOISE.values(NOISE.given("report"))
    result = NOISE.run(ctx.subject(), values, cancel=ctx.cancel)
    digits = list(range(10))
    steps = np.full((10, 10), np.nan)
    size = np.full((10, 10), np.nan)
    for source, target, n, linf in zip(result.sources, result.targets, result.steps,
                                       result.linf, strict=True):  # fmt: skip
        if n is not None:
            steps[source, target], size[source, target] = n, linf
    section = Section("noise", "Adding noise", sub=True)
    section.add(study_paragraph(5, "**Adding noise**"))
    labels = [str(d) for d in digits]
    section.add(Figure("noise-steps", figures.heatmap(
        steps, labels, labels, "steps until image + noise is called the target", "steps",
        "target", "source digit", annotate="{:.0f}"),
        "Matrix of the steps needed to turn an image of each source digit into each target"))  # fmt: skip
    section.add(Figure("noise-size", figures.heatmap(
        size, labels, labels, "largest pixel change of the noise (L-infinity)", "pixel change",
        "target", "source digit", cmap="magma", annotate="{:.2f}"),
        "Matrix of the size of the noise needed for each source and target digit"))  # fmt: skip
    missed = int(np.isnan(steps).sum()) - 10
    section.add(Text(f"Every pair of different digits, one correctly classified test image per"
                     f" source, at most {values['max_steps']:,} steps; {90 - missed} of 90 pairs reached"
                     " their target."))  # fmt: skip
    return section


@draws("robustness", "certify")
def robustness(ctx: Context) -> Section:
    """The study's curves for every run, and under PGD's the band down to what interval
    bounds prove on the same images (``mnist-tui robustness --certify``)."""
    from engine.attacks.catalogue import ATTACKS

    names = " and ".join(a.upper() for a in REPORT_ATTACKS)
    section = Section("robustness", f"Robustness to {names}, and what is proven", sub=True)
    section.add(study_paragraph(5, "**Robustness**"))
    section.add(study_paragraph(7, "What the attacks leave"))
    curves, bands, rows = {}, {}, []
    strongest = REPORT_ATTACKS[-1]
    for run in ctx.runs:
        ctx.check_cancel()
        subject = ctx.subject(run)
        for attack in REPORT_ATTACKS:
            values = ROBUSTNESS.values(ROBUSTNESS.given("report", attack=attack,
                                                        certify=attack == strongest))  # fmt: skip
            points = ROBUSTNESS.run(subject, values, cancel=ctx.cancel).points
            eps = list(values["eps"])
            name = f"{run.label} {attack.upper()}"
            curves[name] = (eps, [100 * p.accuracy for p in points])
            rows.append([run.label, attack.upper(), *eps_cells(points)])
            if attack == strongest:
                proven = [100 * p.certified_accuracy for p in points]
                bands[name] = (proven, curves[name][1])
                rows.append([run.label, "proven", *(f"{v / 100:.1%}" for v in proven)])
    section.add(Figure("robustness-curves", figures.line_chart(
        curves, f"test accuracy against eps; shaded under {strongest.upper()}: down to what"
        " is proven", "eps (L-infinity, pixels of 0-1)", "accuracy (%)", ylim=(0, 100),
        bands=bands),
        f"Line chart of test accuracy against eps under {names} for each run; under"
        f" {strongest.upper()} a shaded band reaches down to the accuracy proven by interval"
        " bounds"))  # fmt: skip
    section.add(Table(eps_columns(["run", "attack"], eps), rows,
                      f"Accuracy under attack on the same first {values['limit']:,} test images;"
                      f" {'; '.join(ATTACKS[a].words(values) for a in REPORT_ATTACKS)}. 'proven':"
                      " the share of those images that interval bounds prove no change within"
                      " eps can turn (a lower bound on the true robust accuracy; the attack's"
                      " figure is an upper one)."))  # fmt: skip
    return section
