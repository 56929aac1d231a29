"""Every key of the app, gathered from the screens' own bindings."""

from __future__ import annotations

from functools import cache

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from tui.screens.catalogue import experiments


@cache
def key_lines(app_bindings: tuple = ()) -> tuple[str, ...]:
    """One line per screen and key, from the BINDINGS the app, the screens and the widgets
    they focus declare — each key once per section."""
    from tui.screens.base import ExperimentScreen
    from tui.screens.home import HomeScreen

    def describe(bindings, skip=()) -> list[str]:
        lines, seen = [], set(skip)
        for binding in bindings:
            known = (binding.key, binding.description) if isinstance(binding, Binding) else None
            if known is None or not binding.description or known in seen:
                continue
            seen.add(known)
            more = f" ({binding.tooltip})" if binding.tooltip else ""
            lines.append(f"  {binding.key_display or binding.key:<12} {binding.description}{more}")
        return lines

    everywhere = [*app_bindings, *ExperimentScreen.BINDINGS]
    lines = ["[b]Everywhere[/]", *describe(everywhere), "  ctrl+p       command palette: find any experiment by name",
             "", "[b]Home[/]", *describe(HomeScreen.BINDINGS),
             *(f"  {e.key:<12} {e.title}" for e in experiments()),
             "  Tab          between experiments and runs",
             "  Enter        open the experiment or follow the run"]  # fmt: skip
    shown = {(b.key, b.description) for b in everywhere}
    seen = set()
    for experiment in experiments():
        screen_class = experiment.screen()
        if screen_class in seen:
            continue
        seen.add(screen_class)
        bindings = [*screen_class.BINDINGS, *getattr(screen_class, "WIDGET_KEYS", ())]
        lines += ["", f"[b]{experiment.title}[/]", *describe(bindings, skip=shown)]
    return tuple(lines)


def keys_here(screen: Screen) -> tuple[str, tuple[str, ...]]:
    """The screen's name and a line per key that acts on it now, gathered from its active
    bindings (the focused widget's, the screen's, the app's): what `?` shows first."""
    titles = {e.screen(): e.title for e in experiments()}
    from tui.screens.home import HomeScreen

    title = "Home" if isinstance(screen, HomeScreen) else titles.get(type(screen), "")
    lines, seen = [], set()
    # the screen's own keys first (its class's, then its kind's), then the app's, then the
    # focused widget's (a table's cursor
    # keys would otherwise come first and push the screen's below the fold)
    from tui.widgets.keys_footer import own_actions

    mine = own_actions(screen)

    def rank(item) -> int:
        node, binding = item[0], item[1]
        if node is screen:
            return 0 if binding.action in mine else 1
        return 2 if node is screen.app else 3

    ranked = sorted(screen.active_bindings.values(), key=rank)
    for _, binding, enabled, _ in ranked:
        key = screen.app.get_key_display(binding)
        if not binding.description or not enabled or key in seen:
            continue
        seen.add(key)
        more = f" ({binding.tooltip})" if binding.tooltip else ""
        lines.append(f"  {key:<12} {binding.description}{more}")
    return title or type(screen).__name__.removesuffix("Screen"), tuple(lines)


class HelpScreen(Screen):
    """Press any of Escape, q or ? to close."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close"),
        Binding("question_mark", "app.pop_screen", "Close"),
        Binding("q", "app.pop_screen", "Close"),
    ]

    def __init__(self, app_bindings=(), here: tuple[str, tuple[str, ...]] | None = None) -> None:
        super().__init__()
        self.app_bindings = tuple(app_bindings)
        self.here = here  # (the screen `?` was pressed on, its keys): shown first

    def compose(self) -> ComposeResult:
        yield Static(Text("Keys of every screen — Escape, q or ? closes this", style="bold"),
                     classes="title")  # fmt: skip
        with VerticalScroll(id="help"):
            text = Text()
            if self.here:
                title, lines = self.here
                text.append(f"Here: {title}\n", style="bold")
                text.append("\n".join(lines) + "\n\n")
            for line in key_lines(self.app_bindings):
                # headings are marked [b]...[/]; drawn as plain Text, keys like "[" stay keys
                if line.startswith("[b]"):
                    text.append(line[3:-3] + "\n", style="bold")
                else:
                    text.append(line + "\n")
            yield Static(text)
