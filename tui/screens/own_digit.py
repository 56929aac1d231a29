"""Draw: a digit drawn on a 28x28 canvas, and the network's ten probabilities as it forms;
or (o) a photo or scan of one's own digit, made into 28x28 as MNIST's digits were
(engine.data.own_digits), shown as given beside what the network sees, which can then be
drawn on."""

from __future__ import annotations

from rich.table import Table
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Header, Input, Static

from tui.screens.base import LOADING, ExperimentScreen
from tui.widgets.array_view import ArrayView
from tui.widgets.canvas import DigitCanvas
from tui.widgets.keys_footer import KeysFooter


def probability_bars(probabilities: list[float], width: int = 30, colour: bool = True) -> Table:
    table = Table.grid(padding=(0, 1))
    block = "█" if colour else "#"
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    for digit, p in enumerate(probabilities):
        bar = block * round(p * width)
        style = "bold green" if digit == best else ""
        table.add_row(
            f"[{style}]{digit}[/]" if style else str(digit),
            f"[{style or 'cyan'}]{bar}[/]",
            f"{p:6.1%}",
        )
    return table


class OpenPicture(ModalScreen[str | None]):
    """A path to a picture: Enter opens it, Escape goes back."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Back")]
    DEFAULT_CSS = """
    OpenPicture { align: center middle; }
    OpenPicture Input { width: 70; }
    """

    def compose(self) -> ComposeResult:
        yield Input(placeholder="a photo or scan of a digit: PNG, JPEG, ... (Enter opens)",
                    id="picture-path")  # fmt: skip

    @on(Input.Submitted)
    def opened(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


class DrawScreen(ExperimentScreen):
    """Draw with the mouse (right button erases) or the keyboard."""

    STUDY_SECTION = "4"
    RETRY = "on_mount"  # classifies the drawing again

    BINDINGS = [Binding("o", "open_picture", "Open file")]
    # the canvas has the keys here (it has the focus); help lists them with the screen's
    WIDGET_KEYS = [
        *DigitCanvas.BINDINGS,
        Binding("mouse", "", "drag draws, right button erases"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            "Draw a digit: drag the mouse, or arrows + space (x erases, c clears)", classes="title"
        )
        with Horizontal(classes="panels fill"):
            yield DigitCanvas(id="draw-canvas")
            yield ArrayView(id="draw-photo", classes="panel")  # a picture opened with o
            yield Static("", id="draw-probs", classes="panel")
        yield Static(LOADING, classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#draw-photo", ArrayView).display = False
        self.query_one(DigitCanvas).focus()
        self.classify(self.query_one(DigitCanvas).pixels.copy())

    @on(DigitCanvas.Changed)
    def drawing_changed(self, event: DigitCanvas.Changed) -> None:
        self.classify(event.canvas.pixels.copy())

    @work(thread=True, exclusive=True, exit_on_error=False)
    def classify(self, pixels) -> None:
        import torch

        from engine.inside.network import centred, classify

        subject = self.app.subject()
        probabilities = classify(subject.model, centred(torch.from_numpy(pixels)))
        self.app.call_from_thread(self.show, probabilities, subject.run_id)

    def show(self, probabilities: list[float], run_id: str) -> None:
        self.query_one("#draw-probs", Static).update(
            probability_bars(probabilities, colour=self.app.settings.colour)
        )
        best = max(range(10), key=probabilities.__getitem__)
        self.set_status(f"the network says {best} ({probabilities[best]:.1%}) — model {run_id}")

    def action_open_picture(self) -> None:
        self.app.push_screen(OpenPicture(), self.read_picture)

    @work(thread=True, exclusive=True, exit_on_error=False, group="picture")
    def read_picture(self, path: str | None) -> None:
        """The picture as MNIST's digits were made (a bad file: its one line in the status)."""
        from pathlib import Path

        from engine.data.own_digits import own_digit

        if not path:
            return
        digit = own_digit(Path(path).expanduser())
        self.app.call_from_thread(self.show_picture, digit)

    def show_picture(self, digit) -> None:
        from pathlib import Path

        photo = self.query_one("#draw-photo", ArrayView)
        photo.display = True
        photo.caption = f"{Path(digit.path).name}, as given"
        photo.array = digit.picture
        canvas = self.query_one(DigitCanvas)
        canvas.pixels[:] = digit.seen  # what the network sees, on the canvas: draw on it
        canvas.refresh()
        self.classify(canvas.pixels.copy())
