"""Sections beyond the original study: attribution maps with their faithfulness, robust
training, and a study's statistics over seeds. Each appears only where it has something to
say (a study named, a defended run among the report's runs)."""

from __future__ import annotations

from engine.analyses.inside import ATTRIBUTION
from engine.columns import percent
from engine.report import figures
from engine.report.context import Context
from engine.report.document import Figure, Section, Table, Text, study_paragraph
from engine.report.sections.drawn import draws
from engine.study_text import study_paragraphs

DEFENCE_WORDS = {"fgsm-rs": "FGSM with a random start (Wong et al. 2020)",
                 "pgd": "PGD (Madry et al. 2018)", "trades": "TRADES (Zhang et al. 2019)"}  # fmt: skip


@draws("attribute")
def attribution(ctx: Context) -> Section:
    subject = ctx.subject()
    explanation = ATTRIBUTION.run(subject, cancel=ctx.cancel)  # the declared defaults
    target, maps, (fractions, random_curve) = (explanation.target, explanation.maps,
                                               explanation.random_curve)  # fmt: skip
    section = Section("attribution", "Attribution: which pixels made it say that?")
    section.add(study_paragraph(4, "**Attribution**"))
    section.add(Figure("attribution-maps", figures.image_grid(
        [m.attribution for m in maps], [m.method for m in maps], 4,
        f"test image {explanation.index}, class {target}", symmetric=True, colorbar="attribution",
        tile=1.9),
        f"{len(maps)} attribution maps of test image {explanation.index} for class {target}, red toward"
        " the class and blue away from it"))  # fmt: skip
    series = {m.method: (m.deletion_fraction, m.deletion_probability) for m in maps}
    series["random order"] = (fractions, random_curve)
    section.add(Figure("attribution-deletion", figures.line_chart(
        series, f"probability of {target} as pixels are removed", "share of pixels removed",
        "probability", ylim=(0, 1.02)),
        "Deletion curves: the probability of the class as pixels are removed in each map's"
        " order, and in a random order"))  # fmt: skip
    rows = [[m.method, f"{m.deletion_area:.3f}"] for m in explanation.ranking()]
    rows.append(["random order", f"{explanation.random_area:.3f}"])
    section.add(Table(["method", "deletion area (lower: more faithful)"], rows))
    section.add(study_paragraph(4, "*Faithfulness*"))
    return section


def defences(ctx: Context) -> Section | None:
    defended = [r for r in ctx.runs if r.config.defended]
    if not defended:
        return None
    section = Section("defences", "Robust training")
    section.add(*(Text(p) for p in study_paragraphs(7)[:5]))
    rows, curves = [], {}
    for run in defended:
        c, s = run.config, run.summary
        rows.append([run.label, DEFENCE_WORDS.get(c.adversarial, c.adversarial), f"{c.eps:g}",
                     percent(s.test_accuracy), percent(s.robust_val_accuracy),
                     f"{s.train_seconds:.0f} s" if s.train_seconds else "-",
                     str(len(run.state.collapses))])  # fmt: skip
        epochs = [e.epoch for e in run.state.epochs]
        curves[f"{run.label} clean"] = (epochs, [100 * e.val_accuracy for e in run.state.epochs])
        curves[f"{run.label} robust"] = (
            epochs,
            [100 * (e.robust_val_accuracy or 0) for e in run.state.epochs],
        )
    section.add(Table(["run", "defence", "eps", "clean test", "robust val (best)", "training",
                       "collapses"], rows))  # fmt: skip
    section.add(Figure("defences-curves", figures.line_chart(
        curves, "validation accuracy: clean and under PGD", "epoch", "accuracy (%)",
        ylim=(0, 100)),
        "Line chart of clean and robust validation accuracy per epoch of each defended run"))  # fmt: skip
    return section


def study(ctx: Context) -> Section | None:
    if ctx.study is None:
        return None
    from engine.studies.stats import group_curves, report

    result = report(ctx.home, ctx.study)
    section = Section("study", f"Study {result.name}: seeds and intervals")
    section.add(Text(
        "Each group was trained with several seeds; the table gives the mean, the standard"
        " deviation and the 95% confidence interval of the mean (Student's t), and each group is"
        " compared with the first by a paired t-test over the seeds they share."))  # fmt: skip
    labels, rows = result.table()
    section.add(Table(labels, rows, " ".join(["Each figure over the seeds: mean ± sd [95%"
                                              " interval], accuracies in %, times as measured.",
                                              *result.notes()])))  # fmt: skip
    if result.comparisons:  # a study of one group compares nothing
        section.add(Table(["each group against the first, over the seeds both finished"],
                          [[c.line()] for c in result.comparisons]))  # fmt: skip
    curves = group_curves(ctx.home, ctx.study)
    series = {k: (xs, [100 * m for m in means]) for k, (xs, means, _) in curves.items()}
    bands = {k: ([100 * (m - s) for m, s in zip(means, sds, strict=True)],
                 [100 * (m + s) for m, s in zip(means, sds, strict=True)])
             for k, (xs, means, sds) in curves.items()}  # fmt: skip
    section.add(Figure("study-curves", figures.line_chart(
        series, "validation accuracy per epoch: mean and one sd over seeds", "epoch",
        "accuracy (%)", bands=bands),
        "Line chart of each group's mean validation accuracy per epoch with a band of one"
        " standard deviation over its seeds"))  # fmt: skip
    return section
