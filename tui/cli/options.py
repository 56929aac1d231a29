"""The command line's option types and shared options, including every run setting, made
from its one declaration in ``engine.config``."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from engine.config import (
    DEVICE_AUTO,
    DEVICES,
    LARGEST,
    MOST,
    RECIPES,
    SETTINGS,
    Setting,
    TrainConfig,
    recipe_config,
)
from engine.errors import SettingError, UserFacing
from engine.runs.snapshots import BEST, CHECKPOINTS, EARLY_BATCHES

# How a run is named on the command line (engine.runs.find_run).
RUN_HELP = "a run: its id, a unique start or end of it, its name, or 'latest'"
# `study show` and `sweep show` are routed to these commands of their own (tui.cli.main):
# never offered by name.
SHOW_COMMANDS = ("study", "sweep")
ROUTED = tuple(f"{command}-show" for command in SHOW_COMMANDS)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the mistake and where help is, no usage block."""

    def error(self, message: str):
        from tui.cli import captured

        for routed in ROUTED:  # the choices as a user types them
            message = message.replace(f", '{routed}'", "")
        if captured.current() is not None:  # for the app: the sentence, no exit
            raise UserError(f"{message} (see `{self.prog} --help`)")
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


class UserError(UserFacing):
    """A mistake in what the user asked for; shown as one message, no traceback."""


def number_type(convert: Callable[[str], float], noun: str, ok: Callable[[float], bool], rule: str):
    """An argparse type that converts a finite number and checks it, with a message that
    names it (nan and inf are never a sensible step size, epsilon or beta)."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if not ok(value):
            raise argparse.ArgumentTypeError(f"{text} {rule}")
        return value

    parse.__name__ = noun  # argparse names the type in its messages
    return parse


def nonblank(noun: str):
    """An argparse type for a name or path that may not be blank (an unset shell variable
    would otherwise mean "this folder" or "no second run" without a word)."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{noun} is blank: give one")
        return text

    parse.__name__ = noun
    return parse


# Every count and size has an upper bound too (see engine.config).
positive_int = number_type(int, "a whole number", lambda v: 1 <= v <= MOST,
                           f"must be from 1 to {MOST:,}")  # fmt: skip
non_negative_int = number_type(int, "a whole number", lambda v: 0 <= v <= MOST,
                               f"must be from 0 to {MOST:,}")  # fmt: skip
positive_float = number_type(float, "a number", lambda v: 0 < v <= LARGEST,
                             f"must be above 0 and at most {LARGEST:g}")  # fmt: skip
non_negative_float = number_type(float, "a number", lambda v: 0 <= v <= LARGEST,
                                 f"must be from 0 to {LARGEST:g}")  # fmt: skip
unit_float = number_type(float, "a number", lambda v: 0 <= v <= 1, "must be in [0, 1]")


def add_shared_options(parser: argparse.ArgumentParser, top_level: bool = False) -> None:
    """The options every command takes, before or after its name: --home, --trust-code."""
    # a subcommand's option must not reset one given before the subcommand
    unset = None if top_level else argparse.SUPPRESS
    parser.add_argument(
        "--home",
        metavar="DIR",
        default=unset,
        help="where runs and the data cache live (default: $MNIST_TUI_HOME, else the user"
        " data folder)",
    )
    parser.add_argument(
        "--trust-code",
        action="store_true",
        default=False if top_level else argparse.SUPPRESS,
        help="run the network code of runs not trained on this machine, for this command only"
        " (read it first; `mnist-tui trust RUN` trusts one run for good)",
    )


def add_device(parser: argparse.ArgumentParser, work: str) -> None:
    """--device for an analysis heavy enough to want a GPU, with training's choices."""
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help=f"where to {work} (default auto): {DEVICE_AUTO}",
    )


def add_executor(parser: argparse.ArgumentParser, what: str) -> None:
    """``--executor local|ray[:ADDRESS]`` and ``--cpus-per-run``: where ``what`` (runs,
    trials) go. Read back with ``ray_address``."""
    parser.add_argument("--executor", default="local", metavar="local|ray[:ADDRESS]",
                        help=f"where the {what} go: here one after another (default), or on"
                        " Ray: a cluster (ray:ADDRESS, the head's HOST:PORT) or a local Ray"
                        " instance (ray); needs mnist-tui[cluster] and, on a cluster, a home"
                        " every node sees")  # fmt: skip
    parser.add_argument("--cpus-per-run", type=positive_int, default=None, metavar="N",
                        help=f"with Ray: the CPUs each of the {what} asks for (and its torch"
                        " threads; default 1)")  # fmt: skip


def ray_address(args: argparse.Namespace) -> str | None:
    """None for --executor local; otherwise Ray's address ('' for a local instance),
    checked to answer. UserError for anything else."""
    executor = args.executor
    if executor == "ray:" or not (executor in ("local", "ray") or executor.startswith("ray:")):
        raise UserError(f"--executor {executor!r}: local, ray, or ray:ADDRESS (an address after"
                        " the colon)")  # fmt: skip
    if executor == "local":
        if args.cpus_per_run is not None:
            raise UserError("--cpus-per-run is for Ray; here the runs share the cores")
        return None
    address = executor.partition(":")[2]
    if address:
        check_ray_address(address)
    return address


