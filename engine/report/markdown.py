"""A report as Markdown with its figures as PNG files in a folder beside it."""

from __future__ import annotations

import html
import re

from engine.report.document import Figure, Section, Table, Text

# Names and settings come from files a user (or someone else) wrote: in Markdown they must
# stay text. HTML is written as entities (no <script>, no onerror=), and the marks that make
# links, pictures, emphasis or table cells are escaped with a backslash.
_MARKS = re.compile(r"([\\`*_\[\]|!])")


def _plain(text: str) -> str:
    """``text`` shown as it is, whatever it holds, on one line."""
    return _MARKS.sub(r"\\\1", html.escape(" ".join(text.split()), quote=True))


def _paragraph(text: str) -> str:
    """A paragraph that may use the study's `code`, **bold** and *italic* marks, but no HTML
    and no links."""
    return re.sub(r"([\[\]])", r"\\\1", html.escape(text, quote=False))


def render_markdown(title: str, lines: list[str], sections: list[Section],
                    folder: str) -> tuple[str, dict[str, bytes]]:  # fmt: skip
    """(the Markdown text, {file name: PNG bytes}); figures are linked as ``folder/name``."""
    out = [f"# {_plain(title)}", "", *[f"{_plain(line)}  " for line in lines], ""]
    files: dict[str, bytes] = {}
    for section in sections:
        out += [f"## {_plain(section.heading)}", ""]
        for block in section.blocks:
            if isinstance(block, Text):
                out += [_paragraph(block.text), ""]
            elif isinstance(block, Table):
                out.append("| " + " | ".join(_plain(h) for h in block.header) + " |")
                out.append("|" + "---|" * len(block.header))
                out += ["| " + " | ".join(_plain(c) for c in row) + " |" for row in block.rows]
                out += ["", f"*{_paragraph(block.caption)}*", ""] if block.caption else [""]
            elif isinstance(block, Figure):
                name = f"{block.name}.png"
                files[name] = block.png
                out += [f"![{_plain(block.alt)}]({folder}/{name})", ""]
                if block.caption:
                    out += [f"*{_paragraph(block.caption)}*", ""]
    return "\n".join(out), files
