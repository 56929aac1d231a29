"""The tiny engine set-up the app tests hand to the app factory."""

from __future__ import annotations

from pathlib import Path

from tui.app import AppSettings, make_app
from tui.cli.main import drawn


def tiny_settings(home: Path, data: Path) -> AppSettings:
    return AppSettings(
        home=home,
        data=str(data),
        train_defaults={"epochs": 2, "batch_size": 20, "lr": 0.05, "device": "cpu"},
        givens={
            "synthesize": {"steps": 40},
            "targeted": {"steps": 40},
            "noise": {"max_steps": 60},
            "robustness": {"limit": 30},
        },  # fmt: skip
        poll_seconds=0.05,
        chart_seconds=0.05,
        live_chart_seconds=0.05,
        draw_command=drawn,
    )


def tiny_app(home: Path, data: Path, **changes):
    settings = tiny_settings(home, data)
    for name, value in changes.items():
        setattr(settings, name, value)
    return make_app(settings)


async def wait_for(pilot, condition, seconds: float = 30.0) -> bool:
    """Let the app run until ``condition()`` holds (work happens in threads)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await pilot.pause(0.05)
    return condition()


def text_of(widget) -> str:
    """The plain text a Static shows (its content printed without colour)."""
    from rich.console import Console

    content = widget.content
    if isinstance(content, str):
        return content
    console = Console(width=200, record=True, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(content)
    return console.export_text()


# A run long enough to still be training while a test looks at it.
LONG_RUN = {"epochs": 300, "batch_size": 10, "device": "cpu"}


def long_run_app(home: Path, data: Path):
    """An app whose train form starts a long run."""
    return tiny_app(home, data, train_defaults=LONG_RUN)


async def start_from_form(pilot, app, until_batch: bool = True):
    """Start a run from the train form (1, ctrl+s); its screen once the run trains (or, without
    ``until_batch``, once it is followed at all)."""
    await pilot.press("1", "ctrl+s")
    screen = app.screen

    def ready() -> bool:
        follower = screen.follower
        return follower is not None and (not until_batch or follower.state.last_batch is not None)

    assert await wait_for(pilot, ready, 60)
    return screen


def screen_lines(app) -> list[str]:
    """The screen as it is drawn (what a person sees, cell for cell), one string a row."""
    strips = app.screen._compositor.render_strips()
    return ["".join(segment.text for segment in strip).rstrip() for strip in strips]
