"""Everything the engine has to say, as frozen dataclasses named in the past tense.

Each event holds plain fields only (numbers, strings, lists, dicts of those), so it turns
into one JSON line and back without loss: ``event_from_json(event_to_json(e)) == e``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EVENT_TYPES: dict[str, type[Event]] = {}


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class Event:
    """Base of every event; ``time`` is the wall-clock second it was made."""

    time: float = field(default_factory=_now, kw_only=True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        EVENT_TYPES[cls.__name__] = cls


Emit = Callable[[Event], None]


def ignore(event: Event) -> None:
    """An ``emit`` that drops every event, for calls from a Python prompt."""


# --- training -------------------------------------------------------------------------


@dataclass(frozen=True)
class RunStarted(Event):
    """A training run began (or resumed at ``start_epoch``)."""

    run_id: str
    model: str
    device: str
    epochs: int
    start_epoch: int
    batches_per_epoch: int
    train_size: int
    val_size: int
    test_size: int
    dataset: str
    config: dict


@dataclass(frozen=True)
class BatchTrained(Event):
    """One optimiser step; ``step`` counts batches from the start of the run."""

    epoch: int
    batch: int
    batches: int
    step: int
    loss: float
    lr: float
    images_per_s: float


@dataclass(frozen=True)
class EpochEvaluated(Event):
    """An epoch ended and the validation set was scored."""

    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    best_val_accuracy: float
    lr: float
    seconds: float
    images_per_s: float


@dataclass(frozen=True)
class CheckpointSaved(Event):
    """A checkpoint file was written (``kind`` is ``best`` or ``last``)."""

    kind: str
    epoch: int
    path: str
    val_accuracy: float


@dataclass(frozen=True)
class TestEvaluated(Event):
    """The best checkpoint was scored on the test set."""

    test_accuracy: float
    test_loss: float
    confusion: list
    per_class_accuracy: list
    seconds: float
    images_per_s: float


@dataclass(frozen=True)
class RunFinished(Event):
    """The run completed every epoch; the summary figures."""

    epochs: int
    best_epoch: int
    best_val_accuracy: float
    test_accuracy: float
    test_loss: float
    train_seconds: float
    test_seconds: float


@dataclass(frozen=True)
class RunStopped(Event):
    """The run was asked to stop and did so cleanly after ``epoch`` full epochs."""

    epoch: int
    reason: str


@dataclass(frozen=True)
class RunFailed(Event):
    """The run ended with an error."""

    error: str


# --- analysis and attacks ---------------------------------------------------------------


@dataclass(frozen=True)
class ProgressMade(Event):
    """A long analysis advanced: ``done`` of ``total`` units (positions, images...)."""

    task: str
    done: int
    total: int


@dataclass(frozen=True)
class AttackStepped(Event):
    """One step of an input optimisation; one value per image in the batch."""

    attack: str
    step: int
    steps: int
    logits: list
    probabilities: list


@dataclass(frozen=True)
class InputsSnapshotted(Event):
    """The images an input optimisation is forming, every so many steps: (n, 28, 28) lists
    of pixel values."""

    attack: str
    step: int
    images: list


@dataclass(frozen=True)
class RobustnessMeasured(Event):
    """One point of the accuracy-against-epsilon curve."""

    attack: str
    eps: float
    accuracy: float
    robust_accuracy: float
    images: int
    seconds: float
    images_per_s_per_step: float


def event_to_dict(event: Event) -> dict:
    """The event's fields plus its type name under ``event``."""
    return {"event": type(event).__name__, **dataclasses.asdict(event)}


def event_to_json(event: Event) -> str:
    """One JSON line (no newline) for the event."""
    return json.dumps(event_to_dict(event), separators=(",", ":"))


def event_from_dict(data: dict) -> Event:
    """Rebuild an event from ``event_to_dict``'s output; unknown fields are ignored."""
    data = dict(data)
    cls = EVENT_TYPES[data.pop("event")]
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def event_from_json(line: str) -> Event:
    """Rebuild an event from one JSON line."""
    return event_from_dict(json.loads(line))
