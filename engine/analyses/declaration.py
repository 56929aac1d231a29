"""What an analysis is, declared once: its parameters (``Setting``s, the same machinery as a
run's settings: help, bounds, choices, default), the function that computes it, and where it
lives on the command line. The CLI's options and help, the app's screens and the report read
the declaration; an analysis none of them draws by hand gets the generic rendering of its
result's ``summary()`` and ``to_dict()`` everywhere.

Readable without importing torch: ``compute`` names its function as ``"module:function"``,
imported when the analysis first runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine import events as ev
from engine.config import LARGEST, MOST, STUDY_IMAGE, Setting
from engine.errors import SettingError


class Result(Protocol):
    """What every analysis returns."""

    def to_dict(self) -> dict: ...

    def summary(self) -> str:
        """One line a person reads: the finding, with its numbers."""
        ...


def parameter(name: str, kind: type, default: Any, help: str, **rules: Any) -> Setting:
    """An analysis parameter: ``name`` is its keyword and, with dashes, its option."""
    return Setting(name=name, kind=kind, default=default, help=help,
                   label=rules.pop("label", name.replace("_", " ")), **rules)  # fmt: skip


# The kinds of parameter analyses share, with their bounds (engine.config MOST, LARGEST).
def count(name: str, default, help: str, low: int = 1, **rules):
    return parameter(name, int, default, help, minimum=low, maximum=rules.pop("maximum", MOST),
                     **rules)  # fmt: skip


def size(name: str, default, help: str, **rules):
    return parameter(name, float, default, help, minimum=0, above_minimum=True,
                     maximum=LARGEST, **rules)  # fmt: skip


def digits(name: str, help: str):
    return parameter(name, int, tuple(range(10)), help, minimum=0, maximum=9, many=True,
                     most=10, metavar="DIGITS")  # fmt: skip


def seed(help: str):
    return count("seed", 0, help, low=0)


# A test image's number has no bound here: the test set is the run's (MNIST's has 10,000,
# numbered 0-9,999; another --data folder may have more), checked when the run is loaded
# (engine.subject.Subject.check_index), which names the range.
IMAGE_NUMBER = " (numbered from 0: 0-9,999 in MNIST's 10,000)"


def image(help: str = "the test image (the study's is a '9')"):
    return parameter("image", int, STUDY_IMAGE, help + IMAGE_NUMBER, minimum=0, metavar="I",
                     aliases=("--index",))  # fmt: skip


@dataclass(frozen=True)
class Analysis:
    """One analysis. ``compute(subject, emit=, cancel=, **values)`` returns a ``Result``."""

    name: str  # the registry key and the command: `mnist-tui NAME` (or `GROUP NAME`)
    title: str  # "Robustness"
    about: str  # one line: the command's help, the home screen's description
    parameters: tuple[Setting, ...]
    compute: str | Callable[..., Result]  # or "module:function", imported on first use
    group: str = ""  # "attack": the command is `mnist-tui attack NAME`
    description: str = ""  # the command's longer --help text (default: ``about``)
    study_section: str = ""  # the study document's section, for the app's `i`
    in_report: bool = True
    in_app: bool = True  # listed on the app's home screen (with a screen of its own or not)
    # Values a front end runs it with on purpose instead of the defaults — fewer images in
    # the app, a fixed example in the report — named here, beside the declaration, by front
    # end ("app", "report"); ``given`` reads them.
    givens: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def command(self) -> str:
        return f"{self.group} {self.name}".strip()

    def parameter(self, name: str) -> Setting:
        for spec in self.parameters:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no parameter {name!r}")

    def default(self, name: str) -> Any:
        return self.parameter(name).default

    def given(self, front: str, **more: Any) -> dict[str, Any]:
        """The values ``front`` ('app', 'report') runs this with, then ``more`` over them."""
        return {**self.givens.get(front, {}), **more}

    def values(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every parameter's value: ``given`` ones checked, the others their defaults."""
        given = dict(given or {})
        unknown = sorted(set(given) - {spec.name for spec in self.parameters})
        if unknown:
            raise SettingError(f"{self.name} has no parameter {', '.join(unknown)}")
        values = {}
        for spec in self.parameters:
            value = given.get(spec.name, spec.default)
            if value is None and not spec.optional:
                raise SettingError(f"{self.name}: {spec.name} must be given ({spec.rule()})")
            values[spec.name] = spec.check(value)
        return values

    def function(self) -> Callable[..., Result]:
        if callable(self.compute):
            return self.compute
        module, _, name = self.compute.partition(":")
        return getattr(importlib.import_module(module), name)

    def run(self, subject, given: Mapping[str, Any] | None = None, emit: ev.Emit = ev.ignore,
            cancel=None) -> Result:  # fmt: skip
        """The analysis of ``subject`` (an ``engine.subject.Subject``) with ``given`` values."""
        return self.function()(subject, emit=emit, cancel=cancel, **self.values(given))


ANALYSES: dict[str, Analysis] = {}


def register(analysis: Analysis) -> Analysis:
    """Add ``analysis`` to the registry every front end reads (a name is taken once)."""
    if analysis.name in ANALYSES and ANALYSES[analysis.name] is not analysis:
        raise ValueError(f"an analysis named {analysis.name!r} is already registered")
    ANALYSES[analysis.name] = analysis
    return analysis


def unregister(name: str) -> None:
    ANALYSES.pop(name, None)


def in_group(group: str) -> list[Analysis]:
    return [a for a in ANALYSES.values() if a.group == group]


def flat_items(result: Result) -> list[tuple[str, str]]:
    """The result's plain top-level values (numbers, text) as (name, shown) pairs: the
    generic table of an analysis that no front end draws by hand."""
    items = []
    for key, value in result.to_dict().items():
        if isinstance(value, bool) or value is None:
            items.append((key, str(value).lower()))
        elif isinstance(value, int):
            items.append((key, f"{value:,}"))
        elif isinstance(value, float):
            items.append((key, f"{value:.4g}"))
        elif isinstance(value, str):
            items.append((key, value))
    return items
