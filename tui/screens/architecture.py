"""Architecture: the summary table of study §2 for either model, computed by running it."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Static

from engine.config import DEFAULT_MODEL, MODEL_NAMES
from tui.screens.base import ExperimentScreen
from tui.widgets.keys_footer import KeysFooter

MODELS = MODEL_NAMES  # m cycles through every network of the zoo


class ArchitectureScreen(ExperimentScreen):
    """Layers, shapes, parameters, neurons and multiply-adds; m switches the model."""

    STUDY_SECTION = "2"

    BINDINGS = [Binding("m", "switch_model", "Other model")]

    def __init__(self, model: str | None = None) -> None:
        super().__init__()
        self.model = model  # None: the network of the run the analyses use
        self.models = list(MODELS)  # and the selected run's own network, if a file

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="arch-title", classes="title")
        yield DataTable(id="layers", zebra_stripes=True, cursor_type="row")
        yield Static("", id="totals", classes="muted")
        yield Static("loading torch ...", classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from engine.config import model_label
        from engine.errors import UserFacing
        from engine.models.files import is_model_file
        from engine.models.layer_table import summarize_model
        from engine.models.zoo import build_model

        subject = None
        try:  # the run the analyses use: a network of its own joins the list
            subject = self.app.subject()
            if is_model_file(subject.model_name) and subject.model_name not in self.models:
                self.models.append(subject.model_name)
        except UserFacing:
            pass  # no run yet: the zoo alone
        if self.model is None:  # opened from the home: the analysed run's own network first
            self.model = subject.model_name if subject is not None else DEFAULT_MODEL
        if is_model_file(self.model) and subject is not None:
            summary = summarize_model(subject.model, model_label(self.model))
        else:
            summary = summarize_model(build_model(self.model), self.model)
        self.app.call_from_thread(self.show, summary)

    def show(self, summary) -> None:
        labels, rows = summary.table()
        table = self.query_one("#layers", DataTable)
        table.clear(columns=True)
        # each column as wide as its widest cell, given: the header is drawn at that width at
        # once (left to the table, it could be drawn once before the rows widened it)
        for i, label in enumerate(labels):
            table.add_column(label, width=max(len(label), *(len(row[i]) for row in rows)))
        table.add_rows(rows)
        self.query_one("#arch-title", Static).update(
            f"{summary.model}: shapes are channels x height x width"
        )
        self.query_one("#totals", Static).update(
            f"conv layers: {summary.parameters_in('conv'):,} parameters, {summary.neurons_in('conv'):,} neurons   "
            f"fc layers: {summary.parameters_in('fc'):,} parameters, {summary.neurons_in('fc'):,} neurons\n"
            "Neurons: each layer's outputs, the input counted, BatchNorm not."
        )
        self.set_status(f"m: the next of {len(self.models)} networks")

    def action_switch_model(self) -> None:
        if self.model is None:  # the analysed run's network is still being read
            self.set_status("reading the analysed run's network ... (m once it is shown)")
            return
        self.model = self.models[(self.models.index(self.model) + 1) % len(self.models)]
        self.load()
