"""Through training: the subject run's first convolution, its occlusion map of the study's
image and its two most confused classes at several moments of its training, from the
snapshots it kept (engine.runs.snapshots), and how the gradient's size moved through its layers
(engine.inside.histograms)."""

from __future__ import annotations

import numpy as np

from engine.analyses.inside import FILTERS, HISTOGRAMS, OCCLUSION
from engine.errors import UserFacing
from engine.report import figures
from engine.report.context import Context
from engine.report.document import Figure, Section, Table, Text
from engine.report.sections.drawn import draws

MOMENTS = 6  # pictures side by side: enough to see the change, few enough to read
FILTERS_SHOWN = 8


def chosen_moments(kept: list[str], most: int = MOMENTS) -> list[str]:
    """Up to ``most`` of the kept moments, where a network changes most first: the start,
    the first and last early batch kept, the first epoch, the middle one and the last."""
    if len(kept) <= most:
        return kept
    early = [m for m in kept if m.startswith("batch:")]
    epochs = [m for m in kept if m.startswith("epoch:")]
    wanted = [
        kept[0],
        *early[:1],
        *early[-1:],
        *epochs[:1],
        *epochs[len(epochs) // 2 : len(epochs) // 2 + 1],
        *epochs[-1:],
    ]
    spare = [m for m in epochs if m not in wanted]  # the rest spread over the epochs
    room = most - len(set(wanted))
    if room > 0 and spare:
        wanted += [spare[i] for i in np.linspace(0, len(spare) - 1, room).round().astype(int)]
    return [m for m in kept if m in wanted][:most]


@draws("histograms")
def through_training(ctx: Context) -> Section | None:
    from engine.runs import snapshots
    from engine.subject import Subjects

    run = ctx.subject_run
    section = Section("through-training", "Through training")
    try:
        kept = snapshots.moments(run.dir)
    except UserFacing as error:
        return section.add(Text(f"Not made: {error}. A run trained now keeps them"
                                " (`--snapshots all`, the default)."))  # fmt: skip
    if not kept:  # trained with --snapshots none (or imported): nothing through time to show
        return section.add(Text(f"Not made: run {run.label} kept no snapshots (trained with"
                                " `--snapshots none`, or imported). A run trained with"
                                " `--snapshots all`, the default, keeps them."))  # fmt: skip
    moments = chosen_moments(kept)
    source = Subjects(ctx.home)  # each moment's model loaded once, the test images once
    subjects = {m: source.get(run.dir, m) for m in moments}
    section.add(Text(
        f"The run {run.label} at {len(moments)} of the {len(kept)} moments it kept"
        f" ({', '.join(moments)}; `start` is before the first batch, `batch:N` after N"
        " batches of the first epoch, `epoch:N` at the end of epoch N). Every analysis can"
        " be run at any of them: `--epoch N` or `--at MOMENT`, and `,` `.` (space plays) on"
        " the app's picture screens."))  # fmt: skip
    _filters(section, subjects)
    ctx.check_cancel()
    _occlusion(section, subjects, ctx)
    ctx.check_cancel()
    _confusions(section, ctx, source, run, kept)
    ctx.check_cancel()
    _gradients(section, ctx, source, run, kept, moments)
    return section


def _filters(section: Section, subjects: dict) -> None:
    tiles, titles, layer = [], [], None
    for moment, subject in subjects.items():
        shown = FILTERS.run(subject, {"layer": None})
        layer = shown.layer
        weights = shown.weights.numpy()[:FILTERS_SHOWN]
        tiles.extend(weights)
        titles.extend(f"{moment} · {i}" if i == 0 else str(i) for i in range(len(weights)))
    columns = len(tiles) // len(subjects)
    section.add(Figure("through-filters", figures.image_grid(
        np.stack(tiles), titles, columns, f"{layer}: its first {columns} filters at each moment",
        symmetric=True, colorbar="weight", tile=0.75),
        f"{layer}'s first {columns} filters (a row per moment, the first column names it), on"
        " one colour scale for the whole figure: red positive, blue negative weights"))  # fmt: skip


def _occlusion(section: Section, subjects: dict, ctx: Context) -> None:
    maps, titles, result = [], [], None
    for moment, subject in subjects.items():
        result = OCCLUSION.run(subject, cancel=ctx.cancel)
        maps.append(result.true_probability.numpy())
        titles.append(moment)
    section.add(Figure("through-occlusion", figures.image_grid(
        np.stack(maps), titles, len(maps), f"probability of {result.label} (test image"
        f" {result.index}) with the patch at each position", cmap="viridis",
        colorbar="probability", tile=1.3, vmin=0, vmax=1),
        f"Occlusion of the study's image, a {result.label}, at each moment: a"
        f" {result.patch}x{result.patch} patch at each position, the probability of the true"
        " class on one scale from 0 to 1 (dark: covering there changes the answer)"))  # fmt: skip


def _confusions(section: Section, ctx: Context, source, run, kept: list[str]) -> None:
    from engine.training.evaluation import evaluate

    epochs = [m for m in kept if m.startswith("epoch:")]
    if not epochs:
        return
    split = ctx.splits(run)[0].val
    matrices = []
    for moment in epochs:
        model = source.get(run.dir, moment).model
        matrices.append(np.array(evaluate(model, split).confusion(split.labels)))
        ctx.check_cancel()
    # the pair most confused over the whole run, in either direction
    total = np.sum(matrices, axis=0)
    np.fill_diagonal(total, 0)
    both = total + total.T
    a, b = np.unravel_index(np.argmax(np.triu(both, 1)), both.shape)
    xs = [int(m.split(":")[1]) for m in epochs]
    series = {f"{a} taken for {b}": (xs, [int(m[a, b]) for m in matrices]),
              f"{b} taken for {a}": (xs, [int(m[b, a]) for m in matrices])}  # fmt: skip
    section.add(Figure("through-confusion", figures.line_chart(
        series, f"the two classes most confused over the run, {a} and {b}, epoch by epoch",
        "epoch", f"validation images (of {len(split):,})"),
        f"How many validation images of {a} were called {b}, and of {b} called {a}, at the"
        " end of each epoch"))  # fmt: skip


def _gradients(section: Section, ctx: Context, source, run, kept: list[str],
               chosen: list[str]) -> None:  # fmt: skip
    results = []
    for moment in kept:
        results.append(HISTOGRAMS.run(source.get(run.dir, moment)))
        ctx.check_cancel()
    layers = [s.layer for s in results[0].layers]
    xs = list(range(len(kept)))
    series = {name: (xs, [r.layers[i].ratio for r in results]) for i, name in enumerate(layers)}
    panels = {name: {m: (r.layers[i].weights.counts, r.layers[i].weights.low,
                         r.layers[i].weights.high)
                     for m, r in zip(kept, results, strict=True) if m in chosen}
              for i, name in enumerate(layers)}  # fmt: skip
    section.add(Figure("through-weights", figures.histogram_panels(
        panels, "each layer's weights at each moment", "weight"),
        "How each layer's weights are spread at the moments above (counts on a log scale, each"
        " histogram over its own range): they start as the initialisation drew them and"
        " spread out as the layer learns"))  # fmt: skip
    section.add(Figure("through-gradients", figures.line_chart(
        series, "each layer's gradient against its weights, moment by moment", "moment",
        "|gradient| / |weights|", log_y=True, size=(6.4, 3.8), xticks=kept),
        "The size of each layer's gradient (of the loss on the first"
        f" {results[0].images} test images) against its weights' at each kept moment, log"
        " scale: how much a step would change the layer"))  # fmt: skip
    last = results[-1]
    rows = [[s.layer, f"{s.weights.low:+.3f} to {s.weights.high:+.3f}", f"{s.weight_norm:.3g}",
             f"{s.gradient_norm:.3g}", f"{s.ratio:.2e}"] for s in last.layers]  # fmt: skip
    section.add(Table(["layer", "weights", "|weights|", "|gradient|", "ratio"], rows,
                      f"At {kept[-1]}: each layer's weights and gradient (`mnist-tui histograms"
                      f" RUN --through` prints them for every moment)"))  # fmt: skip
    warned = [
        f"at {m}, {line}" for m, r in zip(kept, results, strict=True) for line in r.warnings()
    ]
    section.add(Text("Warnings: " + "; ".join(warned) + "." if warned else
                     "No layer's gradient vanished or exploded at any kept moment."))  # fmt: skip
