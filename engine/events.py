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
    threads: int = 0  # the CPU threads torch trains with (0: not recorded, an older log)


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
class GradientsMeasured(Event):
    """After a step (every ``engine.training.loop.GRADIENTS_EVERY`` batches): each weighted
    layer's gradient and weights (L2 norms), and a sentence for each layer whose gradient
    vanishes or explodes (engine.inside.histograms.judge)."""

    epoch: int
    batch: int
    step: int
    layers: list
    gradient_norms: list
    weight_norms: list
    warnings: list = field(default_factory=list)


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
    # adversarial runs: accuracy under PGD on a fixed validation subset, and that of the
    # best checkpoint (which such a run picks by it)
    robust_val_accuracy: float | None = None
    best_robust_val_accuracy: float | None = None
    # an ibp run: the share of the validation images (the first 1,000) proven at --eps by
    # interval bounds, which is also its robust_val_accuracy (it picks best.pt)
    certified_val_accuracy: float | None = None


OVERFITTING = "catastrophic overfitting"  # a single-step defence's collapse (Wong et al.)


@dataclass(frozen=True)
class RobustnessCollapsed(Event):
    """An adversarial run's robust validation accuracy fell far below its best: the
    "catastrophic overfitting" of single-step defences (Wong et al. 2020), or interval bound
    training diverging as its eps grows. The best checkpoint stays the one of
    ``best_epoch``; ``cause`` names what happened and what to change."""

    epoch: int
    robust_val_accuracy: float
    best_robust_val_accuracy: float
    best_epoch: int
    cause: str = OVERFITTING


@dataclass(frozen=True)
class RunStuckAtChance(Event):
    """After an epoch the validation accuracy is still about chance (one class in
    ``classes``): the network is not learning. ``advice`` says what to change."""

    epoch: int
    val_accuracy: float
    classes: int
    advice: str


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
    plain_test_accuracy: float | None = None  # without test-time augmentation, where it is on


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
    best_robust_val_accuracy: float | None = None
    plain_test_accuracy: float | None = None  # without test-time augmentation, where it is on


@dataclass(frozen=True)
class WeightsImported(Event):
    """The run's weights were trained elsewhere and imported (``mnist-tui import``)."""

    source: str  # the weights file, as given
    sha256: str


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
    # accuracy after each part, in order ('clean' first): for `worst`, what every attack
    # added to the ones before it
    after_each: dict = field(default_factory=dict)
    # with --certify: the share proven robust at this eps by interval bounds (a lower bound
    # on the true robust accuracy, of which robust_accuracy is an upper bound)
    certified_accuracy: float | None = None


def event_to_dict(event: Event) -> dict:
    """The event's fields plus its type name under ``event``."""
    return {"event": type(event).__name__, **dataclasses.asdict(event)}


def event_to_json(event: Event) -> str:
    """One JSON line (no newline) for the event."""
    return json.dumps(event_to_dict(event), separators=(",", ":"))


# What each annotated field type accepts when an event is read back (bool is not a number).
_FIELD_TYPES = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "list": (list,),
    "dict": (dict,),
    "float | None": (int, float, type(None)),
}


class EventDecodeError(ValueError):
    """A log line that is not an event this version knows, with the fields it must have."""


def event_from_dict(data: dict) -> Event:
    """Rebuild an event from ``event_to_dict``'s output; unknown fields are ignored, a
    missing field or one of the wrong type raises EventDecodeError."""
    if not isinstance(data, dict):
        raise EventDecodeError(f"not an object: {type(data).__name__}")
    data = dict(data)
    name = data.pop("event", None)
    cls = EVENT_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise EventDecodeError(f"unknown event type {name!r}")
    values = {}
    for spec in dataclasses.fields(cls):
        if spec.name not in data:
            missing = dataclasses.MISSING
            has_default = spec.default is not missing or spec.default_factory is not missing
            if spec.name == "time" or has_default:
                continue  # a field added later, with its default, in an older log
            raise EventDecodeError(f"{name} without {spec.name}")
        value = data[spec.name]
        allowed = _FIELD_TYPES.get(str(spec.type), (object,))
        if isinstance(value, bool) or not isinstance(value, allowed):
            raise EventDecodeError(f"{name}.{spec.name} is {type(value).__name__}")
        values[spec.name] = value
    return cls(**values)


def event_from_json(line: str) -> Event:
    """Rebuild an event from one JSON line; EventDecodeError for anything else (including
    nesting too deep to decode)."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError) as error:
        raise EventDecodeError(f"not JSON ({type(error).__name__})") from None
    return event_from_dict(data)
