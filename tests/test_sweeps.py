"""Sweeps with Optuna: a tiny search on synthetic data finds its best among its trials,
tries different settings, prunes a hopeless trial early, goes on after a kill without
training any trial twice, and refuses a bad search in one line before anything runs."""

from __future__ import annotations

import json
import threading

import pytest

from engine import runs
from tests.optional import needs
from tui.cli.main import main

TINY = ["--epochs", "2", "--batch-size", "20", "--device", "cpu", "--snapshots", "none"]


def sweep_cli(home, tiny_folder, *argv: str) -> int:
    return main(["--home", str(home), "sweep", *argv, "--data", str(tiny_folder), *TINY])


def shown(home, name: str, capsys) -> dict:
    capsys.readouterr()
    assert main(["--home", str(home), "sweep", "show", name, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def swept(tmp_path_factory, tiny_folder):
    """Six trials over a learning rate from one that learns to one far too large."""
    needs("optuna")
    home = tmp_path_factory.mktemp("sweep") / "home"
    code = main(["--home", str(home), "sweep", "lrs", "--search", "lr=0.01..9:log",
                 "--search", "momentum=0,0.9", "--trials", "6", "--prune",
                 "--data", str(tiny_folder), *TINY])  # fmt: skip
    assert code == 0
    return home


def test_the_best_trial_is_the_best_of_the_trials_and_the_trials_differ(swept, capsys):
    report = shown(swept, "lrs", capsys)
    trials = report["trials"]
    assert len(trials) == 6
    assert len({t["params"]["lr"] for t in trials}) == 6  # TPE tried six rates
    done = [t for t in trials if t["state"] == "done"]
    assert report["best"]["value"] == max(t["value"] for t in done)
    assert report["best"]["number"] in [t["number"] for t in done]
    for trial in trials:  # each trial is an ordinary run, named after its sweep
        run_dir = runs.find_run(swept, trial["run"], needs="any")
        assert runs.read_name(run_dir) == f"lrs-t{trial['number']}"
        assert runs.read_config(run_dir).lr == pytest.approx(trial["params"]["lr"])
    capsys.readouterr()
    assert main(["--home", str(swept), "sweep", "show", "lrs"]) == 0
    out = capsys.readouterr().out
    assert f"best: trial {report['best']['number']}, validation" in out


def test_a_pruned_trial_stopped_before_the_end_of_its_training(swept, capsys):
    report = shown(swept, "lrs", capsys)
    pruned = [t for t in report["trials"] if t["state"] == "pruned"]
    assert pruned, [(t["params"], t["state"], t["value"]) for t in report["trials"]]
    for trial in pruned:
        run_dir = runs.find_run(swept, trial["run"], needs="any")
        assert runs.summarize(run_dir).status == "stopped"
        steps = [e for e in runs.read_events(run_dir) if type(e).__name__ == "BatchTrained"]
        assert steps[-1].step < 2 * steps[-1].batches  # stopped before its two epochs' end


def test_a_killed_sweep_goes_on_to_its_trials_without_training_any_twice(
    tmp_path, tiny_folder, capsys
):
    needs("optuna")
    from engine.studies import sweeps

    home = tmp_path / "home"
    assert sweep_cli(home, tiny_folder, "resumed", "--search", "lr=0.02..0.2:log",
                     "--trials", "2") == 0  # fmt: skip
    assert len(runs.list_runs(home)) == 2
    # killed in the middle of a third trial: its run stopped after an epoch, the trial
    # still "running" in Optuna's storage
    sweep = sweeps.load_sweep(home, "resumed")
    sweep.trials = 3
    stop = threading.Event()

    def stop_after_first_epoch(event) -> None:
        if type(event).__name__ == "EpochEvaluated":
            stop.set()

    study = sweeps.open_study(home, sweep)
    trial = study.ask()
    params = {s.name: s.suggest(trial) for s in sweep.searches}
    from engine import launch

    prepared = launch.prepare(home, sweep.config(params))
    run_dir, _, _ = launch.start(home, prepared, detach=False, listeners=[stop_after_first_epoch],
                                 cancel=stop, on_created=lambda d: trial.set_user_attr("run", d.name))  # fmt: skip
    assert runs.summarize(run_dir).status == "stopped"
    capsys.readouterr()
    assert main(["--home", str(home), "sweep", "resumed", "--trials", "6"]) == 0
    out = capsys.readouterr().out
    assert f"its run {run_dir.name} resumes" in out
    report = shown(home, "resumed", capsys)
    assert [t["state"] for t in report["trials"]] == ["done"] * 6
    ran = [t["run"] for t in report["trials"]]
    assert len(set(ran)) == 6 and run_dir.name in ran  # the stopped run went on, none twice
    assert len(runs.list_runs(home)) == 6
    epochs = [e for e in runs.read_events(run_dir) if type(e).__name__ == "EpochEvaluated"]
    assert [e.epoch for e in epochs] == [1, 2]  # resumed at its second epoch, not again


BAD = [
    (["--search", "nosuch=1..2"], "'nosuch' is not a setting to search"),
    (["--search", "lr=.."], "the range is empty"),
    (["--search", "lr=0.1.."], "the range is empty"),
    (["--search", "lr=0.5..0.1"], "is not below"),
    (["--search", "weight_decay=0..0.1:log"], "a log range must stay above 0"),
    (["--search", "lr=0..0.1"], "lr"),
    (["--search", "optimiser=sgd,rmsprop"], "rmsprop"),
    (["--search", "batch_size=64,0"], "batch_size"),
    (["--search", "lr=1e-3..1e-1:ln"], "only 'log'"),
    (["--search", "model=a..b"], "not a number"),
    (["--search", "lr=0.1"], "one value is not a search"),
    (["--search", "lr=0.1,0.1"], "given twice"),
    (["--search", "seed=0..3"], "not a setting to search"),
    (["--search", "lr"], "SETTING=LOW..HIGH"),
    (["--search", "lr=0.01..0.1", "--search", "lr=0.1,0.2"], "given twice"),
    (["--search", "lr=0.01..0.1", "--lr", "0.1"], "both set lr"),
    ([], "start one with --search"),
    (["--search", "label_smoothing=0..0.2", "--prune"], "search it without --prune"),
    (["--search", "lr=0.01..0.1", "--executor", "spark"], "--executor 'spark'"),
    (["--search", "lr=0.01..0.1", "--executor", "ray:"], "an address after the colon"),
    (["--search", "lr=0.01..0.1", "--executor", "ray:nowhere"], "give HOST:PORT"),
    (["--search", "lr=0.01..0.1", "--executor", "ray:127.0.0.1:1"], "nothing answers there"),
    (["--search", "lr=0.01..0.1", "--cpus-per-run", "2"], "--cpus-per-run is for Ray"),
]


@pytest.mark.parametrize(("argv", "names"), BAD, ids=[" ".join(a) or "no search" for a, _ in BAD])
def test_a_bad_search_is_one_line_and_starts_nothing(argv, names, tmp_path, tiny_folder, capsys):
    needs("optuna")
    home = tmp_path / "home"
    assert sweep_cli(home, tiny_folder, "bad", *argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and names in err[0], err
    assert not (home / "sweeps").exists() and not runs.runs_folder(home).exists()


def test_the_best_settings_are_confirmed_over_seeds_against_the_recipe(swept, capsys):
    capsys.readouterr()
    assert main(["--home", str(swept), "sweep", "show", "lrs", "--confirm", "0-1", "--json"]) == 0
    confirmed = json.loads(capsys.readouterr().out)["confirmed"]
    assert confirmed["seeds"] == [0, 1]
    for figure in ("best val accuracy", "test accuracy"):
        values = confirmed["figures"][figure]
        assert values["recipe"]["n"] == values["best"]["n"] == 2
        assert values["difference"]["mean"] == pytest.approx(
            values["best"]["mean"] - values["recipe"]["mean"])  # fmt: skip
    assert main(["--home", str(swept), "studies", "--json"]) == 0
    names = {s["name"] for s in json.loads(capsys.readouterr().out)}
    assert {"lrs-best", "lrs-recipe"} <= names


def test_the_same_sweep_command_again_goes_on_and_other_settings_are_refused(
    tmp_path, tiny_folder, capsys
):
    needs("optuna")
    home = tmp_path / "home"
    argv = ("again", "--search", "lr=0.02..0.2:log", "--trials", "1")
    assert sweep_cli(home, tiny_folder, *argv) == 0
    assert sweep_cli(home, tiny_folder, *argv[:-1], "2") == 0  # the same, one more trial
    assert len(runs.list_runs(home)) == 2
    assert sweep_cli(home, tiny_folder, "again", "--search", "lr=0.01..0.2:log") == 2
    assert "exists" in capsys.readouterr().err


def test_the_report_has_a_section_for_each_sweep(swept, monkeypatch, capsys):
    import engine.report.build as build
    from engine.report import build_report, write_report
    from engine.report.sections import basics, sweeps

    # the confirmation (made once: already there when the test above ran)
    assert main(["--home", str(swept), "sweep", "show", "lrs", "--confirm", "0-1", "--json"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(build, "SECTIONS", (("data", basics.data), ("sweeps", sweeps.sweeps)))
    run = runs.list_runs(swept)[0].name
    report = build_report(swept, [run])
    (section,) = [s for s in report.sections if s.key == "sweep-lrs"]
    text = write_report(report, swept / "r.md", "md").read_text()
    assert "Sweep lrs" in text and "6 of 6 trials" in text and "pruned" in text
    assert "lrs-best and lrs-recipe" in text and "paired t-test" in text


def test_the_app_lists_a_sweeps_trials_and_opens_a_trials_run(swept, tiny_folder):
    import asyncio

    from textual.widgets import DataTable, Static

    from tests.app_setup import text_of, tiny_app, wait_for

    async def scenario():
        app = tiny_app(swept, tiny_folder)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("w")
            table = app.screen.query_one("#sweep-trials", DataTable)
            assert await wait_for(pilot, lambda: table.row_count == 6)
            best = app.screen.query_one("#sweep-best", Static)
            assert await wait_for(pilot, lambda: text_of(best).startswith("best: trial"))
            assert "6 of 6 trials" in text_of(app.screen.query_one("#sweep-title", Static))
            table.focus()
            await pilot.press("enter")
            assert await wait_for(pilot, lambda: type(app.screen).__name__ == "TrainScreen")
        return True

    assert asyncio.run(scenario())
