"""Which declared analyses (engine.analyses) the report's sections draw by hand: each
section says so where it is written, ``@draws("predict")``; every other declared analysis
gets a section of its own from ``declared``."""

from __future__ import annotations

from collections.abc import Callable

DRAWN: set[str] = set()


def draws(*names: str) -> Callable:
    """Mark a section function as the report's drawing of the analyses ``names``."""

    def mark(section: Callable) -> Callable:
        DRAWN.update(names)
        return section

    return mark
