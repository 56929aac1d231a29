"""A sweep on a Ray cluster of two nodes (started on this machine with Ray's own test
cluster), one of them killed while it trains a trial: the trial is run again on the node
that is left and finishes; no trial is lost, none left running, and the sweep reads like a
local one (`sweep show`); the lost trial's run resumes from its last saved epoch."""

from __future__ import annotations

import json
import threading
import time

import pytest

from engine import events as ev
from engine import runs
from engine.runs import process as run_process
from tests.optional import needs
from tui.cli.main import main

TRIALS = 4
# long enough (several seconds a trial) for a node to be killed in the middle of one, even
# when a node's first trial waits seconds for its worker to start (12 epochs once ended
# before the other node's trial had saved one, under the whole suite's load)
EPOCHS = 30
SLOW = ["--epochs", str(EPOCHS), "--batch-size", "20", "--device", "cpu", "--snapshots", "none"]


def running_runs(home) -> list:
    """Runs whose process is training now."""
    return [p for p in runs.list_runs(home) if run_process.process_alive(p)]


def epochs_of(run_dir) -> list[int]:
    return [e.epoch for e in runs.read_events(run_dir) if isinstance(e, ev.EpochEvaluated)]


@pytest.mark.long
def test_a_node_killed_mid_trial_loses_no_trial(tmp_path, tiny_folder, capsys, monkeypatch):
    needs("optuna")
    needs("ray.tune")
    from ray.cluster_utils import Cluster

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    home = tmp_path / "home"
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "include_dashboard": False})  # fmt: skip
    worker = cluster.add_node(num_cpus=1)
    killed: list[list[str]] = []

    def kill_the_worker_node_mid_trial() -> None:
        # each node has one CPU and each trial asks for one: two runs training at once are
        # one on each node; once both have saved an epoch, the worker node goes, with
        # whichever trial it was training
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            training = running_runs(home) if runs.runs_folder(home).is_dir() else []
            # both have saved a last.pt, and neither is near its end: the kill lands mid-trial
            if len(training) == 2 and all(
                runs.has_checkpoint(p, runs.snapshots.LAST) and 1 <= len(epochs_of(p)) <= EPOCHS - 8
                for p in training
            ):
                killed.append([p.name for p in training])
                cluster.remove_node(worker)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_the_worker_node_mid_trial, daemon=True)
    killer.start()
    try:
        code = main(["--home", str(home), "sweep", "onray", "--search", "lr=0.01..0.05:log",
                     "--trials", str(TRIALS), "--executor", f"ray:{cluster.address}",
                     "--data", str(tiny_folder), *SLOW])  # fmt: skip
    finally:
        killer.join(timeout=5)
        cluster.shutdown()
    assert code == 0
    out = capsys.readouterr().out
    if not killed:  # seen once under the whole suite's load: said, not passed
        pytest.skip("the two trials never trained at once with a last.pt each: no node removed")
    assert "its worker was lost" in out and "Ray Tune runs it again" in out
    assert "resumes from its last saved epoch" in out

    capsys.readouterr()
    assert main(["--home", str(home), "sweep", "show", "onray", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [t["state"] for t in report["trials"]] == ["done"] * TRIALS  # none lost
    for trial in report["trials"]:  # each trial's run finished under the trial's name
        run_dir = runs.run_folder(home, trial["run"])
        assert runs.read_name(run_dir) == f"onray-t{trial['number']}"
        assert runs.summarize(run_dir).status == "finished"
    assert report["best"]["value"] == max(t["value"] for t in report["trials"])
    assert not running_runs(home)
    # the lost trial's run went on from its last saved epoch, not from the start (an epoch
    # logged in the instant before its last.pt was written may be logged again), no run twice
    assert len(runs.list_runs(home)) == TRIALS
    for run_id in killed[0]:
        epochs = epochs_of(runs.run_folder(home, run_id))
        assert set(epochs) == set(range(1, EPOCHS + 1)) and epochs.count(1) == 1
        assert len(epochs) <= EPOCHS + 1
