"""What every experiment screen shares: Escape goes back, a status line, and engine work in
thread workers whose progress reaches the screen through a polled slot, not per event."""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState, get_current_worker

from engine import events as ev
from engine.errors import UserFacing
from engine.models.files import UntrustedCode

# What a picture screen says while its model and test images load: the first time on a
# machine MNIST is also unpacked into the cache, which takes several seconds.
LOADING = (
    "loading the model and the test images ... (the first time, MNIST is unpacked into the"
    " cache: about 10 s)"
)


class WorkerCancel:
    """The cancel flag the engine checks, set when the Textual worker is cancelled."""

    def __init__(self) -> None:
        self.worker = get_current_worker()

    def is_set(self) -> bool:
        return self.worker.is_cancelled


class EventInbox:
    """An ``emit`` for worker threads: events queue up and the screen drains them on a timer,
    so a flood of progress costs the UI one redraw per tick, not one per event."""

    def __init__(self) -> None:
        self._events: deque[ev.Event] = deque()

    def __call__(self, event: ev.Event) -> None:
        self._events.append(event)  # deque.append is thread-safe

    def drain(self) -> list[ev.Event]:
        drained = []
        while self._events:
            drained.append(self._events.popleft())
        return drained


# Below this many rows a screen with pictures or tables (class "turn") and a chart (.chart)
# shows one of them at a time, v switching: both at once would leave the chart 2-4 rows
# tall at 80x24.
SHORT_ROWS = 34


