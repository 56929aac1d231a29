"""Filters and activations: each convolution's filters (a filter K at each input depth
where the layer reads several channels) and each one's feature maps for a chosen test
image — the views come from the network's own layers (a network without convolutions shows
its first layer's weights as pictures)."""

from __future__ import annotations

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import Header, Static

from engine.analyses import ANALYSES
from tui.draw import render
from tui.screens.base import LOADING, ExperimentScreen
from tui.widgets.keys_footer import KeysFooter


def views_of(model) -> list[tuple[str, str | None]]:
    """(kind, layer) for each view: every convolution's filters, then its maps."""
    from engine.models.layers import convolutions

    convs = [name for name, _ in convolutions(model)]
    if not convs:
        return [("filters", None)]
    return [*(("filters", n) for n in convs), *(("activations", n) for n in convs)]


# What it draws, as its entry in catalogue.py says (6: filters and activations).
ANALYSIS = ANALYSES["filters"]
ACTIVATIONS = ANALYSES["activations"]


class FiltersScreen(ExperimentScreen):
    """v cycles the view; [ ] change the filter K; n/p change the image."""

    ANALYSIS = ANALYSIS

    BINDINGS = [
        Binding("v", "next_view", "Next view"),
        Binding("pagedown", "page(1)", "Next maps", key_display="PgDn"),
        Binding("pageup", "page(-1)", "Previous maps", key_display="PgUp"),
        Binding("right_square_bracket", "filter(1)", "K+1", key_display="]"),
        Binding("left_square_bracket", "filter(-1)", "K-1", key_display="["),
        Binding("n", "image(1)", "Next image"),
        Binding("p", "image(-1)", "Previous image"),
        Binding("f", "fixed_scale", "Scale: series/own"),
    ]

    view: reactive[int] = reactive(0)
    """Which of the views (views_of the model) is shown."""
    views: list = [("filters", None)]
    k_views: list = []  # the views that show one filter K

    STUDY_SECTION = ANALYSIS.study_section
    MOMENT_REDRAW = "draw"
    # , and . step through the run's snapshots
    filter_k: reactive[int] = reactive(0)
    """The filter shown at each input depth (or the first unit shown, without convolutions)."""
    image_index: reactive[int] = reactive(0)
    """The test image whose activations are shown."""
    page: reactive[int] = reactive(0)
    """Which page of tiles is shown, when they do not all fit."""
    fixed_scale: reactive[bool] = reactive(False)
    """One colour scale for every moment of the run (f), so that stepping through them
    shows the weights grow; else each picture's own."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="filters-title", classes="title")
        yield Static("", id="tiles")
        yield Static(LOADING, classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self._ranges: dict = {}  # series_range's, by run and view
        self.draw()

    def watch_view(self) -> None:
        self.draw()

    def watch_filter_k(self) -> None:
        self.draw()

    def watch_image_index(self) -> None:
        self.draw()

    def watch_page(self) -> None:
        self.draw()

    def watch_fixed_scale(self) -> None:
        self.draw()

    def action_fixed_scale(self) -> None:
        self.fixed_scale = not self.fixed_scale

    def on_resize(self) -> None:
        self.draw()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def draw(self) -> None:
        subject = self.app.subject()
        colour = self.app.settings.colour
        width = max(self.size.width - 2, 20)
        self.views = views_of(subject.model)
        self.k_views = [i for i, (kind, name) in enumerate(self.views)
                        if kind == "filters" and self.view_takes_k(subject.model, name)]  # fmt: skip
        kind, layer = self.views[self.view % len(self.views)]
        depth_first = self.filter_k if self.view_takes_k(subject.model, layer) else None

        def pictures(at):  # the view's pictures of a subject: this moment's, or another's
            if kind == "filters":
                return ANALYSIS.run(at, {"layer": layer, "filter": depth_first}).weights
            return ACTIVATIONS.run(at, {"image": self.image_index, "layer": layer}).maps

        if kind == "filters":
            shown = ANALYSIS.run(subject, {"layer": layer, "filter": depth_first})
            arrays, cmap = shown.weights, "signed"
            titles = shown.titles if shown.weights.shape[-1] > 7 else None
            title = shown.title + (" ([ ] change K)" if depth_first is not None else "")
        else:
            arrays = pictures(subject)
            label = subject.classes[int(subject.test.labels[self.image_index])]
            titles, cmap = [f"{i}" for i in range(len(arrays))], "viridis"
            title = f"{layer} maps after ReLU, test image #{self.image_index} (a {label}; n/p)"
        # header, title, status, footer and the legend take 5 rows; the tiles get the rest,
        # a page at a time, so the legend is always in view
        height = max(self.size.height - 5, 4)
        pixels = arrays.shape[-1]
        # kernels are small enough to show all at once; feature maps eight or more a page
        least = len(arrays) if pixels <= 7 else 8
        scale, columns, rows = render.page_layout(len(arrays), pixels, width, height, colour,
                                                  titles is not None, least)  # fmt: skip
        per_page = columns * rows
        pages = -(-len(arrays) // per_page)
        page = self.page % pages
        shown = range(page * per_page, min(len(arrays), (page + 1) * per_page))
        every = [a.numpy() for a in arrays]
        vmin, vmax = render.value_range(np.stack(every), cmap)  # one scale for all pages
        if self.fixed_scale:
            vmin, vmax = self.series_range(pictures, cmap, (kind, layer, depth_first,
                                                             self.image_index))  # fmt: skip
            title += " — colour scale: the whole series (f)"
        grid = render.tile_grid([every[i] for i in shown], [titles[i] for i in shown] if titles else None,
                                columns=columns, cmap=cmap, scale=scale, colour=colour,
                                limits=(vmin, vmax))  # fmt: skip
        if pages > 1:
            title += f" — {shown[0]}-{shown[-1]} of {len(arrays)} (PgDn)"
        self.app.call_from_thread(self.show, self.moment_prefix() + title, grid, subject.run_id)

    def series_range(self, pictures, cmap: str, view: tuple) -> tuple[float, float]:
        """The colour range that holds this view's pictures at every moment of the run (its
        snapshots and its checkpoint), worked out once per view."""
        run_dir, series = self.app.moment_series()
        key = (run_dir.name, len(series), *view)  # a run still training adds moments
        if key not in self._ranges:
            lows, highs = [], []
            for moment in series:
                at = self.app.subject(checkpoint=moment)
                low, high = render.value_range(pictures(at).numpy(), cmap)
                lows.append(low)
                highs.append(high)
            self._ranges[key] = (min(lows), max(highs))
        return self._ranges[key]

    def show(self, title: str, grid, run_id: str) -> None:
        self.query_one("#filters-title", Static).update(title)
        self.query_one("#tiles", Static).update(grid)
        count = len(self.views)
        self.set_status(f"view {self.view % count + 1}/{count} (v: next) — model {run_id}")

    @staticmethod
    def view_takes_k(model, layer: str | None) -> bool:
        """Whether a filters view shows one filter K (the layer reads several channels, or
        the network has no convolution and K is the first unit shown)."""
        from engine.models.layers import layer as find_layer

        return layer is None or find_layer(model, layer).in_channels > 1

    def action_next_view(self) -> None:
        self.page = 0
        self.view = (self.view + 1) % len(self.views)

    def action_page(self, step: int) -> None:
        self.page += step

    def action_filter(self, step: int) -> None:
        self.filter_k = max(0, self.filter_k + step)  # past the last: the engine says so
        if self.k_views and self.view % len(self.views) not in self.k_views:
            self.view = self.k_views[0]  # the first view where K means something

    def action_image(self, step: int) -> None:
        self.image_index = max(0, self.image_index + step)
        kinds = [kind for kind, _ in self.views]
        if "activations" in kinds and kinds[self.view % len(kinds)] != "activations":
            self.view = kinds.index("activations")
