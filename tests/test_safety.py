"""Nothing a file, a name or a path does may write outside the home, inject into a terminal
or a report, signal a stranger's process or lose data. A generated corpus of damaged
``study.json`` files and refused study commands, then the security cases one by one; each
would have failed before the checks it tests were added."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine import runs
from engine.studies import STUDY, entry_key, studies_folder
from tests.test_bad_inputs import snapshot
from tui.cli.main import main


def run_cli(home: Path, *argv: str) -> int:
    try:
        return main(["--home", str(home), *argv])
    except SystemExit as exit_:  # argparse's own checks
        return exit_.code


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture()
def two_homes(trained_home, tmp_path):
    """A home with a copy of the trained run, and another folder ``elsewhere`` holding a
    run of its own (what a traversal would reach)."""
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    source = runs.find_run(trained_home, "latest")
    shutil.copytree(source, runs.runs_folder(home) / source.name)
    shutil.copytree(source, runs.runs_folder(elsewhere) / source.name)
    return home, elsewhere, source.name


def a_study(run_ids: object = None) -> dict:
    """A sound one-group, one-seed study.json (of one short run)."""
    return {"name": "s", "vary": {}, "seeds": [0], "base": {"epochs": 1, "subset": 100},
            "runs": run_ids if run_ids is not None else {}}  # fmt: skip


def damaged_studies(run_id: str) -> dict[str, object]:
    """study.json contents that must be refused, every field in turn."""
    key = entry_key({}, 0)
    cases: dict[str, object] = {
        "not an object": [1, 2],
        "vary a string": {**a_study(), "vary": {"model": "convnet"}},
        "vary a number": {**a_study(), "vary": 3},
        "vary empty list": {**a_study(), "vary": {"model": []}},
        "vary unknown setting": {**a_study(), "vary": {"colour": ["red"]}},
        "vary seed": {**a_study(), "vary": {"seed": [1, 2]}},
        "vary bad value": {**a_study(), "vary": {"model": ["resnet"]}},
        "vary repeated value": {**a_study(), "vary": {"lr": [0.1, 0.1]}},
        "vary nan lr": {**a_study(), "vary": {"lr": [float("nan")]}},
        "seeds missing": {k: v for k, v in a_study().items() if k != "seeds"},
        "seeds a string": {**a_study(), "seeds": "0-4"},
        "seeds empty": {**a_study(), "seeds": []},
        "seeds negative": {**a_study(), "seeds": [-1]},
        "seeds bool": {**a_study(), "seeds": [True]},
        "seeds float": {**a_study(), "seeds": [0.5]},
        "seeds repeated": {**a_study(), "seeds": [1, 1]},
        "seeds huge": {**a_study(), "seeds": [2**40]},
        "seeds too many": {**a_study(), "seeds": list(range(101))},
        "base a list": {**a_study(), "base": ["epochs"]},
        "base unknown": {**a_study(), "base": {"colour": "red"}},
        "base bad epochs": {**a_study(), "base": {"epochs": -3}},
        "base epochs text": {**a_study(), "base": {"epochs": "3"}},
        "base seed": {**a_study(), "base": {"seed": 3}},
        "runs a list": {**a_study(), "runs": [run_id]},
        "runs unknown key": a_study({"model=x seed=0": run_id}),
        "runs id a number": a_study({key: 7}),
    }
    for i, bad in enumerate(["../../elsewhere/runs/" + run_id, "/tmp/" + run_id, "..", ".",
                             ".hidden", "a/b", "", "x\x00y", "\x1b[2J", run_id + "/.."]):  # fmt: skip
        cases[f"runs id path {i}"] = a_study({key: bad})
    return cases


def test_a_damaged_study_json_is_refused_in_one_line_and_nothing_is_written(two_homes, capsys):
    home, elsewhere, run_id = two_homes
    cases = damaged_studies(run_id)
    assert len(cases) >= 35
    for label, content in cases.items():
        folder = studies_folder(home) / "s"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / STUDY).write_text(json.dumps(content))
        before = snapshot(home, elsewhere)
        for argv in (("study", "s"), ("study", "show", "s"), ("report", "--study", "s")):
            code = run_cli(home, *argv)
            line = one_error_line(capsys.readouterr().err)
            assert code == 2, (label, argv)
            assert "study.json" in line, (label, line)
            assert snapshot(home, elsewhere) == before, (label, argv)
        assert run_cli(home, "studies") == 0  # listed as damaged, beside any others
        assert "damaged" in capsys.readouterr().out, label


def test_a_study_never_trains_a_run_outside_the_home(two_homes, capsys):
    """The traversal itself: a stopped run elsewhere named by a forged id stays untouched."""
    home, elsewhere, run_id = two_homes
    target = runs.runs_folder(elsewhere) / run_id
    (target / runs.SUMMARY).unlink(missing_ok=True)
    before = snapshot(elsewhere)
    folder = studies_folder(home) / "s"
    folder.mkdir(parents=True)
    forged = a_study({entry_key({}, 0): f"../../elsewhere/runs/{run_id}"})
    (folder / STUDY).write_text(json.dumps(forged))
    assert run_cli(home, "study", "s") == 2
    assert "not a run id" in capsys.readouterr().err
    assert snapshot(elsewhere) == before


REFUSED_STUDY_COMMANDS = {
    "executor slurm": ("--executor", "slurm"),
    "ray with no address": ("--executor", "ray:"),
    "ray with at-once": ("--executor", "ray", "--at-once", "2"),
    "cpus-per-run here": ("--cpus-per-run", "2"),
    "seeds empty": ("--seeds", ""),
    "seeds open range": ("--seeds", "0-"),
    "seeds backwards": ("--seeds", "3-1"),
    "seeds negative": ("--seeds", "-1"),
    "seeds words": ("--seeds", "a-b"),
    "seeds too many": ("--seeds", "0-100"),
    "vary twice": ("--vary", "lr=0.1", "--vary", "lr=0.2"),
    "vary repeated value": ("--vary", "lr=0.1,0.1"),
    "vary empty item": ("--vary", "lr=0.1,,0.2"),
    "vary no values": ("--vary", "lr="),
    "vary and the setting": ("--epochs", "3", "--vary", "epochs=1,2"),
    "vary seed": ("--vary", "seed=1,2"),
    "vary bad model": ("--vary", "model=convnet,resnet"),
    "seed instead of seeds": ("--seed", "3"),
    "ray address nobody answers": ("--executor", "ray:127.0.0.1:1"),
    "ray address with no port": ("--executor", "ray:somewhere"),
}


@pytest.mark.parametrize("argv", REFUSED_STUDY_COMMANDS.values(), ids=REFUSED_STUDY_COMMANDS)
def test_a_refused_study_command_writes_nothing(argv, home, capsys):
    home.mkdir(parents=True)
    code = run_cli(home, "study", "new", *argv)
    one_error_line(capsys.readouterr().err)
    assert code == 2
    assert not (studies_folder(home) / "new").exists()


def test_a_study_on_a_missing_gpu_writes_nothing(home, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has the GPU the case asks for")
    home.mkdir(parents=True)
    assert run_cli(home, "study", "new", "--vary", "device=cpu,cuda") == 2
    assert "cuda" in one_error_line(capsys.readouterr().err)
    assert not (studies_folder(home) / "new").exists()


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["\x1b]0;owned\x07", "\x1b[2J", "a\u202egnp.exe", "zero\u200bwidth", "bell\x07", "nul\x00"],
    ids=["osc title", "clear screen", "bidi override", "zero width", "bell", "nul"],
)
def test_control_and_bidi_characters_are_refused_in_a_name(name, two_homes, capsys):
    home, _, run_id = two_homes
    before = snapshot(home)
    assert run_cli(home, "name", run_id, name) == 2
    assert "plain text" in one_error_line(capsys.readouterr().err)
    assert snapshot(home) == before


@pytest.mark.parametrize("name", ["[/]", "[bold red]x", "[link=http://x]y[/link]", "$\\foo$"])
def test_a_name_is_shown_as_it_is_written(name, two_homes, capsys):
    home, _, run_id = two_homes
    assert run_cli(home, "name", run_id, name) == 0
    capsys.readouterr()
    assert run_cli(home, "runs") == 0
    out = capsys.readouterr().out
    assert name in out.replace("\n", "")  # shown literally, markup and all
    assert run_cli(home, "runs", "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == name


def test_a_copied_name_with_escapes_never_reaches_the_terminal(two_homes, capsys):
    home, _, run_id = two_homes
    run_dir = runs.runs_folder(home) / run_id
    (run_dir / runs.NAME).write_text(json.dumps({"name": "ok\x1b]0;owned\x07\u202e"}))
    assert run_cli(home, "runs") == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "ok?" in out


def test_a_name_is_unique_and_never_an_id(two_homes, capsys):
    home, _, run_id = two_homes
    other = runs.runs_folder(home) / (run_id + "-b")
    shutil.copytree(runs.runs_folder(home) / run_id, other)
    assert run_cli(home, "name", run_id, "mine") == 0
    capsys.readouterr()
    assert run_cli(home, "name", other.name, "mine") == 2
    assert "already called" in one_error_line(capsys.readouterr().err)
    assert run_cli(home, "name", other.name, run_id) == 2  # another run's id
    assert "id" in one_error_line(capsys.readouterr().err)
    assert run_cli(home, "name", other.name, run_id[:6]) == 2  # an id prefix
    one_error_line(capsys.readouterr().err)
    assert runs.read_name(other) == ""


# --- the report's output ------------------------------------------------------------------


def test_markdown_keeps_names_and_settings_as_text():
    from engine.report.document import Figure, Section, Table, Text
    from engine.report.markdown import render_markdown

    evil = '<script>alert(1)</script> "><img src=x onerror=alert(2)> [x](javascript:y)'
    section = Section("s", f"runs of {evil}").add(
        Text(f"about {evil} and **bold**"),
        Table(["run", evil], [[evil, "1"]], caption=evil),
        Figure("f", b"png", alt=evil, caption=evil),
    )
    text, files = render_markdown(evil, [evil], [section], "r_files")
    assert "<script" not in text and "<img" not in text
    assert not re.search(r"(?<!\\)\]\(javascript", text)  # the link's bracket is escaped
    assert "&lt;script&gt;" in text and "**bold**" in text
    assert files == {"f.png": b"png"}


def test_figure_labels_are_plain_text():
    from engine.report.figures import line_chart

    png = line_chart({"$\\foo$ [/]": ([1, 2], [3, 4])}, "$\\alpha$", "x_1", "y^2")
    assert png.startswith(b"\x89PNG")


def output_cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """-o targets that must be refused before any work, each with what the line names."""
    outside = tmp_path / "outside"
    outside.mkdir(parents=True)
    (tmp_path / "link.html").symlink_to(outside / "target.html")
    (tmp_path / "r_files").symlink_to(outside)
    (tmp_path / "r.md").write_text("old")
    os.mkfifo(tmp_path / "pipe.html")
    (tmp_path / "folder.html").mkdir()
    return {
        "symlink": (tmp_path / "link.html", "symbolic link"),
        "figures folder a symlink": (tmp_path / "r.md", "symbolic link"),
        "fifo": (tmp_path / "pipe.html", "not a regular file"),
        "a folder": (tmp_path / "folder.html", "not a regular file"),
        "pdf": (tmp_path / "r.pdf", ".pdf"),
        "unknown suffix": (tmp_path / "r.docx", ".docx"),
    }


def test_a_report_is_never_written_through_a_link_or_onto_a_special_file(
    two_homes, tmp_path, capsys
):
    home, _, run_id = two_homes
    cases = output_cases(tmp_path / "out")
    before = snapshot(tmp_path / "out", home)
    for label, (path, names) in cases.items():
        assert run_cli(home, "report", run_id, "-o", str(path)) == 2, label
        assert names in one_error_line(capsys.readouterr().err), label
    assert snapshot(tmp_path / "out", home) == before
    assert stat.S_ISFIFO((tmp_path / "out" / "pipe.html").lstat().st_mode)
    assert not (tmp_path / "out" / "outside" / "target.html").exists()


def test_a_markdown_report_replaces_its_figures_whole_and_clears_leftovers(tmp_path):
    from engine.report.build import Report, write_report
    from engine.report.document import Figure, Section

    def report(count: int) -> Report:
        figures = [Figure(f"f{i}", b"\x89PNG" + bytes([i]), f"figure {i}") for i in range(count)]
        return Report("t", [], [Section("s", "s").add(*figures)], ["r"])

    path = tmp_path / "r.md"
    leftover = tmp_path / ".r_files.abc123"  # what a writer killed mid-way leaves
    leftover.mkdir()
    (tmp_path / ".r.md.xyz").write_text("half")
    write_report(report(3), path, "md")
    write_report(report(2), path, "md")
    assert sorted(p.name for p in (tmp_path / "r_files").iterdir()) == ["f0.png", "f1.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md", "r_files"]


# --- processes, locks and vanished folders ------------------------------------------------


def true_record(pid: int) -> dict:
    from engine.runs.process import start_ticks

    return {"pid": pid, "start_ticks": start_ticks(pid)}


def test_stop_never_signals_a_live_process_that_is_not_the_runs(two_homes, capsys):
    """A forged process.json with a stranger's true pid and start time: not signalled."""
    home, _, run_id = two_homes
    run_dir = runs.runs_folder(home) / run_id
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run_dir / "process.json").write_text(json.dumps(true_record(stranger.pid)))
        assert run_cli(home, "stop", run_id) == 2
        assert "lock" in one_error_line(capsys.readouterr().err)
        assert stranger.poll() is None  # still alive
        assert run_cli(home, "runs", "--json") == 0
        assert json.loads(capsys.readouterr().out)[0]["status"] != "running"
    finally:
        stranger.kill()
        stranger.wait()


