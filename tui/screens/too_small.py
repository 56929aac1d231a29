"""Below the size the app is laid out for, one line saying the size it needs, instead of
panels crushed to a few columns; it goes away by itself once the terminal is large enough."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

MIN_WIDTH, MIN_HEIGHT = 80, 24  # the smallest terminal every screen is laid out for


def too_small(width: int, height: int) -> bool:
    return width < MIN_WIDTH or height < MIN_HEIGHT


class TooSmallScreen(ModalScreen):
    BINDINGS = [Binding("q", "app.quit", "Quit")]
    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; background: $background; }
    TooSmallScreen Static { width: 100%; content-align: center middle; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="too-small")

    def on_mount(self) -> None:
        self.say()

    def on_resize(self) -> None:
        self.say()

    def say(self) -> None:
        width, height = self.app.size
        self.query_one("#too-small", Static).update(
            f"mnist-tui needs {MIN_WIDTH}x{MIN_HEIGHT}; this terminal is {width}x{height} (q quits)"
        )
