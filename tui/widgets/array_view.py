"""ArrayView: any 2-D array (digit, filter, activation, map) drawn through ``tui.draw.render``,
scaled up to the largest whole factor that fits the space it is given — or, where the
terminal has them, as sixel or kitty pixels through textual-image."""

from __future__ import annotations

import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from tui.draw import render
from tui.graphics import PIXEL_MODES, cell_size, image_widget, to_picture


class ArrayView(Widget):
    """One array as colour half-blocks (or ASCII), with an optional caption and legend."""

    array: reactive[np.ndarray | None] = reactive(None, layout=True, always_update=True)
    """The array to draw; None draws the caption only."""
    caption: reactive[str] = reactive("", layout=True)
    """A line above the picture."""
    cursor: reactive[tuple[int, int] | None] = reactive(None)
    """A (row, column) of the array to mark, or None."""

    def __init__(self, *, cmap: str = "grey", vmin: float | None = None, vmax: float | None = None,
                 min_scale: int = 1, legend: bool = False, id: str | None = None,
                 classes: str | None = None, peers: str | None = None) -> None:  # fmt: skip
        super().__init__(id=id, classes=classes)
        self.cmap, self.vmin, self.vmax = cmap, vmin, vmax
        self.min_scale = min_scale
        # A CSS class shared by pictures drawn at one scale (a grid whose rows differ by a
        # cell: 20 rows make 6, 7 and 7), so that no row's pictures come out smaller.
        self.peers = peers
        self.legend = legend

    @property
    def pixel_mode(self) -> str | None:
        """ "sixel" or "kitty" when the app draws real pixels, else None."""
        settings = getattr(self.app, "settings", None)
        mode = settings.graphics if settings is not None else "halfblock"
        return mode if mode in PIXEL_MODES else None

    def compose(self) -> ComposeResult:
        if self.pixel_mode:  # children draw; in half-block mode render() does
            self.styles.layout = "vertical"
            yield Static("", classes="array-caption")
            yield image_widget(self.pixel_mode, self.app.settings.sixel_colours)
            yield Static("", classes="array-legend")

    def on_mount(self) -> None:
        self._sync_caption()
        self._sync_pixels()

    def on_resize(self) -> None:
        self._sync_pixels()

    def watch_array(self) -> None:
        self._sync_pixels()

    def watch_caption(self) -> None:
        self._sync_caption()  # text only: the picture is not encoded again

    def watch_cursor(self) -> None:
        self._sync_pixels()

    def _sync_caption(self) -> None:
        if self.pixel_mode and self.is_mounted and self.children:
            caption = self.children[0]
            caption.update(self.caption)
            caption.display = bool(self.caption)

    def _sync_pixels(self) -> None:
        if not self.pixel_mode or not self.is_mounted or not self.children:
            return
        _, picture, legend = self.children
        if self.array is None:
            picture.image = None
            return
        shown = self._shown_array()
        width, height = self._cells(self.best_scale())
        picture.styles.width, picture.styles.height = width, height
        picture.image = to_picture(shown, self.cmap, self.vmin, self.vmax, cells=(width, height))
        legend.display = self.legend
        if self.legend:
            legend.update(self._legend(shown))

    def _shown_array(self) -> np.ndarray:
        """The array with the cursor marked by the far end of the scale from its value."""
        array = np.asarray(self.array, dtype=np.float64)
        if self.cursor is None:
            return array
        array = array.copy()
        low, high = render.value_range(array, self.cmap)
        vmin = self.vmin if self.vmin is not None else low
        vmax = self.vmax if self.vmax is not None else high
        r, c = self.cursor
        array[r, c] = vmin if array[r, c] > (vmin + vmax) / 2 else vmax
        return array

    def _legend(self, array: np.ndarray) -> Text:
        if self.cmap == "classes":
            return render.class_legend([str(i) for i in range(10)], colour=self.colour)
        low, high = render.value_range(array, self.cmap)
        vmin = self.vmin if self.vmin is not None else low
        vmax = self.vmax if self.vmax is not None else high
        # the bar shrinks so that both ends' numbers stay whole in the widget's width (at 80
        # columns the noise's "+0.233" was cut to "+0.23" beside "-0.233")
        ends = len(render.legend(vmin, vmax, self.cmap, width=0, colour=False, middle=False))
        room = (self.size.width or 80) - ends
        return render.legend(vmin, vmax, self.cmap, width=max(3, min(12, room)),
                             colour=self.colour, middle=False)  # fmt: skip

    @property
    def colour(self) -> bool:
        settings = getattr(self.app, "settings", None)
        return settings.colour if settings is not None else True

    def _cells(self, scale: float) -> tuple[int, int]:
        """(width, height) in cells of the picture at ``scale``."""
        if self.array is None:
            return 0, 0
        rows, cols = render.resampled_shape(self.array.shape, scale)
        if self.pixel_mode:  # square pixels, whatever the shape of the terminal's cells
            cell_width, cell_height = cell_size()
            return cols, max(1, round(rows * cell_width / cell_height))
        if self.colour:
            return cols, -(-rows // 2)
        return 2 * cols, rows

    def _caption_lines(self, width: int | None = None) -> list[str]:
        """The caption wrapped to the widget's width (at spaces and hyphens): a number in
        it is never cut off."""
        import textwrap

        width = max(6, width or self.size.width or 80)
        lines: list[str] = []
        for line in self.caption.splitlines():
            lines += textwrap.wrap(line, width) or [""]
        return lines

    def _extra_lines(self, width: int | None = None) -> int:
        return len(self._caption_lines(width)) + (1 if self.legend else 0)

    def get_content_width(self, container, viewport) -> int:
        width, _ = self._cells(self.min_scale)
        legend = self._legend(self._shown_array()) if self.legend and self.array is not None else ""
        longest = max((len(line) for line in self.caption.splitlines()), default=0)
        return max(width, min(longest, 24), len(legend))

    def get_content_height(self, container, viewport, width: int) -> int:
        return self._cells(self.min_scale)[1] + self._extra_lines(width)

    def best_scale(self) -> float:
        """The scale to draw at: the one that fits (``fitting_scale``), or, among peers, the
        smallest that fits any of them."""
        if not self.peers or not self.is_mounted:
            return self.fitting_scale()
        scales = [view.fitting_scale() for view in self.screen.query(f"ArrayView.{self.peers}")
                  if view.array is not None]  # fmt: skip
        return min(scales, default=self.fitting_scale())

    def fitting_scale(self) -> float:
        """The largest whole scale that fits the widget's current size, or below 1 (fewer
        cells than values) where even 1 does not, so a small terminal still shows it all;
        with pixels, the largest scale of any kind."""
        room = self.size.width, self.size.height - self._extra_lines()
        if self.array is None or min(room) <= 0:  # nothing to draw, or not laid out yet
            return self.min_scale

        def fits(scale: float) -> bool:
            width, height = self._cells(scale)
            return width <= room[0] and height <= room[1]

        if self.pixel_mode or not fits(1):  # pixels scale by any factor; cells only shrink
            width, height = self._cells(1)
            return min(room[0] / width, room[1] / height)
        scale = 1
        while fits(scale + 1):
            scale += 1
        return scale

    def render(self) -> RenderableType:
        if self.pixel_mode:
            return ""
        parts: list[RenderableType] = []
        if self.caption:
            parts.append(Text("\n".join(self._caption_lines())))
        if self.array is not None:
            shown = self._shown_array()
            parts.append(render.image(shown, cmap=self.cmap, vmin=self.vmin, vmax=self.vmax,
                                      scale=self.best_scale(), colour=self.colour))  # fmt: skip
            if self.legend:
                parts.append(self._legend(shown))
        return Group(*parts)
