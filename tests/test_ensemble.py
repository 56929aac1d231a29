"""Ensembles: several runs' probabilities averaged are at least as right as the worst of them;
fewer than two runs, or runs on different data, are one line each."""

from __future__ import annotations

import json

import pytest

from tui.cli.main import main


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory, tiny_folder):
    home = tmp_path_factory.mktemp("ensemble") / "home"
    for seed in (0, 1, 2):
        assert main(["--home", str(home), "train", "--data", str(tiny_folder), "--epochs", "2",
                     "--batch-size", "20", "--lr", "0.05", "--device", "cpu", "--seed",
                     str(seed), "--model", "mlp", "--json"]) == 0  # fmt: skip
    from engine import runs

    return home, [r.name for r in runs.list_runs(home)]


def test_an_ensemble_is_at_least_as_right_as_its_worst_member(three_runs, capsys):
    home, ids = three_runs
    capsys.readouterr()
    assert main(["--home", str(home), "ensemble", *ids, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    members = result["members"]
    assert [m["name"] for m in members] == ids
    assert result["ensemble"]["accuracy"] >= min(m["accuracy"] for m in members)
    mean = result["mean_of_members"]
    assert mean["accuracy"] == pytest.approx(sum(m["accuracy"] for m in members) / 3)
    assert set(result["ensemble"]["rotated_accuracy"]) == {"45", "90"}
    corrupted = [m["corruption_accuracy"] for m in members]  # MNIST-C's mean, each and all
    assert all(0 <= c <= 1 for c in corrupted)
    assert mean["corruption_accuracy"] == pytest.approx(sum(corrupted) / 3)
    assert 0 <= result["ensemble"]["corruption_accuracy"] <= 1
    assert main(["--home", str(home), "ensemble", *ids, "--corrupted-images", "0"]) == 0
    out = capsys.readouterr().out
    assert "mean of the members" in out and "MNIST-C" not in out


@pytest.mark.parametrize(
    ("args", "said"),
    [(("ONE",), "at least two different runs"), (("ONE", "ONE"), "at least two different runs")],
)
def test_too_few_runs_is_one_line(three_runs, capsys, args, said):
    home, ids = three_runs
    capsys.readouterr()
    assert main(["--home", str(home), "ensemble", *(ids[0] for _ in args)]) == 2
    err = capsys.readouterr().err.strip()
    assert said in err and len(err.splitlines()) == 1
