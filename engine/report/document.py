"""What a report is made of, before it is written as HTML or Markdown: sections of
paragraphs, tables and figures (PNG bytes with their alt text)."""

from __future__ import annotations

import re
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
    title: str  # without its number: numbers come from the order (number_sections)
    blocks: list[Block] = field(default_factory=list)
    sub: bool = False  # a part of the section before it: numbered 3.1, 3.2 ...
    number: str = ""

    @property
    def heading(self) -> str:
        return f"{self.number} {self.title}".strip()

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


# A cross-reference inside a paragraph or caption: "{section:study}" becomes "section 8" —
# whatever number that section gets in this report.
REFERENCE = re.compile(r"\{section:([a-z-]+)\}")


def number_sections(sections: list[Section]) -> None:
    """Number the sections in their order (1., 2., 2.1 ...) and resolve every reference."""
    major = minor = 0
    for section in sections:
        if section.sub and major:
            minor += 1
            section.number = f"{major}.{minor}"
        else:
            major, minor = major + 1, 0
            section.number = f"{major}."
    numbers = {s.key: s.number.rstrip(".") for s in sections}

    def resolve(text: str) -> str:
        return REFERENCE.sub(
            lambda m: (
                f"section {numbers[m[1]]}"
                if m[1] in numbers
                else f"a {m[1]} section (not in this report)"
            ),
            text,
        )

    for section in sections:
        section.blocks = [_resolved(block, resolve) for block in section.blocks]


def _resolved(block: Block, resolve) -> Block:
    if isinstance(block, Text):
        return Text(resolve(block.text))
    if isinstance(block, Table):
        return Table(block.header, block.rows, resolve(block.caption))
    return Figure(block.name, block.png, block.alt, resolve(block.caption))


def study_paragraph(number: int, starts: str) -> Text:
    """The paragraph of study section ``number`` that begins with ``starts`` (a bullet's
    bold name, say): the report explains each figure in the study's own words."""
    for paragraph in study_paragraphs(number):
        if paragraph.startswith(starts):
            return Text(paragraph)
    raise KeyError(f"study §{number} has no paragraph starting {starts!r}")
