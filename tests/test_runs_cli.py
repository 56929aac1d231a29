"""Runs on disk through the headless commands: train, --json, runs, detach/follow/stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from engine import events as ev
from engine import runs
from engine.atomic import write_json
from engine.runs.process import PROCESS
from tui.cli.main import main

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real `mnist-tui` entry point in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from tui.cli.main import main; sys.exit(main())",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_train_json_lines_parse_and_run_is_recorded(home, tiny_folder, capsys):
    code = main(["train", "--data", str(tiny_folder), "--epochs", "2", "--batch-size", "40",
                 "--device", "cpu", "--json"])  # fmt: skip
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    parsed = [ev.event_from_json(line) for line in lines]
    assert isinstance(parsed[0], ev.RunStarted)
    assert isinstance(parsed[-1], ev.RunFinished)
    run_dir = runs.find_run(home, "latest")
    assert {"config.json", "events.jsonl", "best.pt", "last.pt", "summary.json"} <= {
        p.name for p in run_dir.iterdir()
    }
    logged = runs.read_events(run_dir)
    assert [type(e) for e in logged] == [type(e) for e in parsed]
    summary = runs.summarize(run_dir)
    assert summary.status == "finished" and summary.epoch == 2
    assert summary.test_accuracy == parsed[-1].test_accuracy

    main(["runs", "--json"])
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["id"] == run_dir.name and listed[0]["status"] == "finished"


def test_plain_output_has_no_control_codes(home, tiny_folder):
    done = cli("train", "--data", str(tiny_folder), "--epochs", "1", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout
    assert "epoch   1/1" in done.stdout and "test accuracy" in done.stdout


def test_user_mistakes_give_one_line_and_no_traceback(home, tiny_folder):
    for args, message in [
        (("train", "--epochs", "0"), "--epochs: 0 is not a whole number from 1"),
        (("train", "--lr", "abc"), "is not a number"),
        (("train", "--data", "/no/such/folder"), "no such folder"),
        (("follow", "nosuchrun"), "no runs in"),
        (
            ("train", "--data", str(tiny_folder), "--subset", "5"),
            "--subset: 5 is not a whole number from 10",
        ),
    ]:
        done = cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_truncated_last_line_is_not_trusted(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    log = runs.EventLog(run_dir)
    log(ev.RunStopped(epoch=1, reason="test"))
    log.close()
    with open(run_dir / runs.EVENTS, "a") as handle:
        handle.write('{"event":"RunFinished","epo')  # a writer caught mid-line
    reader = runs.EventReader(run_dir)
    assert [type(e) for e in reader.read()] == [ev.RunStopped]
    with open(run_dir / runs.EVENTS, "a") as handle:
        handle.write('chs":1}\n')  # ...and its line completed later: unknown fields, skipped
    assert reader.read() == []


def wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_detach_follow_stop_resume(home, tiny_folder):
    started = cli("train", "--data", str(tiny_folder), "--epochs", "200", "--batch-size", "10",
                  "--device", "cpu", "--detach")  # fmt: skip
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.strip()
    run_dir = runs.find_run(home, run_id)
    assert runs.summarize(run_dir).status == "running"
    assert wait_for(
        lambda: any(isinstance(e, ev.EpochEvaluated) for e in runs.read_events(run_dir))
    )

    stopped = cli("stop", run_id)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    summary = runs.summarize(run_dir)
    assert summary.status == "stopped"
    assert 1 <= summary.epoch < 200
    assert (run_dir / "last.pt").is_file()
    again = cli("stop", run_id)
    assert again.returncode == 2 and "not running (it is stopped)" in again.stderr

    followed = cli("follow", run_id)  # a stopped run: its story, then the stop
    assert followed.returncode == 0
    assert "stopped after" in followed.stdout

    # resume in the background for a short while, then stop again: it picks up where it was
    resumed = cli("train", "--resume", run_id, "--detach")
    assert resumed.returncode == 0, resumed.stderr
    assert wait_for(lambda: runs.summarize(run_dir).epoch > summary.epoch)
    assert cli("stop", run_id).returncode == 0
    starts = [e for e in runs.read_events(run_dir) if isinstance(e, ev.RunStarted)]
    assert [s.start_epoch for s in starts] == [0, summary.epoch]


def test_dead_process_is_not_running_forever(home, tiny_folder):
    main(["train", "--data", str(tiny_folder), "--epochs", "1", "--device", "cpu", "--json"])
    run_dir = runs.find_run(home, "latest")
    (run_dir / runs.SUMMARY).unlink()
    lines = (run_dir / runs.EVENTS).read_text().splitlines()
    (run_dir / runs.EVENTS).write_text("\n".join(lines[:5]) + "\n")  # died mid-run
    write_json(run_dir / PROCESS, {"pid": 999_999_999, "start_ticks": 1})  # a pid that is not alive
    summary = runs.summarize(run_dir)
    assert summary.status == "failed"
    assert "without finishing" in summary.error


def test_reader_skips_batch_events_without_decoding_them(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    log = runs.EventLog(run_dir)
    log(ev.BatchTrained(epoch=1, batch=1, batches=1, step=1, loss=0.5, lr=0.1, images_per_s=1.0))
    log(ev.RunStopped(epoch=1, reason="test"))
    log.close()
    assert [type(e) for e in runs.read_events(run_dir)] == [ev.BatchTrained, ev.RunStopped]
    assert [type(e) for e in runs.read_events(run_dir, runs.WITHOUT_BATCHES)] == [ev.RunStopped]


def test_a_listed_runs_summary_follows_its_files_from_two_stat_calls(trained_home, tmp_path):
    """Views list every run every two seconds from memory (two stat calls a run): still, a
    name given (a file replaced) and a log grown in place are seen at the next listing."""
    import shutil

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    run_dir = runs.list_runs(home)[-1]
    first = runs.summarize_cached(run_dir)
    assert runs.summarize_cached(run_dir) is first  # unchanged: from memory
    runs.name_run(run_dir, "kept")
    named = runs.summarize_cached(run_dir)
    assert named.name == "kept"
    with open(run_dir / runs.EVENTS, "a") as log:  # appended in place, as a run does
        log.write(ev.event_to_json(ev.RunStopped(epoch=3, reason="test")) + "\n")
    assert runs.summarize_cached(run_dir) is not named  # the log was read again


def test_the_listing_mark_moves_with_a_run_made_removed_or_running_not_with_a_finished_one(
    trained_home, tmp_path
):
    """The home looks at this mark every 2 s and lists every run only when it moves (or
    every 10 s): it must move for what changes a listing by itself."""
    import shutil

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    run_dir = runs.list_runs(home)[-1]
    mark = runs.listing_mark(home, [])
    runs.name_run(run_dir, "renamed")  # a finished run changed from elsewhere: the 10 s relist
    assert runs.listing_mark(home, []) == mark
    copy = runs.runs_folder(home) / "copy"
    shutil.copytree(run_dir, copy)
    assert runs.listing_mark(home, []) != mark  # a run made
    mark = runs.listing_mark(home, [])
    shutil.rmtree(copy)
    assert runs.listing_mark(home, []) != mark  # a run removed
    mark = runs.listing_mark(home, [run_dir.name])
    with open(run_dir / runs.EVENTS, "a") as log:  # a running run logs
        log.write(ev.event_to_json(ev.RunStopped(epoch=3, reason="test")) + "\n")
    assert runs.listing_mark(home, [run_dir.name]) != mark


def test_every_status_a_run_can_have_is_shown_in_its_own_colour():
    """The statuses are declared once (engine.runs.state); the runs table colours each one,
    and none falls back to the colour of an unknown status."""
    from engine.runs.state import STATUSES
    from tui.draw.tables import STATUS_COLOURS

    assert set(STATUS_COLOURS) == set(STATUSES)