def check_ray_address(address: str, seconds: float = 3.0) -> None:
    """A Ray address that answers, checked in seconds: Ray itself retries a dead one for
    minutes, printing warnings. 'auto' (a cluster found by Ray) is left to Ray."""
    import socket

    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--executor ray:{address}: give HOST:PORT (or ray://HOST:PORT, or auto)")
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UserError(f"--executor ray:{address}: nothing answers there ({reason}); start a Ray"
                        " head there (ray start --head) or use --executor local") from None  # fmt: skip


def add_ascii(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ascii", action="store_true", help="plain ASCII images, no colour")


def add_json(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def setting_type(spec: Setting):
    def parse(text: str):
        try:
            return spec.parse(text)
        except SettingError as error:
            raise argparse.ArgumentTypeError(str(error).removeprefix(f"{spec.name}: ")) from None

    parse.__name__ = spec.rule()
    return parse


class ListAction(argparse.Action):
    """A list parameter given with commas, spaces or both; parsed and checked as one."""

    def __init__(self, option_strings, dest, spec: Setting, **kwargs) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.spec = spec

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        try:
            setattr(namespace, self.dest, self.spec.parse(",".join(values)))
        except SettingError as error:
            message = str(error).removeprefix(f"{self.spec.name}: ")
            raise argparse.ArgumentError(self, message) from None


def add_setting(parser: argparse.ArgumentParser, spec: Setting, only_given: bool = False) -> None:
    """The option of one declared setting or analysis parameter: its type, rule, default and
    help from the declaration. A parameter with no default and not optional is required."""
    shown_default = "" if spec.default is None else spec.show(spec.default)
    default = f" (default: {shown_default})" if shown_default else ""
    value = argparse.SUPPRESS if only_given else spec.default
    required = spec.default is None and not spec.optional and not only_given
    help = spec.help.replace("%", "%%")
    flags = (spec.flag, *spec.aliases)
    if spec.kind is bool:
        parser.add_argument(*flags, action=argparse.BooleanOptionalAction,
                            default=value, help=help + default)  # fmt: skip
    elif spec.choices and not spec.many and not spec.open_choices:
        parser.add_argument(*flags, choices=spec.choices, default=value, required=required,
                            help=help + default)  # fmt: skip
    elif spec.many:  # "0,0.1,0.3" or "0 0.1 0.3": one list, checked whole
        parser.add_argument(*flags, nargs="+", action=ListAction, spec=spec, default=value,
                            required=required, metavar=spec.metavar,
                            help=f"{help}; {spec.rule()}{default}")  # fmt: skip
    else:
        # open choices are named in the help already (--model's networks): not twice
        rule = f"a name above, or {spec.noun}" if spec.open_choices else spec.rule()
        parser.add_argument(*flags, type=setting_type(spec), default=value,
                            required=required, metavar=spec.metavar,
                            help=f"{help}; {rule}{default}")  # fmt: skip


def add_settings(
    parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None, only_given: bool = False
) -> None:
    """One option per run setting (or per setting named), from its declaration. With
    ``only_given`` a setting not on the command line is absent from the namespace."""
    for spec in SETTINGS:
        if names is None or spec.name in names:
            add_setting(parser, spec, only_given)


def add_recipe(parser: argparse.ArgumentParser) -> None:
    """--recipe: a named bundle of settings, each of which a setting given overrides."""
    parser.add_argument("--recipe", choices=RECIPES, default="study",
                        help="; ".join(f"{r.name}: {r.description}".replace("%", "%%")
                                       for r in RECIPES.values())
                        + " (default study; any setting given overrides the recipe's)")  # fmt: skip


def given_settings(args: argparse.Namespace) -> dict:
    """The run settings on the command line (added with ``only_given``), paths resolved."""
    values = {spec.name: getattr(args, spec.name) for spec in SETTINGS if hasattr(args, spec.name)}
    if values.get("data"):
        values["data"] = str(Path(values["data"]).expanduser().resolve())
    return values


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run settings given on the command line over the recipe's, checked."""
    return recipe_config(getattr(args, "recipe", "study"), given_settings(args))


def moment_type(text: str) -> str:
    from engine.runs.snapshots import Moment

    try:
        return Moment.parse(text)
    except SettingError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_moment_options(parser: argparse.ArgumentParser, note: str = "") -> None:
    """--epoch N or --at MOMENT: a run's weights as they were then (engine.runs.snapshots)."""
    moment = parser.add_mutually_exclusive_group()
    moment.add_argument("--epoch", type=positive_int, metavar="N",
                        help="the weights at the end of epoch N (a run keeps them unless"
                        " trained with --snapshots none)" + note)  # fmt: skip
    moment.add_argument("--at", type=moment_type, metavar="MOMENT",
                        help="the weights at a moment: start, "
                        + ", ".join(f"batch:{n}" for n in EARLY_BATCHES)
                        + " (of the first epoch), epoch:N" + note)  # fmt: skip


def add_subject_options(parser: argparse.ArgumentParser) -> None:
    """RUN, --checkpoint, --ascii, --json and --home, as every analysis command takes them."""
    parser.add_argument(
        "run",
        metavar="RUN",
        nargs="?",
        default="latest",
        help=RUN_HELP + " (default: the newest run with a best checkpoint)",
    )
    parser.add_argument("--checkpoint", choices=CHECKPOINTS, default=BEST,
                        help="which checkpoint of the run (default: best)")  # fmt: skip
    add_moment_options(parser)
    add_ascii(parser)
    add_shared_options(parser)
    add_json(parser)
