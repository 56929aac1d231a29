"""Small questions over the current screen: a yes/no confirmation and a line of text."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class Confirm(ModalScreen[bool]):
    """y confirms; n or Escape says no."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question)
            yield Static("y: yes    n or Escape: no", classes="muted")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TrustCode(ModalScreen[bool]):
    """Asked when a run's network is code not written on this machine: its file and first
    lines; y trusts it (engine.models.files), n or Escape leaves it unrun."""

    BINDINGS = [
        Binding("y", "answer(True)", "Trust and run it"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No"),
    ]

    def __init__(self, run_id: str, path: str, first_lines: list[str]) -> None:
        super().__init__()
        self.run_id, self.path, self.first_lines = run_id, path, first_lines

    def compose(self) -> ComposeResult:
        from rich.text import Text

        with Vertical(classes="dialog"):
            yield Static(Text(f"Run {self.run_id} builds its network from code that was not"
                              " written on this machine. Running it runs that code:"))  # fmt: skip
            yield Static(Text(self.path), classes="muted")
            yield Static(Text("\n".join(self.first_lines) or "(empty)"), classes="code")
            yield Static("y: trust this file and run it    n or Escape: leave it unrun",
                         classes="muted")  # fmt: skip

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class AskText(ModalScreen[str | None]):
    """Enter answers with the text typed; Escape answers nothing."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question, self.value = question, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question)
            yield Input(self.value, id="answer")
            yield Static("Enter: done    Escape: cancel", classes="muted")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
