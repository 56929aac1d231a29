"""The study the app reproduces, in its own words (assets/study.md), opened at the section
of the screen it was asked from."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, MarkdownViewer

STUDY = Path(__file__).resolve().parent.parent.parent / "assets" / "study.md"


@cache
def study_sections() -> dict[str, str]:
    """The study document by section number ('' for the whole), from its '## N.' headings."""
    text = STUDY.read_text(encoding="utf-8")
    sections = {"": text}
    parts = re.split(r"(?m)^(?=## \d+\.)", text)
    for part in parts[1:]:
        number = re.match(r"## (\d+)\.", part).group(1)
        sections[number] = part
    return sections


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
        yield Footer()
