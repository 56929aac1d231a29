"""A report as Markdown with its figures as PNG files in a folder beside it."""

from __future__ import annotations

from engine.report.document import Figure, Section, Table, Text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(title: str, lines: list[str], sections: list[Section],
                    folder: str) -> tuple[str, dict[str, bytes]]:  # fmt: skip
    """(the Markdown text, {file name: PNG bytes}); figures are linked as ``folder/name``."""
    out = [f"# {title}", "", *[f"{line}  " for line in lines], ""]
    files: dict[str, bytes] = {}
    for section in sections:
        out += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Text):
                out += [block.text, ""]
            elif isinstance(block, Table):
                out.append("| " + " | ".join(_cell(h) for h in block.header) + " |")
                out.append("|" + "---|" * len(block.header))
                out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
                out += ["", f"*{block.caption}*", ""] if block.caption else [""]
            elif isinstance(block, Figure):
                name = f"{block.name}.png"
                files[name] = block.png
                out += [f"![{_cell(block.alt)}]({folder}/{name})", ""]
                if block.caption:
                    out += [f"*{block.caption}*", ""]
    return "\n".join(out), files
