"""What a report is made of, before it is written as HTML or Markdown: sections of
paragraphs, tables and figures (PNG bytes with their alt text)."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.study_text import study_paragraphs

# Figures are drawn at DPI (sharp in print and on high-density screens) and shown at the
# size they would have at SCREEN_DPI.
DPI = 200
SCREEN_DPI = 100


@dataclass(frozen=True)
class Text:
    """A paragraph; may use the study document's `code`, **bold** and *italic*."""

    text: str


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    """A PNG picture; ``name`` becomes its file name in the Markdown output."""

    name: str
    png: bytes
    alt: str
    caption: str = ""


Block = Text | Table | Figure


@dataclass
class Section:
    key: str  # a stable anchor: "training", "robustness" ...
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


def study_paragraph(number: int, starts: str) -> Text:
    """The paragraph of study section ``number`` that begins with ``starts`` (a bullet's
    bold name, say): the report explains each figure in the study's own words."""
    for paragraph in study_paragraphs(number):
        if paragraph.startswith(starts):
            return Text(paragraph)
    raise KeyError(f"study §{number} has no paragraph starting {starts!r}")
