"""A report as one self-contained HTML page: every picture embedded as a data URI, the
style inline, no script and no request to anywhere; readable on a phone (pictures and
wide tables fit the screen) and printable (no figure or table split across pages)."""

from __future__ import annotations

import base64
import html
import re
import struct

from engine.report.document import DPI, SCREEN_DPI, Figure, Section, Table, Text

STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b;
       max-width: 58rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem;
     border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; }
.meta { color: #555; } nav ul { columns: 2; list-style: none; padding-left: 0; } code { background: #f1f1f1; padding: 0 0.2rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: #444; font-size: 0.9rem; }
.table { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.45rem; text-align: right; }
th:first-child, td:first-child { text-align: left; } caption { caption-side: bottom;
     text-align: left; color: #444; font-size: 0.85rem; padding-top: 0.3rem; }
@media (max-width: 40rem) { body { padding: 0.5rem; } nav ul { columns: 1; } }
@media print { body { max-width: none; } nav { break-after: page; }
  h2 { break-after: avoid; } figure, .table, p { break-inside: avoid; } }
"""


def inline(text: str) -> str:
    """The study document's inline marks (`code`, **bold**, *italic*) as HTML."""
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"\*([^*]+)\*", r"<em>\1</em>", text)


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    return struct.unpack(">II", png[16:24])


def block_html(block) -> str:
    if isinstance(block, Text):
        return f"<p>{inline(block.text)}</p>"
    if isinstance(block, Table):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in block.header)
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in block.rows
        )
        caption = f"<caption>{inline(block.caption)}</caption>" if block.caption else ""
        return (f'<div class="table"><table>{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{rows}</tbody></table></div>")  # fmt: skip
    if isinstance(block, Figure):
        width, height = (side * SCREEN_DPI // DPI for side in png_size(block.png))
        data = base64.b64encode(block.png).decode("ascii")
        alt = html.escape(block.alt)
        caption = f"<figcaption>{inline(block.caption or block.alt)}.</figcaption>"
        return (f'<figure id="{block.name}"><img src="data:image/png;base64,{data}"'
                f' alt="{alt}" width="{width}" height="{height}">{caption}</figure>')  # fmt: skip
    raise TypeError(f"not a report block: {block!r}")


def render_html(title: str, lines: list[str], sections: list[Section]) -> str:
    """The page: title, the lines under it, a table of contents, the sections."""
    contents = "".join(
        f'<li><a href="#{s.key}">{html.escape(s.heading)}</a></li>' for s in sections
    )
    body = "".join(
        f'<section id="{s.key}"><h2>{html.escape(s.heading)}</h2>'
        + "".join(block_html(b) for b in s.blocks)
        + "</section>"
        for s in sections
    )
    meta = "".join(f'<p class="meta">{inline(line)}</p>' for line in lines)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{meta}"
        f"<nav><ul>{contents}</ul></nav>{body}</body></html>\n"
    )
