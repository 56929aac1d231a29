"""Runs that survive what users and crashes do to them: locks, torn logs, leftover temporary
files, hang-ups, full disks, symlinks, a hostile current directory, and what `latest` means."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine import events as ev
from engine import launch, runs
from engine.config import TrainConfig
from engine.errors import RunBusy
from engine.runs import process as run_process
from tui.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--epochs", "2", "--batch-size", "40", "--device", "cpu"]


def train_tiny(home: Path, data: Path, *extra: str) -> Path:
    assert main(["--home", str(home), "train", "--data", str(data), *TINY, *extra, "--json"]) == 0
    return runs.list_runs(home)[-1]


def test_one_process_per_run(home, tiny_folder):
    run_dir = runs.create_run(home, TrainConfig(data=str(tiny_folder)))
    first = run_process.take_lock(run_dir)
    try:
        with pytest.raises(RunBusy, match="another process"):
            run_process.take_lock(run_dir)
    finally:
        os.close(first)
    os.close(run_process.take_lock(run_dir))  # free again once the first let go


def test_a_torn_last_line_is_cut_before_the_resume_appends(home, tiny_folder, capsys):
    run_dir = train_tiny(home, tiny_folder)
    make_resumable(run_dir)
    with open(run_dir / runs.EVENTS, "a") as handle:
        handle.write('{"event":"BatchTrained","epo')  # killed mid-write
    capsys.readouterr()
    assert main(["--home", str(home), "train", "--resume", run_dir.name, "--json"]) == 0
    starts = [e for e in runs.read_events(run_dir) if isinstance(e, ev.RunStarted)]
    assert len(starts) == 2  # the resume's RunStarted was not glued to the torn line
    assert all(
        line.startswith('{"event"') for line in (run_dir / runs.EVENTS).read_text().splitlines()
    )


def make_resumable(run_dir: Path) -> None:
    """The finished run as if it had stopped after epoch 1 (its last.pt is from epoch 2:
    rewind it to look like a stop that came earlier)."""
    import torch

    state = torch.load(run_dir / runs.LAST, weights_only=True)
    state["progress"]["epoch"] = 1
    state["progress"]["history"] = state["progress"]["history"][:1]
    torch.save(state, run_dir / runs.LAST)
    (run_dir / runs.SUMMARY).unlink()
    lines = (run_dir / runs.EVENTS).read_text().splitlines()
    kept = [line for line in lines if '"TestEvaluated"' not in line and '"RunFinished"' not in line]
    kept.append(ev.event_to_json(ev.RunStopped(epoch=1, reason="test")))
    (run_dir / runs.EVENTS).write_text("\n".join(kept) + "\n")


def test_leftover_temporary_checkpoints_are_removed(home, tiny_folder):
    run_dir = train_tiny(home, tiny_folder)
    make_resumable(run_dir)
    for name in (".best.pt.abc123", ".last.pt.x9", ".summary.json.q"):
        (run_dir / name).write_bytes(b"half a file")
    assert main(["--home", str(home), "train", "--resume", run_dir.name, "--json"]) == 0
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".")]


def test_hangup_stops_a_foreground_run_gracefully(home, tiny_folder):
    process = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--home", str(home), "train", "--data", str(tiny_folder),
         "--epochs", "300", "--batch-size", "10", "--device", "cpu"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = runs.list_runs(home)
        if found and any(isinstance(e, ev.EpochEvaluated) for e in runs.read_events(found[0])):
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGHUP)  # the terminal closed
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    summary = runs.summarize(runs.list_runs(home)[0])
    assert summary.status == "stopped" and summary.epoch >= 1
    assert (runs.list_runs(home)[0] / runs.LAST).is_file()


def test_a_full_disk_is_one_line_and_last_pt_stays_valid(home, tiny_folder, capsys, monkeypatch):
    run_dir = train_tiny(home, tiny_folder)
    make_resumable(run_dir)
    good_last = (run_dir / runs.LAST).read_bytes()
    import engine.models.checkpoints as checkpoints

    def full(path, state):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(checkpoints, "save_checkpoint", full)
    monkeypatch.setattr("engine.training.loop.save_checkpoint", full)
    capsys.readouterr()
    code = main(["--home", str(home), "train", "--resume", run_dir.name, "--json"])
    err = capsys.readouterr().err
    assert code == 2
    assert (
        err.strip().count("\n") == 0 and "No space left on device" in err and "Traceback" not in err
    )
    assert (run_dir / runs.LAST).read_bytes() == good_last
    assert runs.summarize(run_dir).status == "failed"


def test_run_files_are_not_followed_through_symlinks(home, tiny_folder, tmp_path, capsys):
    run_dir = train_tiny(home, tiny_folder)
    make_resumable(run_dir)
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    (run_dir / runs.EVENTS).unlink()
    (run_dir / runs.EVENTS).symlink_to(outside)
    code = main(["--home", str(home), "train", "--resume", run_dir.name])
    assert code == 2
    assert outside.read_text() == "precious\n"
    summary = runs.summarize(run_dir)
    assert summary.status == "damaged" and "events.jsonl" in summary.error


def test_the_detached_worker_ignores_an_engine_in_the_current_directory(
    home, tiny_folder, tmp_path
):
    trap = tmp_path / "cwd"
    (trap / "engine").mkdir(parents=True)
    marker = tmp_path / "imported-from-cwd"
    for name in ("__init__.py", "launch.py"):
        (trap / "engine" / name).write_text(f"open({str(marker)!r}, 'w').write('oops')\n")
    script = shutil.which("mnist-tui") or str(Path(sys.executable).parent / "mnist-tui")
    done = subprocess.run(
        [script, "--home", str(home), "train", "--data", str(tiny_folder), *TINY, "--detach"],
        cwd=trap, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_dir = runs.find_run(home, done.stdout.strip())
    deadline = time.monotonic() + 60
    while runs.summarize(run_dir).status == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert runs.summarize(run_dir).status == "finished", (run_dir / launch.WORKER_LOG).read_text()
    assert not marker.exists()


def test_latest_is_the_newest_run_with_a_best_checkpoint(home, tiny_folder, capsys):
    good = train_tiny(home, tiny_folder)
    failed = runs.create_run(home, TrainConfig(data=str(tiny_folder)))
    (failed / runs.EVENTS).write_text(ev.event_to_json(ev.RunFailed(error="boom")) + "\n")
    assert runs.find_run(home, "latest") == good
    assert runs.find_run(home, "latest", needs="any") == failed  # what follow and stop mean
    capsys.readouterr()
    assert main(["--home", str(home), "predict", "--index", "0", "--json"]) == 0
    assert f"using run {good.name}" in capsys.readouterr().err


def test_a_copied_run_is_its_own_run(home, tiny_folder, capsys):
    run_dir = train_tiny(home, tiny_folder)
    copy = run_dir.parent / f"{run_dir.name}-backup"
    shutil.copytree(run_dir, copy)
    ids = [runs.summarize(d).id for d in runs.list_runs(home)]
    assert ids == [run_dir.name, copy.name]
    assert runs.summarize(copy).path == str(copy)


def test_a_stop_record_names_pid_and_start_time_before_the_worker_runs(home, tiny_folder):
    config = TrainConfig(data=str(tiny_folder), epochs=300, batch_size=10, device="cpu")
    run_dir, pid, _ = launch.start(home, launch.prepare(home, config), detach=True)
    try:
        claimant = run_process.read_claimant(run_dir)
        assert claimant.pid == pid and claimant.start_ticks == run_process.start_ticks(pid)
        assert run_process.process_alive(run_dir)
    finally:
        asked, _ = run_process.stop(run_dir)
        assert asked
        deadline = time.monotonic() + 60
        while run_process.process_alive(run_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert runs.summarize(run_dir).status in ("stopped", "failed")
