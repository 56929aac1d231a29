"""Two runs side by side: an analysis of the analysed run and of a second one (both picked
in the Runs screen), at the same moment and with the same options, each half drawn by the
command's own drawing — what `mnist-tui ANALYSIS RUN --vs RUN2` prints, one beside the
other (tui.cli.captured). , and . step the moment for both; o takes options as the command
line writes them (e.g. --channel 3)."""

from __future__ import annotations

import shlex

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Header, Input, Static

from engine.analyses import ANALYSES
from tui.screens.base import ExperimentScreen, WorkerCancel
from tui.widgets.keys_footer import KeysFooter

SIDES = ("left", "right")


def command_of(name: str) -> list[str]:
    """The command line's words for an analysis: ``filters``, ``attack synthesize``."""
    analysis = ANALYSES[name]
    return [analysis.group, analysis.name] if analysis.group else [analysis.name]


class SideBySideScreen(ExperimentScreen):
    """The analysed run on the left, the second run on the right."""

    BINDINGS = [Binding("o", "options", "Options")]
    MOMENT_REDRAW = "draw"
    AUTO_FOCUS = "#side-left"

    def __init__(self, analysis: str) -> None:
        super().__init__()
        self.analysis = ANALYSES[analysis]
        self.STUDY_SECTION = self.analysis.study_section
        self.options: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="side-title", classes="title")
        with Horizontal(id="sides"):
            for side in SIDES:
                with VerticalScroll(id=f"side-{side}", classes="side"):
                    yield Static("", id=f"side-{side}-heading", classes="side-heading")
                    yield Static("", id=f"side-{side}-body")
        yield Input(placeholder=f"options for both, as after `mnist-tui {' '.join(command_of(self.analysis.name))} RUN`"
                    " (Enter applies)", id="side-options")  # fmt: skip
        yield Static("", classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.draw()

    def on_key(self, event) -> None:
        """A letter the single run's screen takes (Predictions' n, p, r, w ...) does nothing
        here: the options are typed for both runs at once, so say how."""
        # (ExperimentScreen.on_key runs after this one, for the keys bound here.)
        if not (event.character or "").isalpha() or len(event.key) > 1:
            return
        if self.bound_below(event.key) or event.key in self._bindings.key_to_bindings:
            return
        event.stop()
        event.prevent_default()
        words = " ".join(command_of(self.analysis.name))
        self.notify(f"side by side, both runs take the same options: press o and type them as"
                    f" after `mnist-tui {words} RUN` (its --help lists them)", timeout=5)  # fmt: skip

    def on_resize(self) -> None:
        super().on_resize()
        self.draw()  # each half fits its width

    def action_options(self) -> None:
        self.query_one("#side-options", Input).focus()

    @on(Input.Submitted, "#side-options")
    def options_given(self, event: Input.Submitted) -> None:
        try:
            self.options = shlex.split(event.value)
        except ValueError as error:  # an unclosed quote
            self.set_status(f"options: {error}", error=True)
            return
        self.query_one("#side-left").focus()
        self.draw()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def draw(self) -> None:
        drawn = self.app.settings.draw_command
        runs = (self.app.selected_run or "latest", self.app.versus_run)
        words = command_of(self.analysis.name)
        moment = self.app.moment or f"{self.app.checkpoint}.pt"
        self.app.call_from_thread(
            self.query_one("#side-title", Static).update,
            Text(f"{self.analysis.title} — {moment}, side by side"),
        )  # fmt: skip
        region = self.query_one("#side-left").content_region  # less its scroll bar, heading
        width, height = max(30, region.width - 2), max(10, region.height - 1)
        colour = self.app.settings.colour
        for side, run in zip(SIDES, runs, strict=True):
            self.app.call_from_thread(self.set_status, f"drawing {' '.join(words)} for {run} ..."
                                      " (c cancels)")  # fmt: skip
            argv = [*words, run, *self.moment_options(), *self.options]
            argv += [] if colour else ["--ascii"]
            text, error = drawn(argv, self.app.settings.home, width, height, colour, WorkerCancel())
            self.app.call_from_thread(self.show, side, f"run {run} — {moment}", text, error)
        self.app.call_from_thread(self.set_status, f"`mnist-tui {' '.join(words)} {runs[0]} --vs"
                                  f" {runs[1]}` prints the same")  # fmt: skip

    def show(self, side: str, heading: str, text: Text, error: str) -> None:
        self.query_one(f"#side-{side}-heading", Static).update(Text(heading, style="bold"))
        body = Text(error, style="red") if error else text
        self.query_one(f"#side-{side}-body", Static).update(body)