def test_delete_waits_for_the_runs_lock(two_homes, capsys):
    from engine.runs.process import take_lock

    home, _, run_id = two_homes
    run_dir = runs.runs_folder(home) / run_id
    lock = take_lock(run_dir)  # as a resume that has just begun holds it
    try:
        assert run_cli(home, "delete", run_id, "--yes") == 2
        assert "running" in one_error_line(capsys.readouterr().err)
        assert run_dir.is_dir()
    finally:
        os.close(lock)
    assert run_cli(home, "delete", run_id, "--yes") == 0
    assert not run_dir.exists()


def test_a_checkpoint_never_brings_back_a_deleted_run_folder(tmp_path):
    import torch

    from engine.errors import CheckpointError
    from engine.models.checkpoints import save_checkpoint

    gone = tmp_path / "runs" / "deleted"
    with pytest.raises(CheckpointError, match="gone"):
        save_checkpoint(gone / "last.pt", {"w": torch.zeros(2)})
    assert not gone.exists()


def test_a_full_disk_is_one_line_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    import torch

    from engine.errors import CheckpointError
    from engine.models.checkpoints import load_checkpoint, save_checkpoint

    path = tmp_path / "last.pt"
    save_checkpoint(path, {"w": torch.ones(2)})

    def full(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(CheckpointError, match="disk full"):
        save_checkpoint(path, {"w": torch.zeros(2)})
    monkeypatch.undo()
    assert torch.equal(load_checkpoint(path)["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temporary left


UNBOUNDED = {
    "pgd steps 1e9": ("attack", "pgd", "{run}", "--steps", "1000000000"),
    "synthesis steps 1e20": ("attack", "synthesize", "{run}", "--steps", "100000000000000000000"),
    "square queries 1e12": ("robustness", "{run}", "--queries", "1000000000000"),
    "predict random 1e20": ("predict", "{run}", "--random", "100000000000000000000"),
    "alpha 1e20": ("attack", "pgd", "{run}", "--alpha", "1e20"),
    "beta 1e20": ("attack", "targeted", "{run}", "--image", "1", "--target", "3", "--beta", "1e20"),
    "stride 1e20": ("occlude", "{run}", "--stride", "100000000000000000000"),
    "step size 1e20": ("attack", "noise", "{run}", "--step-size", "1e20"),
    "too many eps": ("robustness", "{run}", "--eps", ",".join(f"{i / 100:g}" for i in range(60))),
}


@pytest.mark.parametrize("argv", UNBOUNDED.values(), ids=UNBOUNDED)
def test_every_count_and_size_has_an_upper_bound(argv, two_homes, capsys):
    home, _, run_id = two_homes
    before = snapshot(home)
    code = run_cli(home, *(a.format(run=run_id) for a in argv))
    one_error_line(capsys.readouterr().err)
    assert code == 2
    assert snapshot(home) == before
