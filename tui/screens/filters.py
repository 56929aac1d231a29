"""Filters and activations: conv1's 32 filters, conv2's filter K at its 32 input depths,
and the feature maps of a chosen test image."""

from __future__ import annotations

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.widgets import Footer, Header, Static

from tui.draw import render
from tui.screens.base import LOADING, ExperimentScreen

VIEWS = ("conv1 filters", "conv2 filter", "conv1 activations", "conv2 activations")


class FiltersScreen(ExperimentScreen):
    """v cycles the view; [ ] change conv2's filter K; n/p change the image."""

    BINDINGS = [
        Binding("v", "next_view", "Next view"),
        Binding("pagedown", "page(1)", "Next maps", key_display="PgDn"),
        Binding("pageup", "page(-1)", "Previous maps", key_display="PgUp"),
        Binding("right_square_bracket", "filter(1)", "K+1", key_display="]"),
        Binding("left_square_bracket", "filter(-1)", "K-1", key_display="["),
        Binding("n", "image(1)", "Next image"),
        Binding("p", "image(-1)", "Previous image"),
    ]

    view: reactive[int] = reactive(0)
    """Which of VIEWS is shown."""

    STUDY_SECTION = "4"
    filter_k: reactive[int] = reactive(0)
    """The conv2 filter shown."""
    image_index: reactive[int] = reactive(0)
    """The test image whose activations are shown."""
    page: reactive[int] = reactive(0)
    """Which page of tiles is shown, when they do not all fit."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="filters-title", classes="title")
        yield Static("", id="tiles")
        yield Static(LOADING, classes="status")
        yield Footer()

    def on_mount(self) -> None:
        self.draw()

    def watch_view(self) -> None:
        self.draw()

    def watch_filter_k(self) -> None:
        self.draw()

    def watch_image_index(self) -> None:
        self.draw()

    def watch_page(self) -> None:
        self.draw()

    def on_resize(self) -> None:
        self.draw()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def draw(self) -> None:
        from engine.inside import activations, conv1_filters, conv2_filter

        subject = self.app.subject()
        colour = self.app.settings.colour
        width = max(self.size.width - 2, 20)
        name = VIEWS[self.view]
        if name == "conv1 filters":
            arrays, titles, cmap, title = (
                conv1_filters(subject.model),
                None,
                "signed",
                "conv1: 32 filters (3x3)",
            )
        elif name == "conv2 filter":
            arrays = conv2_filter(subject.model, self.filter_k)
            titles, cmap = None, "signed"
            title = f"conv2 filter K={self.filter_k}: its 3x3 kernel at each of 32 input depths ([ ] change K)"
        else:
            layer = name.split()[0]
            arrays = activations(subject.model, subject.test.images[self.image_index], layer)
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
        grid = render.tile_grid([every[i] for i in shown], [titles[i] for i in shown] if titles else None,
                                columns=columns, cmap=cmap, scale=scale, colour=colour,
                                limits=(vmin, vmax))  # fmt: skip
        if pages > 1:
            title += f" — {shown[0]}-{shown[-1]} of {len(arrays)} (PgDn)"
        self.app.call_from_thread(self.show, title, grid, subject.run_id)

    def show(self, title: str, grid, run_id: str) -> None:
        self.query_one("#filters-title", Static).update(title)
        self.query_one("#tiles", Static).update(grid)
        self.set_status(f"view {self.view + 1}/{len(VIEWS)} (v: next) — model {run_id}")

    def action_next_view(self) -> None:
        self.page = 0
        self.view = (self.view + 1) % len(VIEWS)

    def action_page(self, step: int) -> None:
        self.page += step

    def action_filter(self, step: int) -> None:
        self.filter_k = (self.filter_k + step) % 32
        if VIEWS[self.view] != "conv2 filter":
            self.view = VIEWS.index("conv2 filter")

    def action_image(self, step: int) -> None:
        self.image_index = max(0, self.image_index + step)
        if "activations" not in VIEWS[self.view]:
            self.view = VIEWS.index("conv1 activations")
