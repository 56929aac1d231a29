"""Studies: the runs of a comparison over seeds, resumed without training anything twice,
and their statistics (checked against SciPy computed by hand)."""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats

from engine import events as ev
from engine import runs
from engine.studies import load_study, parse_seeds, parse_vary
from engine.studies.stats import interval, interval_text, paired
from tui.cli.main import main

TINY = ["--epochs", "1", "--batch-size", "40", "--lr", "0.05", "--device", "cpu"]


def test_a_study_trains_each_run_once_and_reports_statistics(home, tiny_folder, capsys):
    argv = ["study", "bn", "--vary", "model=convnet,convnet-bn", "--seeds", "0-1",
            "--data", str(tiny_folder), *TINY, "--json"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["groups"]) == {"model=convnet", "model=convnet-bn"}
    assert (
        all(status == "finished" for status in report["runs"].values()) and len(report["runs"]) == 4
    )
    figure = report["groups"]["model=convnet"]["test accuracy"]
    assert figure["n"] == 2 and set(figure["values"]) == {"0", "1"}
    assert "robust val accuracy" not in report["groups"]["model=convnet"]  # no defended run
    study = load_study(home, "bn")
    assert len(runs.list_runs(home)) == 4  # ordinary runs, listed by `runs`
    assert {runs.read_config(runs.runs_folder(home) / r).seed for r in study.runs.values()} == {
        0,
        1,
    }

    # again: nothing is trained twice
    assert main(["study", "bn", "--json"]) == 0
    capsys.readouterr()
    assert len(runs.list_runs(home)) == 4
    for run_id in study.runs.values():
        starts = [
            e
            for e in runs.read_events(runs.runs_folder(home) / run_id)
            if isinstance(e, ev.RunStarted)
        ]
        assert len(starts) == 1

    assert main(["studies", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["name"] == "bn" and listed["done"] == 4 and listed["left"] == 0

    # the groups compared at one epoch: each run's record of that epoch
    assert main(["study", "show", "bn", "--epoch", "1", "--json"]) == 0
    at_one = json.loads(capsys.readouterr().out)
    assert at_one["name"] == "bn at epoch 1"
    accuracy = at_one["groups"]["model=convnet-bn"]["val accuracy"]
    run_id = study.runs[next(k for k in study.runs if "convnet-bn" in k and k.endswith("0"))]
    (first,) = [e for e in runs.read_events(runs.runs_folder(home) / run_id)
                if isinstance(e, ev.EpochEvaluated) and e.epoch == 1]  # fmt: skip
    assert accuracy["n"] == 2 and accuracy["values"]["0"] == first.val_accuracy


def test_a_failed_run_of_a_study_is_redone(home, tiny_folder, capsys):
    argv = ["study", "one", "--seeds", "0", "--data", str(tiny_folder), *TINY]
    assert main(argv) == 0
    study = load_study(home, "one")
    (run_id,) = study.runs.values()
    run_dir = runs.runs_folder(home) / run_id
    for name in (runs.SUMMARY, runs.LAST):
        (run_dir / name).unlink()
    lines = [
        line
        for line in (run_dir / runs.EVENTS).read_text().splitlines()
        if "RunFinished" not in line
    ]
    (run_dir / runs.EVENTS).write_text("\n".join(lines) + "\n")  # a run that died at the end
    assert main(["study", "one"]) == 0
    capsys.readouterr()
    (new_id,) = load_study(home, "one").runs.values()
    assert new_id != run_id and runs.summarize(runs.runs_folder(home) / new_id).status == "finished"


def test_a_study_with_other_settings_under_the_same_name_is_refused(home, tiny_folder, capsys):
    assert main(["study", "s", "--seeds", "0", "--data", str(tiny_folder), *TINY]) == 0
    lr = [value if value != "0.05" else "0.01" for value in TINY]  # another --lr
    assert main(["study", "s", "--seeds", "0", "--data", str(tiny_folder), *lr]) == 2
    assert "exists with other settings" in capsys.readouterr().err


def test_more_seeds_extend_a_study_and_train_only_the_new_ones(home, tiny_folder, capsys):
    assert main(["study", "s", "--seeds", "0", "--data", str(tiny_folder), *TINY]) == 0
    (first,) = load_study(home, "s").runs.values()
    assert main(["study", "s", "--seeds", "0-1"]) == 0  # the settings stay as they were
    capsys.readouterr()
    study = load_study(home, "s")
    assert study.seeds == [0, 1] and study.runs["all runs seed=0"] == first
    assert len(runs.list_runs(home)) == 2
    assert main(["study", "s", "--seeds", "1"]) == 2  # dropping a seed is refused
    assert "not drop any" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["study", "x", "--vary", "colour=red"], "not a setting to vary"),
        (["study", "x", "--vary", "lr=fast"], "lr"),
        (["study", "x", "--seeds", "a-b"], "--seeds"),
        (["study", "x", "--seed", "3"], "use --seeds"),
        (["study", "bad/name"], "study name"),
        (["study", "show", "nothing"], "no study named"),
        (["study", "x", "--at-once", "2", "--executor", "ray"], "--at-once is for runs here"),
    ],
)
def test_bad_study_requests_are_one_line(home, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_intervals_and_the_paired_test_match_scipy():
    values = [0.9926, 0.9932, 0.9926]
    iv = interval(values)
    low, high = stats.t.interval(0.95, 2, loc=sum(values) / 3, scale=stats.sem(values))
    assert iv.n == 3 and math.isclose(iv.low, low) and math.isclose(iv.high, high)
    a = {0: 0.9926, 1: 0.9932, 2: 0.9926, 3: 0.9929}
    b = {0: 0.9937, 1: 0.9942, 2: 0.9939, 3: 0.9941}
    result = paired("convnet", "convnet-bn", "test accuracy", a, b)
    expected = stats.ttest_rel([b[s] for s in range(4)], [a[s] for s in range(4)]).pvalue
    assert result.seeds == [0, 1, 2, 3] and math.isclose(result.p_value, expected)
    assert result.verdict.startswith("distinguishable")
    noisy = paired(
        "a", "b", "test accuracy", {0: 0.99, 1: 0.995, 2: 0.992}, {0: 0.994, 1: 0.99, 2: 0.993}
    )
    assert noisy.verdict.startswith("not distinguishable")


def test_seeds_and_varied_settings_are_parsed_from_the_declarations():
    assert parse_seeds("0-2,5") == [0, 1, 2, 5]
    assert parse_vary(["model=convnet,convnet-bn", "lr=0.05,0.1"]) == {
        "model": ["convnet", "convnet-bn"], "lr": [0.05, 0.1],
    }  # fmt: skip


def test_a_detached_study_runs_in_the_background(home, tiny_folder, capsys):
    import time

    from engine.studies import progress

    argv = ["study", "bg", "--seeds", "0", "--data", str(tiny_folder), *TINY, "--detach"]
    assert main(argv) == 0
    assert "started in the background" in capsys.readouterr().out
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if progress(home, load_study(home, "bg")).done == 1:
            break
        time.sleep(0.5)
    assert progress(home, load_study(home, "bg")).done == 1


def test_a_study_runs_as_ray_tasks_on_a_local_instance(home, tiny_folder, capsys, monkeypatch):
    pytest.importorskip("ray")
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    argv = ["study", "ray", "--seeds", "0-1", "--data", str(tiny_folder), *TINY,
            "--executor", "ray", "--cpus-per-run", "1", "--json"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["runs"].values()) == ["finished", "finished"]
    study = load_study(home, "ray")
    for run_id in study.runs.values():  # ordinary runs, each trained once
        starts = [
            e
            for e in runs.read_events(runs.runs_folder(home) / run_id)
            if isinstance(e, ev.RunStarted)
        ]
        assert len(starts) == 1


def test_the_studies_screen_shows_groups_curves_and_progress(home, tiny_folder, capsys):
    import asyncio

    from tests.app_setup import text_of, tiny_app, wait_for

    argv = ["study", "s", "--vary", "lr=0.05,0.1", "--seeds", "0-1", "--data", str(tiny_folder),
            "--epochs", "2", "--batch-size", "40", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()

    async def scenario():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("u")
            status = app.screen.query_one(".status")
            assert await wait_for(pilot, lambda: "runs: 4 done" in text_of(status))
            table = app.screen.query_one("#study-groups")
            assert [table.get_row_at(i)[0] for i in range(2)] == ["lr=0.05", "lr=0.1"]
            chart = app.screen.query_one("#study-chart")
            assert chart.xs["lr=0.05"] == [1, 2] and any(k.endswith("±sd") for k in chart.series)
            # narrower, the figures that do not fit are named; wider again, they come back
            columns = lambda: [str(c.label) for c in table.ordered_columns]  # noqa: E731
            wide = columns()
            await pilot.resize_terminal(80, 30)  # the narrowest the app is laid out for
            assert await wait_for(pilot, lambda: len(columns()) < len(wide))
            assert "not shown at this width" in text_of(app.screen.query_one("#study-comparison"))
            await pilot.resize_terminal(100, 30)
            assert await wait_for(pilot, lambda: columns() == wide)

    asyncio.run(scenario())


def test_the_machine_decides_how_many_runs_train_at_once():
    from engine.studies import RUN_GPU_BYTES, placement

    cpu = placement("cpu", runs_left=10, cores=2)
    assert (cpu.at_once, cpu.threads) == (1, 2)  # one at a time with every thread
    roomy = placement("cuda", runs_left=10, cores=16, gpu_free_bytes=80 * 1024**3)
    assert (roomy.at_once, roomy.threads) == (10, 1)  # as many as there are runs
    tight = placement("cuda", runs_left=10, cores=16, gpu_free_bytes=3 * RUN_GPU_BYTES)
    assert (tight.at_once, tight.threads) == (3, 5)  # as many as the memory holds
    full = placement("cuda", runs_left=10, cores=16, gpu_free_bytes=RUN_GPU_BYTES // 2)
    assert full.at_once == 1  # never none
    few_cores = placement("cuda", runs_left=10, cores=4, gpu_free_bytes=80 * 1024**3)
    assert (few_cores.at_once, few_cores.threads) == (4, 1)  # at most one per core
    asked = placement("cpu", runs_left=3, cores=2, at_once=2)
    assert (asked.at_once, asked.threads) == (2, 1)


def _threads_of(home, run_id):
    (start,) = [
        e for e in runs.read_events(runs.runs_folder(home) / run_id) if isinstance(e, ev.RunStarted)
    ]
    return start.threads


def test_several_runs_at_once_share_the_cores_and_each_trains_once(home, tiny_folder, capsys):
    from engine.studies import usable_cores

    argv = ["study", "par", "--seeds", "0-2", "--at-once", "2", "--data", str(tiny_folder),
            *TINY, "--json"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["runs"].values()) == ["finished"] * 3
    study = load_study(home, "par")
    cores = usable_cores()
    assert {_threads_of(home, r) for r in study.runs.values()} == {max(1, cores // 2)}
    assert len(runs.list_runs(home)) == 3


def test_stopping_a_study_stops_its_runs_at_once_and_it_resumes_them(home, tiny_folder):
    import threading
    import time

    from engine.studies import define, run_study

    study = define(home, "halt", seeds=[0, 1],
                   base={"data": str(tiny_folder), "epochs": 30, "batch_size": 40, "device": "cpu"})  # fmt: skip
    cancel = threading.Event()
    worker = threading.Thread(target=run_study, args=(home, study),
                              kwargs={"cancel": cancel, "at_once": 2})  # fmt: skip
    worker.start()

    def epochs_done(run_id):
        return sum(
            isinstance(e, ev.EpochEvaluated)
            for e in runs.read_events(runs.runs_folder(home) / run_id)
        )

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ids = list(load_study(home, "halt").runs.values())
        if len(ids) == 2 and all(epochs_done(r) for r in ids):
            break
        time.sleep(0.2)
    cancel.set()
    worker.join(120)
    assert not worker.is_alive()
    ids = list(load_study(home, "halt").runs.values())
    for run_id in ids:  # both asked to stop, each with a last.pt to go on from
        run_dir = runs.runs_folder(home) / run_id
        assert runs.summarize(run_dir).status == "stopped" and runs.has_checkpoint(run_dir, "last")

    state = run_study(home, load_study(home, "halt"), at_once=2)
    assert state.done == 2 and list(load_study(home, "halt").runs.values()) == ids


def test_a_study_of_defended_runs_reports_their_robust_accuracy(home, tiny_folder, capsys):
    argv = ["study", "adv", "--vary", "adversarial=none,fgsm-rs", "--seeds", "0-1", "--eps", "0.1",
            "--eps-warmup", "0", "--data", str(tiny_folder), *TINY, "--json"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    robust = report["groups"]["adversarial=fgsm-rs"]["robust val accuracy"]
    assert robust["n"] == 2 and 0 <= robust["mean"] <= 1
    assert "robust val accuracy" in {c["figure"] for c in report["comparisons"]}


def test_a_cuda_study_asks_the_gpu_how_much_memory_is_free(home, tiny_folder, monkeypatch):
    import torch

    from engine.studies import RUN_GPU_BYTES, define, machine_placement, pending
    from engine.training import device as training

    monkeypatch.setattr(training, "resolve_device", lambda name: torch.device(name))
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda: (3 * RUN_GPU_BYTES, 8 * RUN_GPU_BYTES))
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(12)), raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 12)
    study = define(
        home, "gpu", seeds=[0, 1, 2, 3], base={"device": "cuda", "data": str(tiny_folder)}
    )
    place = machine_placement(study, pending(home, study))
    assert (place.at_once, place.threads) == (3, 4) and "GPU" in place.why


def test_an_interval_never_reaches_past_the_possible_values_and_says_when_seeds_are_few():
    from engine.studies.stats import StudyReport, bounds

    # two seeds far apart: Student's t with 1 degree of freedom spans far past 100%
    iv = interval([0.70, 0.995], bounds("test accuracy"))
    assert iv.clipped and iv.high == 1.0 and 0 <= iv.low < iv.mean and iv.few
    loss = interval([0.05, 0.9], bounds("test loss"))
    assert loss.low == 0.0 and loss.clipped
    assert not interval([0.98, 0.99, 0.985, 0.987], bounds("test accuracy")).clipped
    difference = paired("a", "b", "test accuracy", {0: 0.1, 1: 0.99}, {0: 0.99, 1: 0.1})
    assert difference.difference.low >= -1 and difference.difference.high <= 1
    result = StudyReport("s", ["g"], {"g": {"test accuracy": {0: 0.7, 1: 0.995}}},
                         {"g": {"test accuracy": iv}}, [], {}, None, ["test accuracy"])  # fmt: skip
    notes = " ".join(result.notes())
    assert "cut at the possible values" in notes and "with 2 seeds" in notes
    assert "100.00]*" in interval_text(iv, "%")


def test_the_studies_screen_follows_a_study_while_it_runs(home, tiny_folder, capsys):
    """Started from a shell while the screen is open: the screen shows it, then its runs as
    they finish, with no key pressed."""
    import asyncio
    import time

    from tests.app_setup import text_of, tiny_app, wait_for

    async def scenario():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("u")
            status = app.screen.query_one(".status")
            assert await wait_for(pilot, lambda: "start one from a shell" in text_of(status))
            argv = ["study", "live", "--seeds", "0-1", "--data", str(tiny_folder), *TINY,
                    "--detach"]  # fmt: skip
            assert main(argv) == 0
            assert await wait_for(pilot, lambda: "runs: 2 done" in text_of(status), 180)
            shown = text_of(app.screen.query_one("#study-title"))
            assert "Study live" in shown

    asyncio.run(scenario())
    capsys.readouterr()
    time.sleep(0.5)  # the detached study process lets go of its lock
