"""The settings of a new run as a form: a recipe, then every setting the form shows (each
declared once in engine.config: its widget, rule and message come from the declaration),
checked as it is typed. Enter or the button asks for the run (``RunForm.Submitted``)."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Button, Input, Label, Select, Static

from engine.config import RECIPES, SETTINGS, Setting, TrainConfig, model_label
from engine.errors import SettingError, UserFacing

FORM_SETTINGS = tuple(spec for spec in SETTINGS if spec.in_form)


START = "Start (Enter or ctrl+s)"


class SettingValidator(Validator):
    """Checks a typed value against its setting's declaration, with the same message the
    command line gives."""

    def __init__(self, spec: Setting) -> None:
        super().__init__()
        self.spec = spec

    def validate(self, value: str) -> ValidationResult:
        try:
            self.spec.parse(value)
        except SettingError as error:
            return self.failure(in_form_words(self.spec, error))
        return self.success()


def in_form_words(spec: Setting, error: SettingError) -> str:
    """A setting's refusal as the form says it: by the field's label ('learning rate: ...'),
    not the setting's name the command line uses ('lr: ...')."""
    return f"{spec.label}: {str(error).removeprefix(f'{spec.name}: ')}"


def recent_model_files(home, most: int = 5) -> tuple[str, ...]:
    """The model files of the newest runs (``FILE.py:Class``), newest first, at most ``most``."""
    from engine import runs
    from engine.models.files import is_model_file

    found: list[str] = []
    for run_dir in reversed(runs.list_runs(home)[-50:]):
        try:
            model = runs.read_config(run_dir).model
        except UserFacing:
            continue
        if is_model_file(model) and model not in found:
            found.append(model)
        if len(found) == most:
            break
    return tuple(found)


def setting_field(spec: Setting, value, more: tuple[str, ...] = ()) -> Input | Select:
    """The form's widget for one setting: a list for choices (with ``more`` of them where
    the choices are open, such as the model files used before), a checked text field else."""
    if spec.kind is bool:
        return Select([("on", True), ("off", False)], value=value, allow_blank=False, id=spec.name)
    if spec.choices:
        extra = [c for c in dict.fromkeys((*more, value)) if c not in spec.choices]
        options = [(c, c) for c in spec.choices] + [(f"{model_label(c)} ({c})", c) for c in extra]
        return Select(options, value=value, allow_blank=False, id=spec.name)
    return Input(spec.show(value), validators=[SettingValidator(spec)], id=spec.name,
                 tooltip=f"{spec.help}; {spec.rule()}")  # fmt: skip


