"""ChartView: line charts drawn with plotext at the widget's size, redrawn at most a few
times a second however often the data changes."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from tui.draw.charts import chart_xy, thin


class ChartView(Widget):
    """Holds named series over a shared x; ``set_data`` marks it dirty, a timer redraws."""

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

    def on_mount(self) -> None:
        settings = getattr(self.app, "settings", None)
        every = self.seconds or (settings.chart_seconds if settings else 0.3)
        self.set_interval(every, self._redraw_if_dirty)

    def set_data(self, series: dict[str, tuple[Sequence[float], Sequence[float]]]) -> None:
        """Replace the data: each name maps to (x values, y values). The same data again
        (the accuracy chart between epochs) costs no redraw."""
        xs = {name: list(xy[0]) for name, xy in series.items()}
        ys = {name: list(xy[1]) for name, xy in series.items()}
        if xs == self.xs and ys == self.series:
            return
        self.xs, self.series = xs, ys
        self._dirty = True

    def toggle_log(self) -> None:
        """Switch the y axis between linear and log, at once (a key press should show)."""
        self.ylog = not self.ylog
        self._dirty = True
        self._redraw_if_dirty()

    def on_resize(self) -> None:
        self._dirty = True

    def _redraw_if_dirty(self) -> None:
        if self._dirty:
            self._dirty = False
            self._drawn = self._draw()
            self.redraws += 1
            self.refresh()

    def _draw(self) -> Text:
        width, height = max(self.size.width, 20), max(self.size.height, 6)
        settings = getattr(self.app, "settings", None)
        colour = settings.colour if settings else True
        names = [n for n, ys in self.series.items() if len(ys)]
        if not names:
            return Text(
                f"{self.title}\n(no points yet: they appear as they are computed)", style="dim"
            )
        return chart_xy(
            {n: thin(self.xs[n], self.series[n], most=2 * width) for n in names},
            title=self.title + ("  [log y]" if self.ylog else ""),
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
