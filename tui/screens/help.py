"""Every key of the app, gathered from the screens' own bindings."""

from __future__ import annotations

from functools import cache

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from tui.experiments import EXPERIMENTS


@cache
def key_lines(app_bindings: tuple = ()) -> tuple[str, ...]:
    """One line per screen and key, from the BINDINGS the app and the screens declare."""
    import importlib

    from tui.screens.base import ExperimentScreen
    from tui.screens.home import HomeScreen

    def describe(bindings) -> list[str]:
        lines = []
        for binding in bindings:
            if isinstance(binding, Binding) and binding.description:
                lines.append(f"  {binding.key_display or binding.key:<12} {binding.description}")
        return tuple(lines)

    lines = ["[b]Everywhere[/]", *describe(app_bindings), "  ctrl+p       command palette: find any experiment by name",
             *describe(ExperimentScreen.BINDINGS), "  c            cancel a long computation", "",
             "[b]Home[/]", *describe(HomeScreen.BINDINGS), "  j / k        move down / up", "  Enter        open"]  # fmt: skip
    seen = set()
    for experiment in EXPERIMENTS:
        module_name, class_name = experiment.screen.split(":")
        if experiment.screen in seen:
            continue
        seen.add(experiment.screen)
        screen_class = getattr(importlib.import_module(f"tui.screens.{module_name}"), class_name)
        own = [b for b in screen_class.BINDINGS if b not in ExperimentScreen.BINDINGS]
        lines += ["", f"[b]{experiment.title}[/]", *describe(own)]
    return tuple(lines)


class HelpScreen(Screen):
    """Press any of Escape, q or ? to close."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Close"),
        Binding("question_mark", "app.pop_screen", "Close"),
        Binding("q", "app.pop_screen", "Close"),
    ]

    def __init__(self, app_bindings=()) -> None:
        super().__init__()
        self.app_bindings = tuple(app_bindings)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            text = Text()
            for line in key_lines(self.app_bindings):
                # headings are marked [b]...[/]; drawn as plain Text, keys like "[" stay keys
                if line.startswith("[b]"):
                    text.append(line[3:-3] + "\n", style="bold")
                else:
                    text.append(line + "\n")
            yield Static(text)
