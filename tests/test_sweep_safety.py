"""A sweep's store and records as a user's home may hold them: killed with SIGKILL in the
middle of a trial, its store damaged, truncated, linked, locked or missing, its record
damaged, run twice at once. Each is one line (exit 2, no traceback) with nothing changed
under the home, in the CLI, the app's Sweeps screen and the report; a killed sweep run again
never repeats a trial's settings and keeps one run per trial under the trial's name."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import types
from pathlib import Path

import pytest

from engine import runs
from tests.app_setup import tiny_app, wait_for
from tests.optional import needs
from tui.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--epochs", "2", "--batch-size", "20", "--device", "cpu", "--snapshots", "none"]

# Runs the CLI and kills its own process with SIGKILL at the first batch of the KILL_AT-th
# run it starts: a sweep killed inside a trial, deterministically.
KILLER = """
import os, signal, sys
from engine import launch
from tui.cli.main import main
real, started = launch.start, []
def start(home, prepared, **kw):
    started.append(1)
    if len(started) == int(os.environ["KILL_AT"]):
        def kill(event):
            if type(event).__name__ == "BatchTrained":
                os.kill(os.getpid(), signal.SIGKILL)
        kw["listeners"] = [*kw["listeners"], kill]
    return real(home, prepared, **kw)
