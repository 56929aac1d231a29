"""The `mnist-tui` command: with no arguments it opens the app; its subcommands do the same
work in a plain shell or a batch job, on the same engine."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable

from rich.console import Console

from engine.checkpoints import CheckpointError
from engine.data import DataError, DataUnavailable
from engine.home import app_home
from engine.runs import RunNotFound

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A mistake in what the user asked for; shown as one message, no traceback."""


def number_type(convert: Callable[[str], float], noun: str, ok: Callable[[float], bool], rule: str):
    """An argparse type that converts a number and checks it, with a message that names it."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{text} {rule}")
        return value

    return parse


positive_int = number_type(int, "a whole number", lambda v: v >= 1, "must be at least 1")
non_negative_int = number_type(int, "a whole number", lambda v: v >= 0, "must not be negative")
positive_float = number_type(float, "a number", lambda v: v > 0, "must be positive")
non_negative_float = number_type(float, "a number", lambda v: v >= 0, "must not be negative")


def add_home(parser: argparse.ArgumentParser, top_level: bool = False) -> None:
    parser.add_argument(
        "--home",
        metavar="DIR",
        # a subcommand's --home must not reset one given before the subcommand
        default=None if top_level else argparse.SUPPRESS,
        help="where runs and the data cache live (default: $MNIST_TUI_HOME, else the user"
        " data folder)",
    )


def add_json(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def build_parser() -> argparse.ArgumentParser:
    from tui import attack_commands, inspect_commands, run_commands

    parser = argparse.ArgumentParser(
        prog="mnist-tui",
        description="Train a small CNN on MNIST, watch it learn, look inside it, break it. "
        "With no command, opens the terminal app.",
    )
    add_home(parser, top_level=True)
    parser.add_argument(
        "--graphics",
        choices=["auto", "halfblock", "ascii", "sixel", "kitty"],
        default="auto",
        help="how the app draws images: colour half-blocks (auto, halfblock), plain characters"
        " (ascii), or real pixels through textual-image (sixel, kitty; experimental)",
    )
    parser.add_argument("--ascii", action="store_true", help="plain ASCII images, no colour")
    parser.add_argument(
        "--data",
        dest="app_data",
        metavar="DIR",
        help="the app trains and analyses on this MNIST-format folder (default: MNIST)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_commands.register(commands)
    inspect_commands.register(commands)
    attack_commands.register(commands)
    return parser


def run_app(args: argparse.Namespace) -> int:
    try:
        from tui.app import run
    except ImportError:
        raise UserError(
            "the terminal app is not built yet; see `mnist-tui --help` for the commands"
        ) from None
    return run(args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = getattr(args, "handler", run_app)
    try:
        home = app_home(args.home)
    except OSError as error:
        print(f"mnist-tui: error: cannot use home folder: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    args.home_path = home
    try:
        return handler(args) or 0
    except (
        UserError,
        RunNotFound,
        DataUnavailable,
        DataError,
        CheckpointError,
        ValueError,
    ) as error:
        print(f"mnist-tui: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except InterruptedError as error:  # a long analysis stopped by Ctrl-C: nothing to show
        print(f"mnist-tui: {error}; nothing shown", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `mnist-tui runs | head`
        return 0


def make_console() -> Console:
    """A Rich console; when piped, wide enough that tables are not squeezed to 80 columns."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    return console


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2))


def wait_until(condition: Callable[[], bool], seconds: float, poll: float = 0.1) -> bool:
    """Poll ``condition`` for up to ``seconds``; whether it came true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return condition()


def interruptible() -> threading.Event:
    """A cancel flag that Ctrl-C and SIGTERM set (a second Ctrl-C interrupts at once)."""
    import signal

    from engine.worker import stop_on_signals

    cancel = threading.Event()
    stop_on_signals(cancel, (signal.SIGINT, signal.SIGTERM))
    return cancel


if __name__ == "__main__":
    sys.exit(main())
