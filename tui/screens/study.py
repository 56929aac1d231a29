"""The study the app reproduces, in its own words (assets/study.md), opened at the section
of the screen it was asked from."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import MarkdownViewer

from engine.study_text import study_sections
from tui.widgets.keys_footer import KeysFooter


class StudyScreen(Screen):
    """Escape, q or i closes it."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close"),
        Binding("i", "app.pop_screen", "Close"),
        Binding("q", "app.pop_screen", "Close"),
    ]

    def __init__(self, section: str = "") -> None:
        super().__init__()
        self.section = section

    def compose(self) -> ComposeResult:
        sections = study_sections()
        yield MarkdownViewer(sections.get(self.section, sections[""]), show_table_of_contents=False)
        yield KeysFooter()