launch.start = start
sys.exit(main(sys.argv[1:]))
"""


def cli(*argv: str, kill_at: int | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNIST_TUI_")}
    env["KILL_AT"] = str(kill_at or 0)
    return subprocess.run([sys.executable, "-c", KILLER, *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def tree(home: Path) -> dict[str, str]:
    """Every path under the home with what it holds (a file's hash, a link's target)."""
    found = {}
    for path in sorted(home.rglob("*")):
        key = str(path.relative_to(home))
        if path.is_symlink():
            found[key] = "-> " + os.readlink(path)
        elif path.is_file():
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[key] = "folder"
    return found


def shown(home: Path, name: str, capsys) -> dict:
    capsys.readouterr()
    assert main(["--home", str(home), "sweep", "show", name, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_sweep_killed_inside_its_third_trial_ends_with_six_different_trials_one_run_each(
    tmp_path, tiny_folder, capsys
):
    needs("optuna")
    home = tmp_path / "home"
    first = cli("--home", str(home), "sweep", "s2", "--search", "lr=0.002..0.1:log",
                "--trials", "6", "--data", str(tiny_folder), *TINY, kill_at=3)  # fmt: skip
    assert first.returncode == -9, first.stderr  # killed, as by SIGKILL from outside
    assert len(runs.list_runs(home)) == 3  # two finished, the third killed in its first epoch
    again = cli("--home", str(home), "sweep", "s2")
    assert again.returncode == 0, again.stderr
    assert "trial 2: its run" in again.stdout and "removed" in again.stdout
    report = shown(home, "s2", capsys)
    trials = report["trials"]
    assert [t["state"] for t in trials] == ["done"] * 6
    rates = [t["params"]["lr"] for t in trials]
    assert len(set(rates)) == 6, rates  # the random start was not drawn again from its start
    kept = runs.list_runs(home)
    assert len(kept) == 6  # one run per trial: the killed one was replaced, not left failed
    names = sorted(runs.read_name(d) for d in kept)
    assert names == sorted(f"s2-t{n}" for n in range(6))
    for trial in trials:
        assert runs.read_name(runs.run_folder(home, trial["run"])) == f"s2-t{trial['number']}"
        assert runs.summarize(runs.run_folder(home, trial["run"])).status == "finished"


def test_a_sweep_taken_up_again_is_reproducible_and_one_in_one_go_keeps_its_seed():
    needs("optuna")
    from engine.studies import sweeps

    sweep = sweeps.Sweep("s", searches=[sweeps.parse_search("lr=0.001..0.1:log")], seed=3)
    assert sweeps.sampler_seed(sweep, 0) == 3
    assert sweeps.sampler_seed(sweep, 4) == sweeps.sampler_seed(sweep, 4)
    assert len({sweeps.sampler_seed(sweep, n) for n in range(1, 50)}) == 49


@pytest.fixture(scope="module")
def swept(tmp_path_factory, tiny_folder):
    """A finished sweep of two trials, copied afresh for each test that damages it."""
    needs("optuna")
    home = tmp_path_factory.mktemp("swept") / "home"
    assert main(["--home", str(home), "sweep", "sw", "--search", "lr=0.02..0.2:log",
                 "--trials", "2", "--data", str(tiny_folder), *TINY]) == 0  # fmt: skip
    return home


@pytest.fixture()
def home(swept, tmp_path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(swept, copy, symlinks=True)
    return copy


def store(home: Path) -> Path:
    return home / "sweeps" / "sw" / "optuna.db"


def damage(home: Path, how: str, tmp_path: Path) -> None:
    path = store(home)
    good = path.read_bytes()
    if how == "garbage":
        path.write_bytes(os.urandom(4096))
    elif how == "text":
        path.write_text("not a database\n")
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(good[: len(good) // 3])
    elif how == "header only":
        path.write_bytes(good[:100])
    elif how == "link":
        (tmp_path / "elsewhere.db").write_bytes(good)
        path.unlink()
        path.symlink_to(tmp_path / "elsewhere.db")
    elif how == "dangling link":
        path.unlink()
        path.symlink_to(tmp_path / "nowhere.db")
    elif how == "folder":
        path.unlink()
        path.mkdir()
    elif how == "missing":
        path.unlink()
    else:
        raise AssertionError(how)


DAMAGES = ["garbage", "text", "empty", "truncated", "header only", "link", "dangling link",
           "folder", "missing"]  # fmt: skip
SAID = {"garbage": "is not an SQLite database", "text": "is not an SQLite database",
        "empty": "is empty", "truncated": "cannot be used", "header only": "cannot be used",
        "link": "is a link", "dangling link": "is a link", "folder": "is not a file",
        "missing": "is missing while 2 of its trials' runs are kept"}  # fmt: skip
COMMANDS = {"show": ["sweep", "show", "sw"], "show --json": ["sweep", "show", "sw", "--json"],
            "go on": ["sweep", "sw"], "extend": ["sweep", "sw", "--trials", "4"],
            "confirm": ["sweep", "show", "sw", "--confirm", "0-1"]}  # fmt: skip


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_store_is_one_line_naming_it_and_nothing_changes(home, tmp_path, capsys, how,
                                                                  command):  # fmt: skip
    damage(home, how, tmp_path)
    before = tree(home)
    capsys.readouterr()
    assert main(["--home", str(home), *COMMANDS[command]]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in captured.err, captured.err
    assert str(store(home)) in err[0] and SAID[how] in err[0] and "nothing was changed" in err[0]
    assert tree(home) == before


@pytest.mark.parametrize("how", ["garbage", "truncated", "link", "missing"])
def test_the_sweeps_list_marks_a_damaged_store_and_lists_the_rest(home, tmp_path, capsys, how):
    damage(home, how, tmp_path)
    before = tree(home)
    capsys.readouterr()
    assert main(["--home", str(home), "sweeps", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["name"] == "sw" and SAID[how] in row["error"]
    assert tree(home) == before


def test_a_store_locked_by_another_program_says_so(home, capsys):
    holder = sqlite3.connect(store(home), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        before = tree(home)
        capsys.readouterr()
        assert main(["--home", str(home), "sweep", "show", "sw"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "database is locked" in err[0] and "try again" in err[0]
    finally:
        holder.rollback()
        holder.close()
    assert tree(home) == before


def test_a_sweep_running_elsewhere_is_neither_run_nor_extended(home, capsys):
    from engine.runs import process as run_process
    from engine.studies import sweeps

    lock = run_process.lock_folder(sweeps.sweep_dir(home, "sw"), RuntimeError("held"))
    try:
        before = tree(home)
        capsys.readouterr()
        assert main(["--home", str(home), "sweep", "sw", "--trials", "9"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "running in another process" in err[0]
        assert tree(home) == before  # its record was not extended to 9 trials
    finally:
        os.close(lock)


@pytest.mark.parametrize("how", ["garbage", "empty", "list", "no searches", "bad recipe",
                                 "link", "folder"])  # fmt: skip
def test_a_damaged_sweep_record_is_one_line(home, tmp_path, capsys, how):
    record = home / "sweeps" / "sw" / "sweep.json"
    data = json.loads(record.read_text())
    if how == "garbage":
        record.write_bytes(os.urandom(300))
    elif how == "empty":
        record.write_text("")
    elif how == "list":
        record.write_text("[1, 2]")
    elif how == "no searches":
        record.write_text(json.dumps({k: v for k, v in data.items() if k != "searches"}))
    elif how == "bad recipe":
        record.write_text(json.dumps(data | {"recipe": "nosuch"}))
    elif how == "link":
        (tmp_path / "other.json").write_text(json.dumps(data))
        record.unlink()
        record.symlink_to(tmp_path / "other.json")
    elif how == "folder":
        record.unlink()
        record.mkdir()
    before = tree(home)
    for argv in (["sweep", "show", "sw"], ["sweep", "sw"]):
        capsys.readouterr()
        assert main(["--home", str(home), *argv]) == 2
        captured = capsys.readouterr()
        assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
        assert "sw" in captured.err
    assert tree(home) == before


def test_a_trials_run_deleted_or_renamed_is_taken_in_its_stride(home, tiny_folder, capsys):
    reported = shown(home, "sw", capsys)
    first, second = (runs.run_folder(home, t["run"]) for t in reported["trials"])
    runs.delete_run(first)
    runs.name_run(second, "my favourite")
    capsys.readouterr()
    assert main(["--home", str(home), "sweep", "show", "sw"]) == 0
    assert main(["--home", str(home), "sweep", "sw", "--trials", "3"]) == 0
    report = shown(home, "sw", capsys)
    assert len(report["trials"]) == 3 and report["trials"][2]["state"] == "done"
    assert runs.read_name(second) == "my favourite"  # a name the user gave is kept


@pytest.mark.parametrize("how", ["garbage", "link", "missing"])
def test_the_report_says_a_damaged_sweep_and_goes_on(home, tmp_path, how):
    from engine.report.sections.sweeps import readable_section

    damage(home, how, tmp_path)
    part = readable_section(types.SimpleNamespace(home=home), "sw")
    text = " ".join(str(getattr(block, "text", "")) for block in part.blocks)
    assert "cannot be read" in text and SAID[how] in text


def test_the_apps_sweeps_screen_says_a_damaged_store(home, tmp_path, tiny_folder):
    damage(home, "garbage", tmp_path)
    before = tree(home)

    async def run() -> str:
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("w")

            def said() -> str:
                status = app.screen.query(".status")
                return " ".join(str(s.render()) for s in status)

            assert await wait_for(pilot, lambda: "not an SQLite database" in said()), said()
            return said()

    assert "nothing was changed" in asyncio.run(run())
    assert tree(home) == before


def test_two_sweeps_of_one_name_at_once_train_no_trial_twice(tmp_path, tiny_folder, capsys):
    needs("optuna")
    from engine.studies import sweeps

    home = tmp_path / "home"
    assert main(["--home", str(home), "sweep", "both", "--search", "lr=0.02..0.2:log",
                 "--trials", "1", "--data", str(tiny_folder), *TINY]) == 0  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("MNIST_TUI_")}
    argv = [sys.executable, "-m", "tui.cli", "--home", str(home), "sweep", "both", "--trials", "3"]
    both = [subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    ended = [(p.wait(600), p.stderr.read()) for p in both]
    codes = sorted(code for code, _ in ended)
    assert codes in ([0, 0], [0, 2]), ended  # the second finds it done, or is refused
    for code, err in ended:
        if code == 2:
            assert "running in another process" in err and "Traceback" not in err
    trials = sweeps.summarize(home, sweeps.load_sweep(home, "both"))["trials"]
    assert len(trials) == 3 and len({t["run"] for t in trials}) == 3
    assert len(runs.list_runs(home)) == 3
