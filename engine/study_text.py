"""The study document (assets/study.md), read in one place: the app shows its sections under
`i`, the report quotes its paragraphs beside each figure."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

STUDY = Path(__file__).resolve().parent.parent / "assets" / "study.md"


@cache
def study_sections() -> dict[str, str]:
    """The study document by section number ('' for the whole), from its '## N.' headings."""
    text = STUDY.read_text(encoding="utf-8")
    sections = {"": text}
    for part in re.split(r"(?m)^(?=## \d+\.)", text)[1:]:
        sections[re.match(r"## (\d+)\.", part).group(1)] = part
    return sections


def study_paragraphs(number: int) -> list[str]:
    """The paragraphs of section ``number``, without its heading; a bulleted item is one
    paragraph."""
    paragraphs, current = [], []
    for line in study_sections().get(str(number), "").splitlines()[1:]:
        if line.startswith("## "):
            break
        if not line.strip() or line.lstrip().startswith("- "):
            if current:
                paragraphs.append(" ".join(current))
            current = []
        if line.strip():
            current.append(re.sub(r"^\s*- ", "", line).strip())
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs
