"""Beyond the clean test set, and proof: the analyses that judge a network on digits unlike
its training ones (MNIST-C's corruptions, turned and shifted digits), whether its confidence
can be trusted (calibration), and what can be proven about its robustness (interval bounds)
— each drawn as its command draws it (`mnist-tui corruptions RUN` ...), at the terminal's
width, for the analysed run at the moment shown. A key picks the analysis; o takes options
as the command line writes them (e.g. --only fog,stripe)."""

from __future__ import annotations

import shlex

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Header, Input, Static

from tui.screens.base import ExperimentScreen, WorkerCancel
from tui.widgets.keys_footer import KeysFooter

# key -> (the command's words, what the title calls it, options it starts with)
VIEWS = {
    "m": (["corruptions"], "natural corruptions (MNIST-C)", ["--images", "2000"]),
    "l": (["calibration"], "calibrated confidence", []),
    "t": (
        ["shift"],
        "accuracy and confidence as the digits turn",
        ["--rotate", "180", "--step", "30"],
    ),
    "s": (["shift"], "accuracy and confidence as the digits move", ["--translate", "14"]),
    "p": (
        ["certify"],
        "what interval bounds prove",
        ["--eps", "0,0.05,0.1,0.2,0.3", "--limit", "2000"],
    ),
    "e": (["ensemble"], "the runs as one network (an ensemble)", []),
}
NO_ENSEMBLE = ("e averages several runs: pick two in Runs (space) and press s on one, or press"
               " o and type --study NAME")  # fmt: skip


class BeyondScreen(ExperimentScreen):
    """m, l, t, s, p, e: one analysis each, drawn by its command (e: the selected run with
    the one beside it, or a study's runs given with o)."""

    BINDINGS = [
        Binding("m", "view('m')", "MNIST-C"),
        Binding("l", "view('l')", "Calibration"),
        Binding("t", "view('t')", "Turned"),
        Binding("s", "view('s')", "Shifted"),
        Binding("p", "view('p')", "Proof"),
        Binding("e", "view('e')", "Ensemble"),
        Binding("o", "options", "Options"),
    ]
    STUDY_SECTION = "9"
    MOMENT_REDRAW = "draw"
    AUTO_FOCUS = "#beyond-body"

    def __init__(self) -> None:
        super().__init__()
        self.view = "l"  # calibration first: the quickest, and the one every run needs
        self.options: dict[str, list[str]] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="beyond-title", classes="title")
        with VerticalScroll(id="beyond-body"):
            yield Static("", id="beyond-text")
        yield Input(placeholder="options, as after the command and RUN (Enter applies)",
                    id="beyond-options")  # fmt: skip
        yield Static("", classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#beyond-options", Input).display = False
        self.draw()

    def action_view(self, key: str) -> None:
        self.view = key
        self.draw()

    def action_options(self) -> None:
        field = self.query_one("#beyond-options", Input)
        field.display = True
        field.value = " ".join(self.options.get(self.view, VIEWS[self.view][2]))
        field.focus()

    @on(Input.Submitted, "#beyond-options")
    def options_given(self, event: Input.Submitted) -> None:
        try:
            self.options[self.view] = shlex.split(event.value)
        except ValueError as error:  # an unclosed quote
            self.set_status(f"options: {error}", error=True)
            return
        event.input.display = False
        self.query_one("#beyond-body").focus()
        self.draw()

    def command(self) -> list[str] | None:
        """The command line of the view; None where the ensemble has no runs to average."""
        words, _, first = VIEWS[self.view]
        options = self.options.get(self.view, first)
        if self.view != "e":
            return [*words, self.app.selected_run or "latest", *self.moment_options(), *options]
        if "--study" in options:
            return [*words, *options]
        if self.app.versus_run and self.app.selected_run:
            return [*words, self.app.selected_run, self.app.versus_run, *options]
        return None

    @work(thread=True, exclusive=True, exit_on_error=False)
    def draw(self) -> None:
        words, about, _ = VIEWS[self.view]
        argv = self.command()
        if argv is None:  # the title names the view asked for, not the one before
            self.app.call_from_thread(self.query_one("#beyond-title", Static).update,
                                      Text(f"{about} — no runs to average yet"))  # fmt: skip
            self.app.call_from_thread(self.show, Text(""), NO_ENSEMBLE, "")
            return
        shown = "mnist-tui " + " ".join(shlex.quote(w) for w in argv)
        self.app.call_from_thread(self.query_one("#beyond-title", Static).update,
                                  Text(f"{self.moment_prefix()}{about} — `{shown}`"))  # fmt: skip
        self.app.call_from_thread(self.set_status, f"drawing {' '.join(words)} ... (c cancels)")
        region = self.query_one("#beyond-body").content_region
        width, height = max(40, region.width - 2), max(10, region.height)
        colour = self.app.settings.colour
        drawn = self.app.settings.draw_command
        cancel = WorkerCancel()
        text, error = drawn([*argv, *([] if colour else ["--ascii"])], self.app.settings.home,
                            width, height, colour, cancel)  # fmt: skip
        if cancel.is_set():  # another view was asked for: its worker draws
            return
        self.app.call_from_thread(self.show, text, error, shown)

    def show(self, text: Text, error: str, shown: str) -> None:
        body = Text(error, style="red") if error else text
        self.query_one("#beyond-text", Static).update(body)
        if error:
            self.set_status(error, error=True)
        else:
            self.set_status(f"m l t s p e: another view; o: options; the shell prints the same:"
                            f" {shown}")  # fmt: skip
