"""DigitCanvas: a 28x28 canvas to draw on with the mouse or the keyboard."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from tui.draw import render

SIZE = 28
MAX_SCALE = 2  # at most 2 cells wide and, with half-blocks, one cell tall per pixel


class DigitCanvas(Widget, can_focus=True):
    """Drag with the mouse to draw; arrows move the cursor, space paints, x erases, c clears.

    The whole 28x28 canvas is always drawn: at scale 2 where the widget has the rows for it,
    else at scale 1 (half-blocks: 14 rows), so no stroke can land where it cannot be seen."""

    ALLOW_SELECT = False  # a drag draws; it must not select text over the canvas

    BINDINGS = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("space", "paint", "Paint"),
        Binding("x", "erase", "Erase"),
        Binding("c", "clear", "Clear"),
    ]

    cursor: reactive[tuple[int, int]] = reactive((14, 14))
    """(row, column) of the keyboard cursor."""

    @dataclass
    class Changed(Message):
        """The drawing changed."""

        canvas: DigitCanvas

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pixels = np.zeros((SIZE, SIZE), dtype=np.uint8)

    def render(self):
        shown = self.pixels.astype(float)
        r, c = self.cursor
        shown[r, c] = 128 if self.pixels[r, c] > 128 else 200  # the cursor, visible on both
        if not self.colour:
            return self._ascii(r, c)
        return render.image(shown, vmin=0, vmax=255, scale=self.scale, colour=self.colour)

    def _ascii(self, cursor_row: int, cursor_col: int) -> Text:
        """Two pixel rows a character, as half-blocks do, in plain ASCII: ' ' neither, "'"
        the upper, '.' the lower, ':' both; '+' marks the cursor's cell."""
        on = self.pixels > 100
        marks = {(False, False): " ", (True, False): "'", (False, True): ".", (True, True): ":"}
        lines = []
        for top in range(0, SIZE, 2):
            line = ""
            for col in range(SIZE):
                char = marks[bool(on[top, col]), bool(on[top + 1, col])]
                if col == cursor_col and cursor_row in (top, top + 1):
                    char = "+"
                line += char * self.scale
            lines.append(line)
        return Text("\n".join(lines), no_wrap=True)

    def get_content_width(self, container, viewport) -> int:
        return SIZE * self.scale

    @property
    def colour(self) -> bool:
        return self.app.settings.colour if hasattr(self.app, "settings") else True

    @property
    def scale(self) -> int:
        """Pixels are drawn this many cells wide: the largest that shows all 28 rows."""
        rows_per_cell = 2  # half-blocks, or ASCII's two-rows-a-character marks
        height = self.content_size.height or SIZE
        fits = (height * rows_per_cell) // SIZE
        return max(1, min(MAX_SCALE, fits))

    def brush(self, row: int, col: int, value: int) -> None:
        """A soft round brush: full at the centre, half on the four neighbours."""
        for dr, dc, strength in ((0, 0, 1.0), (-1, 0, 0.5), (1, 0, 0.5), (0, -1, 0.5), (0, 1, 0.5)):
            r, c = row + dr, col + dc
            if 0 <= r < SIZE and 0 <= c < SIZE:
                if value:
                    self.pixels[r, c] = max(self.pixels[r, c], int(value * strength))
                elif strength == 1.0:
                    self.pixels[r, c] = 0
        self.refresh()
        self.post_message(self.Changed(self))

    def _pixel_at(self, x: int, y: int) -> tuple[int, int] | None:
        scale = self.scale  # a cell row is two pixel rows; a pixel is ``scale`` cells wide
        row, col = 2 * y // scale, x // scale
        return (row, col) if 0 <= row < SIZE and 0 <= col < SIZE else None

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self.capture_mouse()
        self._draw_at(event.x, event.y, 0 if event.button == 3 else 255)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if event.button:
            self._draw_at(event.x, event.y, 0 if event.button == 3 else 255)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self.release_mouse()

    def _draw_at(self, x: int, y: int, value: int) -> None:
        pixel = self._pixel_at(x, y)
        if pixel is not None:
            self.cursor = pixel
            self.brush(*pixel, value)

    def action_move(self, dr: int, dc: int) -> None:
        self.cursor = ((self.cursor[0] + dr) % SIZE, (self.cursor[1] + dc) % SIZE)

    def action_paint(self) -> None:
        self.brush(*self.cursor, 255)

    def action_erase(self) -> None:
        self.brush(*self.cursor, 0)

    def action_clear(self) -> None:
        self.pixels[:] = 0
        self.refresh()
        self.post_message(self.Changed(self))