class ExperimentScreen(Screen):
    """Base of the experiment screens."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("c", "cancel", "Cancel work", show=False),
        Binding("i", "about", "About this"),
        Binding("v", "toggle_view", "Switch view"),
        Binding("comma", "moment(-1)", "Earlier", key_display=","),
        Binding("full_stop", "moment(1)", "Later", key_display="."),
        Binding("space", "play", "Play moments", key_display="space"),
    ]
    STUDY_SECTION = ""  # the section of the study document this screen belongs to
    VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT_ROWS, "-tall")]

    def on_mount(self) -> None:
        # pictures and a chart: on a short terminal they take turns (see SHORT_ROWS)
        self.set_class(bool(self.query(".turn")) and bool(self.query(".chart")), "-split")

    def on_resize(self) -> None:
        self.refresh_bindings()  # v shows only where the terminal is short
        self.apply_view()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        return self.refusal(action) is None

    def refusal(self, action: str) -> str | None:
        """Why the action cannot act on this screen now (None: it can). A refused key is
        out of the footer and, pressed, says this in a notification (on_key)."""
        if action == "toggle_view" and not (self.has_class("-split") and self.short):
            return (f"v switches between pictures and chart only on a terminal under"
                    f" {SHORT_ROWS} rows; here both are shown")  # fmt: skip
        if action in ("moment", "play") and not self.MOMENT_REDRAW:
            return (", . and space step a network's pictures through its run's moments"
                    " (Filters, Histograms, Occlusion, Attribution, ...); this screen shows"
                    " the run's best checkpoint only")  # fmt: skip
        return None

    def bound_below(self, key: str) -> bool:
        """Whether the focused widget or one of its containers binds ``key`` (a key event
        reaches the screen before bindings are looked up: a checkbox's space is its own)."""
        node = self.focused
        while node is not None and node is not self:
            if key in node._bindings.key_to_bindings:
                return True
            node = node.parent
        return key in self.app._bindings.key_to_bindings

    def on_key(self, event: events.Key) -> None:
        """A key bound here whose action is refused now: said, not silently dropped."""
        if self.bound_below(event.key):
            return
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            why = self.refusal(binding.action.split("(")[0])
            if why:
                event.stop()
                event.prevent_default()
                self.notify(why, timeout=5)
                return

    # A screen whose pictures come from the analyses' run names its redraw method here: ,
    # and . then step the weights through the run's snapshots (engine.runs.snapshots).
    MOMENT_REDRAW = ""
    # The method that starts the screen's work again (after its run's code was trusted in
    # the dialog); by default the moment redraw.
    RETRY = ""

    # space plays the moments from the first (or from where it is) to the last, one every
    # PLAY_SECONDS: long enough to see a picture change and read its title
    PLAY_SECONDS = 1.5
    _playing = None

    def action_moment(self, step: int) -> None:
        self.stop_playing()
        self.show_moment(step)

    def show_moment(self, step: int) -> str | None:
        """Step the weights ``step`` moments and redraw; the moment now shown (None: none)."""
        try:
            moment = self.app.step_moment(step)
        except UserFacing as error:
            self.set_status(str(error), error=True)
            return None
        getattr(self, self.MOMENT_REDRAW)()  # its title says the moment (moment_prefix)
        return moment

    def moment_options(self) -> list[str]:
        """The moment shown, as the command line names it (a screen drawn by a command)."""
        return (
            ["--at", self.app.moment] if self.app.moment else ["--checkpoint", self.app.checkpoint]
        )

    def moment_prefix(self) -> str:
        """'epoch:3 — ' while the pictures are of a snapshot; '' at the checkpoint."""
        return f"{self.app.moment} — " if self.app.moment else ""

    def action_play(self) -> None:
        """Play the moments in turn (from the first, if at the end); space again pauses."""
        if self._playing is not None:
            self.stop_playing()
            self.notify("paused (space plays on)", timeout=2)
            return
        if self.app.moment is None and self.show_moment(-10_000) is None:  # from the first
            return
        self._playing = self.set_interval(self.PLAY_SECONDS, self._play_step)
        self.notify("playing the moments (space pauses)", timeout=2)

    def _play_step(self) -> None:
        if self.app.moment is None or self.show_moment(1) is None:  # the last one is shown
            self.stop_playing()
            self.notify("played to the end (space plays again)", timeout=3)

    def stop_playing(self) -> None:
        if self._playing is not None:
            self._playing.stop()
            self._playing = None

    @property
    def short(self) -> bool:
        """Whether the terminal is too short for pictures and a chart at once."""
        return self.app.size.height < SHORT_ROWS

    def action_toggle_view(self) -> None:
        """Pictures or chart, on a terminal too short for both."""
        self.toggle_class("-charts")
        self.apply_view()

    def apply_view(self) -> None:
        """Show what the view asks for, where CSS alone cannot (a screen's own layout)."""

    def action_about(self) -> None:
        """What this screen shows and why, from the study document."""
        from tui.screens.study import StudyScreen

        self.app.push_screen(StudyScreen(self.STUDY_SECTION))

    def action_back(self) -> None:
        self.stop_playing()
        self.workers.cancel_all()
        self.app.pop_screen()

    def action_cancel(self) -> None:
        if any(w.is_running for w in self.workers):
            self.workers.cancel_all()
            self.set_status("cancelled")

    def set_status(self, text: str, error: bool = False) -> None:
        for status in self.query(".status"):
            if isinstance(status, Static):
                status.update(Text(text))  # plain: a run name or message is never markup
                status.set_class(error, "error")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Failures are handled once, here: shown in the status line, never a crash."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            if isinstance(error, UntrustedCode):
                self.ask_trust(error)
            # a user's mistake reads as a sentence; anything else names its kind for a report
            text = str(error).strip().splitlines()[0] if str(error).strip() else ""
            if not isinstance(error, UserFacing) or not text:
                text = f"{type(error).__name__}: {text}".rstrip(": ")
            self.set_status(text, error=True)

    def ask_trust(self, error: UntrustedCode) -> None:
        """A run's copied code: shown, and run only if the user says so (then redrawn)."""
        from engine.models.files import trust
        from tui.screens.ask import TrustCode

        def answered(yes: bool | None) -> None:
            if not yes:
                self.set_status(f"run {error.run_id}'s code was not run", error=True)
                return
            trust(self.app.settings.home, error.path)
            self.set_status(f"trusted {error.path}")
            if self.RETRY or self.MOMENT_REDRAW:
                getattr(self, self.RETRY or self.MOMENT_REDRAW)()

        self.app.push_screen(TrustCode(error.run_id, str(error.path), error.first_lines()),
                             answered)  # fmt: skip
