"""The analysis commands from the shell: --json parses, pictures draw, mistakes are named."""

from __future__ import annotations

import json
import re

import pytest

from tui.cli.main import main

JSON_COMMANDS = [
    ["summary", "--model", "convnet"],
    ["summary", "latest"],
    ["predict", "latest", "--random", "3"],
    ["predict", "latest", "--index", "0", "5"],
    ["filters", "latest"],
    ["filters", "latest", "--conv2", "3"],
    ["activations", "latest", "--index", "1", "--layer", "conv2"],
    ["occlude", "latest", "--index", "2", "--patch", "10", "--stride", "6"],
    ["attack", "synthesize", "latest", "--classes", "1,2", "--steps", "20"],
    ["attack", "targeted", "latest", "--image", "0", "--target", "3", "--steps", "30"],
    ["attack", "noise", "latest", "--sources", "0-1", "--targets", "2", "--max-steps", "50"],
    ["attack", "fgsm", "latest", "--eps", "0.1", "--limit", "40"],
    ["attack", "pgd", "latest", "--eps", "0.1", "--steps", "5", "--limit", "40"],
    ["robustness", "latest", "--eps", "0,0.2", "--limit", "40", "--attack", "pgd", "--steps", "3"],
]


@pytest.mark.parametrize("args", JSON_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_json_output_parses(trained_home, capsys, args):
    assert main(["--home", str(trained_home), *args, "--json"]) == 0
    json.loads(capsys.readouterr().out)


def test_summary_json_has_the_spec_totals(trained_home, capsys):
    main(["--home", str(trained_home), "summary", "--model", "convnet", "--json"])
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert (totals["parameters"], totals["neurons"], totals["conv_neurons"], totals["fc_neurons"]) == (
        799_078, 40_494, 31_360, 510,
    )  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["predict", "latest", "--random", "2"],
        ["filters", "latest", "--conv2", "0"],
        ["occlude", "latest", "--index", "4"],
        ["activations", "latest", "--index", "0"],
        [
            "attack",
            "noise",
            "latest",
            "--sources",
            "1",
            "--targets",
            "7",
            "--max-steps",
            "60",
            "--show",
            "1,7",
        ],
    ],
    ids=lambda a: a[0],
)
def test_pictures_draw_in_ascii(trained_home, capsys, args):
    assert main(["--home", str(trained_home), *args, "--ascii"]) == 0
    out = capsys.readouterr().out
    # a picture is rows of ramp characters; a legend is one line
    picture_rows = [line for line in out.splitlines() if re.search(r"[.:=+*#%@-]{8}", line)]
    assert len(picture_rows) >= 3, out
    assert "\x1b[" not in out


def test_the_robustness_chart_draws_in_ascii(trained_home, capsys):
    argv = ["robustness", "latest", "--eps", "0,0.1", "--limit", "20", "--ascii"]
    assert main(["--home", str(trained_home), *argv]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out and "0.1" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "nosuchrun"], "no run named 'nosuchrun'"),
        (["occlude", "latest", "--index", "100"], "out of range: the test set has 100"),
        (["occlude", "latest", "--patch", "29"], "--patch: 29 is not a whole number from 1 to 28"),
        (["occlude", "latest", "--stride", "0"], "--stride: 0 is not a whole number from 1 to 14"),
        (["filters", "latest", "--conv2", "32"], "choose 0-31"),
        (
            ["attack", "targeted", "latest", "--image", "0", "--target", "12"],
            "--target: 12 is not a whole number from 0 to 9",
        ),
        (
            ["attack", "synthesize", "latest", "--classes", "3-11"],
            "11 is not a whole number from 0 to 9",
        ),
        (["robustness", "latest", "--eps", "x"], "'x' is not a number from 0 to 1"),
    ],
)
def test_bad_arguments_are_named_without_traceback(trained_home, capsys, args, message):
    try:
        code = main(["--home", str(trained_home), *args])
    except SystemExit as exit_:  # argparse's own checks
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_a_cancelled_analysis_exits_130_without_traceback(trained_home, capsys, monkeypatch):
    import threading

    import tui.cli.analysis_commands as analysis_commands

    def already_cancelled():
        flag = threading.Event()
        flag.set()
        return flag

    monkeypatch.setattr(analysis_commands, "interruptible", already_cancelled)
    assert main(["--home", str(trained_home), "occlude", "latest", "--index", "0"]) == 130
    err = capsys.readouterr().err
    assert "occlusion cancelled" in err and "Traceback" not in err
