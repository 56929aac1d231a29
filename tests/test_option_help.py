"""Every option made from a declaration says in its help the range its parser enforces,
from the declaration itself (never typed twice): a number's bounds, a list's length, a
choice's values; and the words that were wrong are gone (eps 'in pixels')."""

from __future__ import annotations

import argparse

import pytest

from engine.analyses import ANALYSES
from engine.config import SETTINGS
from tui.cli.main import build_parser

SETTING_SPECS = {spec.name: spec for spec in SETTINGS}


def declared(command: str) -> dict:
    """The declarations a command's options are made from: its analysis's parameters, or
    the run settings (train, import, study, sweep)."""
    if command in ANALYSES:
        return {p.name: p for p in ANALYSES[command].parameters}
    return SETTING_SPECS


def option_helps() -> list[tuple[str, str, str]]:
    """(command, option, help) of every option of every command."""
    found = []
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        subs = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        parsers = list(subs[0].choices.items()) if subs else [(name, command)]
        for full, sub in parsers:
            for action in sub._actions:
                if action.option_strings and action.help:
                    found.append((full, action.option_strings[0], action.dest, action.help))
    return found


@pytest.mark.parametrize("command", sorted({c for c, _, _, _ in option_helps()}))
def test_each_declared_numeric_option_states_its_range(command):
    checked = 0
    for _, option, dest, help_text in (h for h in option_helps() if h[0] == command):
        if help_text == argparse.SUPPRESS:
            continue
        spec = declared(command).get(dest)
        if spec is None or spec.kind not in (int, float) or spec.choices:
            continue
        if spec.flag != option and option not in spec.aliases:
            continue  # another option of the same name: not this declaration's
        assert spec.rule() in help_text, (option, help_text)
        checked += 1
    assert checked or command in UNDECLARED, command


# commands whose options are their own (names, paths, addresses), not declared settings
UNDECLARED = {"data", "runs", "follow", "delete", "name", "export", "trust", "stop", "summary",
              "study-show", "studies", "report", "sweep-show", "sweeps", "serve", "attribute",
              "class-view", "ensemble"}  # fmt: skip


def test_eps_is_said_in_pixel_intensity_not_pixels():
    helps = [h for _, o, _, h in option_helps() if o == "--eps"]
    assert helps and all("in pixels" not in h for h in helps)
    assert any("pixel intensity" in h for h in helps)


def test_an_unknown_command_is_not_offered_the_routed_show_commands(capsys):
    from tui.cli.main import main

    with pytest.raises(SystemExit):
        main(["nosuch"])
    err = capsys.readouterr().err
    assert "study-show" not in err and "sweep-show" not in err and "'studies'" in err
