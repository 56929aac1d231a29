"""Every module and file the code's docstrings and comments, the docs and the README name
exists: a dotted name (``engine.runs.snapshots``, ``tui.cli.main:main``) is a module, or a
name a module defines; a repository path (``tui/draw/render.py``) is a file or folder. A
move that leaves a stale word behind fails here."""

from __future__ import annotations

import functools
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("engine", "tui", "assets", "bench", "tests")
DOTTED = re.compile(r"(?<![\w./-])((?:engine|tui|assets)(?:\.[A-Za-z_]\w*)+)(?::(\w+))?")
PATH = re.compile(r"(?<![\w./-])((?:engine|tui|assets|bench|tests|docs|\.ci)/[\w./-]*\w)")


def texts() -> list[Path]:
    found = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), ROOT / "assets" / "study.md"]
    for room in ROOMS:
        found += [p for p in (ROOT / room).rglob("*.py") if "__snapshots__" not in p.parts]
    return found


def words_of(path: Path) -> str:
    """A Markdown file's text; a module's docstrings, strings and comments (not its code,
    where ``engine`` may be a local name)."""
    text = path.read_text()
    if path.suffix != ".py":
        return text
    kinds = (tokenize.STRING, tokenize.COMMENT)
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return "\n".join(t.string for t in tokens if t.type in kinds)


def module_file(parts: list[str]) -> Path | None:
    base = ROOT.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def resolves(dotted: str, attribute: str | None) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        found = module_file(parts[:cut])
        if found is None:
            continue
        rest = parts[cut:] + ([attribute] if attribute else [])
        if not rest or rest[0].startswith("__"):  # a module's own (__file__, __version__)
            return True
        source = found.read_text()
        return re.search(rf"\b{re.escape(rest[0])}\b", source) is not None
    return False


@functools.cache
def references() -> list[tuple[str, str, str]]:
    """(file, kind, what it names) for every reference in the texts."""
    found = []
    for path in texts():
        text = words_of(path)
        where = str(path.relative_to(ROOT))
        for match in DOTTED.finditer(text):
            found.append((where, "module", match.group(0)))
        for match in PATH.finditer(text):
            found.append((where, "path", match.group(1).rstrip(".")))
    return found


def test_the_texts_name_modules_and_paths():
    assert len(references()) > 100  # the scan sees them


@pytest.mark.parametrize("where", sorted({w for w, _, _ in references()}))
def test_every_module_and_path_named_exists(where):
    stale = []
    for _, kind, named in (r for r in references() if r[0] == where):
        if kind == "module":
            dotted, _, attribute = named.partition(":")
            ok = resolves(dotted, attribute or None)
        else:
            ok = (ROOT / named).exists() or any(ROOT.glob(named))
        if not ok:
            stale.append(named)
    assert not stale, f"{where} names what does not exist: {sorted(set(stale))}"
