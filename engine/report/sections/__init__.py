"""The report's sections in order. Each is a function of the report's context that returns
a Section, or None where it has nothing to say; adding one is a function in a module of
its own and a line here."""

from __future__ import annotations

from collections.abc import Callable

from engine.report.context import Context
from engine.report.document import Section
from engine.report.sections import basics, breaking, extras, inside

SECTIONS: tuple[tuple[str, Callable[[Context], Section | None]], ...] = (
    ("data", basics.data),
    ("networks", basics.networks),
    ("training", basics.training),
    ("batchnorm", basics.batchnorm),
    ("test set", basics.test_set),
    ("predictions", inside.predictions),
    ("filters and activations", inside.filters),
    ("occlusion", inside.occlusion),
    ("class synthesis", breaking.synthesis),
    ("targeted image", breaking.targeted),
    ("adding noise", breaking.noise),
    ("robustness", breaking.robustness),
    ("attribution", extras.attribution),
    ("robust training", extras.defences),
    ("study", extras.study),
)
