"""The `mnist-tui` command: with no arguments it opens the app; its subcommands do the same
work in a plain shell or a batch job, on the same engine.

Parsing the command line imports no torch: `--help`, `runs`, `stop` and `follow` start in
a fraction of a second; the commands that need a model import it when they run.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import UserFacing
from engine.locations import app_home
from tui.cli import (  # attack, attribute and inside: imported to mark their handlers
    analysis_commands,
    attack_commands,  # noqa: F401
    attribute_commands,  # noqa: F401
    beyond_commands,
    inside_commands,
    report_commands,
    run_commands,
    serve_commands,
    study_commands,
    sweep_commands,
)
from tui.cli.options import SHOW_COMMANDS, Parser, add_ascii, add_shared_options
from tui.graphics import MODES

if TYPE_CHECKING:
    from rich.text import Text

EXIT_USER_ERROR = 2


class VersionAction(argparse.Action):
    """``--version``: the installed distribution's version, looked up only when asked."""

    def __init__(self, option_strings, dest, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("mnist-tui")
        except PackageNotFoundError:
            found = "unknown (run from a checkout that is not installed)"
        print(f"mnist-tui {found}")
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="mnist-tui",
        description="Train a small CNN on MNIST, watch it learn, look inside it, break it. "
        "With no command, opens the terminal app.",
    )
    add_shared_options(parser, top_level=True)
    parser.add_argument("--version", action=VersionAction, help="the installed version, and exit")
    parser.add_argument(
        "--graphics",
        choices=MODES,
        default="auto",
        help="how the app draws images: colour half-blocks (auto, halfblock), plain characters"
        " (ascii), or real pixels through textual-image (sixel, kitty; experimental)",
    )
    add_ascii(parser)
    parser.add_argument(
        "--data",
        dest="app_data",
        metavar="DIR",
        help="the app trains and analyses on this MNIST-format folder (default: MNIST)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_commands.register(commands)
    inside_commands.register(commands)
    # (inside_commands, attack_commands and attribute_commands mark their handlers with
    # analysis_commands.draws when imported, above)
    analysis_commands.register(commands)
    study_commands.register(commands)
    beyond_commands.register(commands)
    report_commands.register(commands)
    sweep_commands.register(commands)
    serve_commands.register(commands)
    return parser


def open_app(args: argparse.Namespace) -> int:
    """``mnist-tui`` with no command: the app (the only place the CLI imports it)."""
    from pathlib import Path

    from tui.app import run_app

    data = str(Path(args.app_data).expanduser().resolve()) if args.app_data else None
    return run_app(args.home_path, "ascii" if args.ascii else args.graphics, data, drawn)


def drawn(argv: list[str], home: Path, width: int, height: int, colour: bool,
          cancel) -> tuple[Text, str]:  # fmt: skip
    """What ``mnist-tui ARGV`` draws in ``width`` x ``height`` cells, and its error ('' if
    none): a mistake in the command is its one line, as the CLI would say it. The app's
    side-by-side screen is handed this by ``open_app`` (the app never imports the CLI)."""
    import contextlib
    import io

    from rich.console import Console
    from rich.text import Text

    from tui.cli import captured

    console = Console(file=io.StringIO(), width=width, height=height,
                      color_system="truecolor" if colour else None, highlight=False,
                      emoji=False)  # fmt: skip
    token = captured.CURRENT.set(captured.Capture(console, cancel))
    said = io.StringIO()  # what the parser says of a mistake, on stderr
    try:
        parser = build_parser()
        argv = glue_negative_lists(route_subcommands(["--home", str(home), *argv], parser))
        with contextlib.redirect_stderr(said):
            args = parser.parse_args(argv)
        args.home_path = home
        args.handler(args)
        error = ""
    except UserFacing as problem:
        error = one_line(problem)
    except InterruptedError as stop:
        error = f"cancelled ({stop})" if str(stop) else "cancelled"
    except SystemExit as exit:  # a mistake in the options, or --help or --version
        lines = [line for line in said.getvalue().splitlines() if line.strip()]
        if exit.code and lines:
            error = lines[-1].removeprefix("mnist-tui: error: ")
        else:
            error = "help and version are printed on the command line: `mnist-tui ... --help`"
    finally:
        captured.CURRENT.reset(token)
    return Text.from_ansi(console.file.getvalue()), error


def one_line(error: BaseException) -> str:
    """An error's message on one line (a user error's first line carries its point)."""
    text = str(error).strip() or type(error).__name__
    return text if isinstance(error, UserFacing) else text.splitlines()[0]


NUMBER_LIST = re.compile(r"-[0-9.]+(,-?[0-9.eE+]*)+|-[0-9.]*[eE][-+]?[0-9]+")


def list_options() -> set[str]:
    """Options that take a list of numbers, as the declarations say (a setting's or an
    analysis parameter's ``many``): "-0.1,0.2" after one is its value, not an option
    (argparse takes anything starting with "-" that is not one number for one)."""
    from engine.analyses import ANALYSES
    from engine.config import SETTINGS

    specs = [*SETTINGS, *(p for a in ANALYSES.values() for p in a.parameters)]
    return {flag for spec in specs if spec.many for flag in (spec.flag, *spec.aliases)}


def glue_negative_lists(argv: list[str]) -> list[str]:
    """``--eps -0.1,0.2`` as ``--eps=-0.1,0.2``, so the value reaches its own check."""
    glued: list[str] = []
    lists = list_options()
    for token in argv:
        if glued and glued[-1] in lists and NUMBER_LIST.fullmatch(token):
            glued[-1] = f"{glued[-1]}={token}"
        else:
            glued.append(token)
    return glued


def value_options(parser: argparse.ArgumentParser) -> set[str]:
    """The parser's own options that take a value: the token after one is not the command."""
    return {flag for action in parser._actions if action.option_strings and action.nargs != 0
            for flag in action.option_strings}  # fmt: skip


def route_subcommands(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``study show NAME ...`` as the ``study-show`` command (its own options and --help);
    ``sweep show`` the same way."""
    i = 0
    takes_value = value_options(parser)
    while i < len(argv) and argv[i].startswith("-"):
        i += 1 if "=" in argv[i] or argv[i] not in takes_value else 2
    for command in SHOW_COMMANDS:
        if argv[i : i + 2] == [command, "show"]:
            return [*argv[:i], f"{command}-show", *argv[i + 2 :]]
    return argv


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = route_subcommands(sys.argv[1:] if argv is None else list(argv), parser)
    args = parser.parse_args(glue_negative_lists(argv))
    if getattr(args, "data", "absent") is None and args.app_data:
        args.data = args.app_data  # `mnist-tui --data DIR data`: the one folder named
    handler: Callable[[argparse.Namespace], int] = getattr(args, "handler", open_app)
    try:
        home = app_home(args.home)
    except OSError as error:
        print(f"mnist-tui: error: cannot use home folder {args.home or ''}: {error.strerror}",
              file=sys.stderr)  # fmt: skip
        return EXIT_USER_ERROR
    args.home_path = home
    if not args.trust_code:
        return run_handler(handler, args)
    # --trust-code: for this command and every process it starts (engine.models.files)
    from engine.models.files import TRUST_ENV

    before = os.environ.get(TRUST_ENV)
    os.environ[TRUST_ENV] = "1"
    try:
        return run_handler(handler, args)
    finally:  # main() is called again in the same process by tests and the app's workers
        if before is None:
            os.environ.pop(TRUST_ENV, None)
        else:
            os.environ[TRUST_ENV] = before


def say_slow_import(path) -> None:
    print(f"importing {path}... (its code has not returned yet; Ctrl-C stops)", file=sys.stderr)


def run_handler(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """A command's handler, its failures said in one line with the exit code they mean."""
    from engine.models.files import SLOW_IMPORT_LISTENERS

    if say_slow_import not in SLOW_IMPORT_LISTENERS:
        SLOW_IMPORT_LISTENERS.append(say_slow_import)
    try:
        return handler(args) or 0
    except UserFacing as error:
        print(f"mnist-tui: error: {one_line(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except InterruptedError as error:  # a long analysis stopped by Ctrl-C: nothing to show
        print(f"mnist-tui: {error}; nothing shown", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `mnist-tui runs | head`
        return 0
    except OSError as error:  # a full disk, a read-only home: say which file and why
        where = f"{error.filename}: " if error.filename else ""
        print(f"mnist-tui: error: {where}{error.strerror or error}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
