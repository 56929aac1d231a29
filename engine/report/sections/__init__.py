"""The report's sections in order. Each is a function of the report's context that returns
a Section (or several), or None where it has nothing to say; adding one is a function in a
module of its own and a line here. A declared analysis (engine.analyses) that no section
marks as its drawing (``drawn.draws``) gets a section of its own from ``declared``."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from engine.report.context import Context
from engine.report.document import Section
from engine.report.sections import (  # each marks what it draws (drawn.draws)
    attacks,
    basics,
    beyond,
    declared,
    deeper,
    drawn,
    extras,
    inside,
    sweeps,
    through,
)

SECTIONS: tuple[tuple[str, Callable[[Context], Section | list[Section] | None]], ...] = (
    ("data", basics.data),
    ("networks", basics.networks),
    ("training", basics.training),
    ("batchnorm", basics.batchnorm),
    ("test set", basics.test_set),
    ("predictions", inside.predictions),
    ("filters and activations", inside.filters),
    ("occlusion", inside.occlusion),
    ("through training", through.through_training),
    ("class synthesis", attacks.synthesis),
    ("targeted image", attacks.targeted),
    ("adding noise", attacks.noise),
    ("robustness", attacks.robustness),
    ("attribution", extras.attribution),
    ("top images", deeper.top_images),
    ("embedding", deeper.embedding),
    ("confusions", deeper.confusions),
    ("other analyses", partial(declared.sections, drawn=drawn.DRAWN)),
    ("robust training", extras.defences),
    ("beyond the test set", beyond.sections),
    ("study", extras.study),
    ("sweeps", sweeps.sweeps),
)
