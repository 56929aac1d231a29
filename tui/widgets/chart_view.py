"""ChartView: line charts drawn with plotext at the widget's size, redrawn at most once
every few seconds however often the data changes, and not woken at all while it does not."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from tui.draw.charts import chart_xy, thin


class ChartView(Widget):
    """Holds named series over a shared x; ``set_data`` marks it dirty and asks for a redraw:
    at once if the last was ``seconds`` ago or more, else when that much time has passed. A
    chart whose data stands still costs nothing (no timer ticks between redraws)."""

    def __init__(self, title: str = "", xlabel: str = "", *, id: str | None = None,
                 classes: str | None = None, ylim: tuple | None = None,
                 integer_x: bool = False,
                 empty: str = "no points yet: they appear as they are computed",
                 seconds: float | None = None) -> None:  # fmt: skip
        super().__init__(id=id, classes=classes)
        self.seconds = seconds  # at most one redraw this often (None: the app's chart_seconds)
        self.title, self.xlabel = title, xlabel
        self.ylim, self.integer_x = ylim, integer_x  # see tui.draw.charts.chart_xy
        self.empty = empty  # what it says before it has data
        self.xs: dict[str, Sequence[float]] = {}
        self.series: dict[str, Sequence[float]] = {}
        self.ylog = False
        self.redraws = 0  # how many times it drew (benchmarks and tests read it)
        self._dirty = False
        self._drawn: Text = Text("")
        self._last_draw = float("-inf")  # time.monotonic() of the last redraw
        self._due = False  # a redraw is asked for and pending

    @property
    def every(self) -> float:
        settings = getattr(self.app, "settings", None)
        return self.seconds or (settings.chart_seconds if settings else 0.3)

    def on_mount(self) -> None:
        if self._dirty:  # data set before the widget was in the screen
            self._ask_redraw()

    def _ask_redraw(self) -> None:
        if self._due or not self.is_mounted:
            return
        self._due = True
        wait = self._last_draw + self.every - time.monotonic()
        if wait > 0:
            self.set_timer(wait, self._redraw_due)
        else:  # (Textual's timers divide by their delay: none of zero)
            self.call_later(self._redraw_due)

    def set_data(self, series: dict[str, tuple[Sequence[float], Sequence[float]]]) -> None:
        """Replace the data: each name maps to (x values, y values). The same data again
        (the accuracy chart between epochs) costs no redraw."""
        xs = {name: list(xy[0]) for name, xy in series.items()}
        ys = {name: list(xy[1]) for name, xy in series.items()}
        if xs == self.xs and ys == self.series:
            return
        self.xs, self.series = xs, ys
        self._dirty = True
        self._ask_redraw()

    def toggle_log(self) -> None:
        """Switch the y axis between linear and log, at once (a key press should show)."""
        self.ylog = not self.ylog
        self._dirty = True
        self._redraw_if_dirty()

    def on_resize(self) -> None:
        self._dirty = True  # drawn again at the new size at once
        self.call_after_refresh(self._redraw_if_dirty)

    def _redraw_due(self) -> None:
        self._due = False
        self._redraw_if_dirty()

    def _redraw_if_dirty(self) -> None:
        if self._dirty:
            self._dirty = False
            self._drawn = self._draw()
            if any(len(ys) for ys in self.series.values()):  # (the empty hint: data next
                self._last_draw = time.monotonic()  # is drawn without waiting)
            self.redraws += 1
            self.refresh()

    def _draw(self) -> Text:
        width, height = max(self.size.width, 20), max(self.size.height, 6)
        settings = getattr(self.app, "settings", None)
        colour = settings.colour if settings else True
        names = [n for n, ys in self.series.items() if len(ys)]
        if not names:
            return Text(f"{self.title}\n({self.empty})", style="dim")
        return chart_xy(
            {n: thin(self.xs[n], self.series[n], most=2 * width) for n in names},
            title=("[log y] " if self.ylog else "") + self.title,  # in sight when cut
            xlabel=self.xlabel,
            width=width,
            height=height,
            colour=colour,
            ylog=self.ylog,
            ylim=self.ylim,
            integer_x=self.integer_x,
        )

    def render(self) -> Text:
        return self._drawn
