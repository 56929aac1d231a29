"""An analysis command's drawing captured as styled text at a given width, instead of
printed: the app's side-by-side screen shows two runs' results this way, so each picture is
drawn by one piece of code (the command's) whether it reaches a terminal or a panel."""

from __future__ import annotations

import io
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.text import Text


@dataclass
class Capture:
    """Where a captured command draws, and the flag that cancels its work."""

    console: Console
    cancel: object  # has is_set(); the app passes its worker's


_CURRENT: ContextVar[Capture | None] = ContextVar("captured", default=None)


def current() -> Capture | None:
    """The capture in force in this thread, if a command is being captured."""
    return _CURRENT.get()


def drawn(argv: list[str], home: Path, width: int, height: int, colour: bool,
          cancel) -> tuple[Text, str]:  # fmt: skip
    """What ``mnist-tui ARGV`` draws in ``width`` x ``height`` cells, and its error ('' if
    none): a mistake in the command is its one line, as the CLI would say it."""
    from engine.errors import UserFacing
    from tui.cli import build_parser, glue_negative_lists, one_line, route_subcommands

    console = Console(file=io.StringIO(), width=width, height=height,
                      color_system="truecolor" if colour else None, highlight=False,
                      emoji=False)  # fmt: skip
    token = _CURRENT.set(Capture(console, cancel))
    try:
        argv = glue_negative_lists(route_subcommands(["--home", str(home), *argv]))
        args = build_parser().parse_args(argv)
        args.home_path = home
        args.handler(args)
        error = ""
    except UserFacing as problem:
        error = one_line(problem)
    except InterruptedError:
        error = "cancelled"
    except SystemExit:  # --help or --version: theirs is the command line's
        error = "help and version are printed on the command line: `mnist-tui ... --help`"
    finally:
        _CURRENT.reset(token)
    return Text.from_ansi(console.file.getvalue()), error