class RunForm(Vertical):
    """``base``: the settings to start from (a run's, or the defaults with a model), over
    ``train_defaults`` (the app's); ``data``: the app's data folder for the run."""

    class Submitted(Message):
        """The form's settings, checked: a run to start."""

        def __init__(self, config: TrainConfig) -> None:
            super().__init__()
            self.config = config

    class ModelChosen(Message):
        def __init__(self, model: str) -> None:
            super().__init__()
            self.model = model

    def __init__(self, base: dict, train_defaults: dict, data: str | None,
                 model_files: tuple[str, ...] = (), id: str = "train-form",
                 cost: Callable[[TrainConfig], str] = lambda config: "") -> None:  # fmt: skip
        super().__init__(id=id)
        self.base, self.train_defaults, self.data = base, train_defaults, data
        self.model_files = model_files
        self.cost = cost  # what a run of these settings costs here: "about 10 s here"
        self.problems: dict[str, str] = {}  # field id -> why its value is refused

    def compose(self) -> ComposeResult:
        defaults = TrainConfig(**{**self.train_defaults, **self.base})
        # above the fields: the cost and a refusal are seen on a 24-row terminal, where the
        # form scrolls
        yield Static("", id="form-cost", classes="muted")
        yield Static("", id="form-error", classes="error")
        with Grid(id="form-grid"):  # label, field; three pairs a row, two when narrow
            yield Label("recipe")
            yield Select([(name, name) for name in RECIPES], value="study", allow_blank=False,
                         id="recipe", tooltip="; ".join(f"{r.name}: {r.description}"
                                                        for r in RECIPES.values()))  # fmt: skip
            for spec in FORM_SETTINGS:
                yield Label(spec.label)
                more = self.model_files if spec.name == "model" else ()
                yield setting_field(spec, getattr(defaults, spec.name), more)
        yield Button(START, id="start", variant="primary")

    def on_mount(self) -> None:
        self.say_cost()

    def focus_first(self) -> None:
        """The recipe first: it decides the rest, and what the run costs."""
        self.query_one("#recipe").focus()

    def say_cost(self) -> None:
        """The Start button says what the settings entered cost on this machine."""
        config = self.read(quiet=True)
        cost = self.cost(config) if config is not None else ""
        self.query_one("#start", Button).label = f"{START} — {cost}" if cost else START
        recipe = self.query_one("#recipe", Select).value
        self.query_one("#form-cost", Static).update(
            f"{recipe} recipe as set below: {cost} (from this machine's runs)" if cost else
            f"{recipe} recipe as set below: no run of this network here yet to time it by")  # fmt: skip

    @on(Select.Changed, "#recipe")
    def recipe_chosen(self, event: Select.Changed) -> None:
        """Fill the form with the recipe's settings (the rest as the app's defaults); every
        field stays editable, as a setting given on the command line overrides the recipe."""
        if event.value not in RECIPES:
            return
        chosen = TrainConfig(**{**self.train_defaults, **self.base,
                                **RECIPES[event.value].settings})  # fmt: skip
        for spec in FORM_SETTINGS:
            widget = self.query_one(f"#{spec.name}")
            value = getattr(chosen, spec.name)
            if isinstance(widget, Select):
                widget.value = value
            else:
                widget.value = spec.show(value)
        self.say_cost()

    @on(Select.Changed, "#model")
    def model_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.post_message(self.ModelChosen(event.value))

    def read(self, quiet: bool = False) -> TrainConfig | None:
        """The settings entered, or None if any is refused: each refusal said beside its
        field, on the error line and in a notification (none of it when ``quiet``)."""
        values: dict = dict(self.train_defaults)
        bad = []
        for spec in FORM_SETTINGS:
            widget = self.query_one(f"#{spec.name}")
            try:
                if isinstance(widget, Select):
                    values[spec.name] = spec.check(widget.value)
                else:
                    values[spec.name] = spec.parse(widget.value)
                    widget.border_subtitle = ""
            except SettingError as error:
                said = in_form_words(spec, error)
                bad.append(said)
                if not quiet:
                    widget.set_class(True, "-invalid")
                    widget.border_subtitle = said
        if bad:
            if not quiet:
                self.refuse("not started: " + "; ".join(bad))
            return None
        if self.data:
            values["data"] = self.data
        config = TrainConfig(**values)
        try:
            config.validate()
        except SettingError as error:
            if not quiet:
                self.refuse(f"not started: {error}")
            return None
        return config

    def refuse(self, reason: str) -> None:
        self.query_one("#form-error", Static).update(Text(reason))
        if reason:
            self.app.notify(reason, severity="error", timeout=8)

    @on(Input.Changed)
    @on(Input.Blurred)
    def field_changed(self, event: Input.Changed | Input.Blurred) -> None:
        """The error line names every field still wrong, whichever has the focus: a red field
        never stands without its reason."""
        if event.validation_result is None:
            return
        valid = event.validation_result.is_valid
        event.input.set_class(not valid, "-invalid")
        reason = "; ".join(event.validation_result.failure_descriptions)
        event.input.border_subtitle = "" if valid else reason
        if valid:
            self.problems.pop(event.input.id, None)
        else:
            self.problems[event.input.id] = reason
        self.query_one("#form-error", Static).update(Text("; ".join(self.problems.values())))
        if valid:
            self.say_cost()

    @on(Input.Submitted)
    @on(Button.Pressed, "#start")
    def submit(self) -> None:
        """Ask for the run, if every setting holds."""
        config = self.read()
        if config is not None:
            self.refuse("")
            self.post_message(self.Submitted(config))
