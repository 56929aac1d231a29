"""A run folder copied from elsewhere never runs its code unasked: a run trained with
``--model FILE.py:Class`` builds its network from its copy of the file, which a colleague's
archive could have changed (and its recorded SHA-256 with it). Each place that could run
it — every analysis, the report, a resume, the app — refuses until the user trusts the
file; a marker file written by the tampered code shows whether it ran."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from engine import runs
from engine.models.files import TRUST_FILE, sha256
from tests.app_setup import text_of, tiny_app, wait_for
from tests.test_model_files import SOURCE
from tui.cli.main import main


@pytest.fixture(scope="module")
def trained_here(tmp_path_factory, tiny_folder):
    """A home where a model file was trained (so trusted), and its run."""
    folder = tmp_path_factory.mktemp("trusted")
    model_file = folder / "mynet.py"
    model_file.write_text(SOURCE)
    home = folder / "home"
    code = main(["--home", str(home), "train", "--data", str(tiny_folder), "--epochs", "2",
                 "--batch-size", "20", "--lr", "0.05", "--device", "cpu",
                 "--model", f"{model_file}:Net", "--model-args", '{"width": 3}'])  # fmt: skip
    assert code == 0
    return home, runs.find_run(home, "latest")


@pytest.fixture()
def copied(trained_here, tmp_path):
    """Another home holding a copy of the run whose model.py writes a marker when it runs
    (model.json's SHA-256 changed to match, as a careful attacker would)."""
    _, source = trained_here
    home = tmp_path / "colleague"
    run_dir = runs.runs_folder(home) / source.name
    shutil.copytree(source, run_dir)
    marker = tmp_path / "MARKER"
    copy = run_dir / "model.py"
    copy.write_text(f"open({str(marker)!r}, 'a').write('ran')\n" + SOURCE)
    record = json.loads((run_dir / "model.json").read_text())
    record["sha256"] = sha256(copy)
    (run_dir / "model.json").write_text(json.dumps(record))
    return home, run_dir, marker


def cli(home: Path, *argv: str) -> int:
    return main(["--home", str(home), *argv])


def test_a_model_file_named_here_is_trusted_by_the_hash_of_the_runs_copy(trained_here):
    home, run_dir = trained_here
    trusted = json.loads((home / TRUST_FILE).read_text())
    assert sha256(run_dir / "model.py") in trusted
    assert cli(home, "summary", run_dir.name, "--json") == 0  # runs without asking


# every command that would build the network from the copied file
REFUSING = [
    ("summary", "{run}"),
    ("predict", "{run}", "--index", "0"),
    ("filters", "{run}", "--layer", "features.0"),
    ("activations", "{run}", "--layer", "features.0"),
    ("occlude", "{run}"),
    ("attribute", "{run}", "--method", "saliency"),
    ("robustness", "{run}", "--attack", "fgsm", "--eps", "0.1", "--limit", "10"),
    ("histograms", "{run}"),
    ("histograms", "{run}", "--epoch", "1"),
    ("attack", "fgsm", "{run}", "--eps", "0.1"),
    ("attack", "synthesize", "{run}", "--steps", "2"),
    ("report", "{run}", "-o", "{out}"),
    ("train", "--resume", "{run}"),
]


@pytest.mark.parametrize("argv", REFUSING, ids=lambda a: " ".join(a[:2]))
def test_a_tampered_copy_runs_nowhere_until_trusted(copied, argv, capsys, tmp_path):
    home, run_dir, marker = copied
    if argv[0] == "train":  # a resumable run: as if stopped after its last epoch
        from tests.test_bad_inputs import make_stopped

        make_stopped(run_dir)
    filled = [a.format(run=run_dir.name, out=tmp_path / "r.html") for a in argv]
    assert cli(home, *filled) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not written on this machine" in err[0], err
    assert f"mnist-tui trust {run_dir.name}" in err[0]
    assert not marker.exists()  # nothing of it ran
    assert not (tmp_path / "r.html").exists()


def test_trusting_it_once_or_for_good_lets_it_run(copied, capsys):
    home, run_dir, marker = copied
    assert cli(home, "--trust-code", "summary", run_dir.name) == 0
    assert marker.read_text() == "ran"
    marker.unlink()
    assert cli(home, "summary", run_dir.name) == 2  # once means once
    assert not marker.exists()
    assert cli(home, "summary", run_dir.name, "--trust-code") == 0  # after the command too
    marker.unlink()
    capsys.readouterr()
    assert cli(home, "trust", run_dir.name) == 0
    said = capsys.readouterr().out
    assert "trusted" in said and "model.py" in said
    assert cli(home, "predict", run_dir.name, "--index", "0") == 0
    assert marker.exists()
    marker.unlink()
    with (run_dir / "model.py").open("a") as handle:  # edited after it was trusted
        handle.write("# changed\n")
    assert cli(home, "summary", run_dir.name) == 2
    assert not marker.exists()


def test_listing_and_the_default_report_never_run_it(copied, capsys):
    home, run_dir, marker = copied
    assert cli(home, "runs") == 0 and run_dir.name in capsys.readouterr().out
    assert cli(home, "runs", "--json") == 0
    assert cli(home, "report") == 2  # the only finished run is untrusted: said, not run
    err = capsys.readouterr().err
    assert "not trusted" in err and f"mnist-tui trust {run_dir.name}" in err
    assert not marker.exists()


def test_a_zoo_run_needs_no_trust(trained_home, capsys):
    run = runs.find_run(trained_home, "latest").name
    assert cli(trained_home, "trust", run) == 0
    assert "runs no code of its own" in capsys.readouterr().out


def test_the_app_asks_before_running_a_copied_runs_code(copied, tiny_folder):
    from textual.widgets import Static

    from tui.screens.ask import TrustCode

    home, run_dir, marker = copied

    async def scenario():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.5)  # the home screen lists runs without running any code
            assert not marker.exists()
            await pilot.press("7")  # occlusion: it needs the network
            assert await wait_for(pilot, lambda: isinstance(app.screen, TrustCode))
            shown = " ".join(text_of(s) for s in app.screen.query(Static))
            assert "not written on this machine" in shown and "model.py" in shown
            assert "open(" in shown  # its first lines, the marker's among them
            assert not marker.exists()
            await pilot.press("n")
            status = app.screen.query_one(".status", Static)
            assert await wait_for(pilot, lambda: "was not run" in text_of(status))
            assert not marker.exists()
            await pilot.press("escape", "7")
            assert await wait_for(pilot, lambda: isinstance(app.screen, TrustCode))
            await pilot.press("y")  # trusted: the screen runs it and draws
            assert await wait_for(pilot, marker.exists)
            title = app.screen.query_one("#occ-title", Static)
            assert await wait_for(pilot, lambda: "patch" in text_of(title).lower(), 60)
        return True

    assert asyncio.run(scenario())
    assert cli(home, "summary", run_dir.name) == 0  # remembered in the home


def test_a_study_holding_the_copied_run_does_not_run_its_code(copied):
    """A study that would resume the copied run (its last.pt) is refused there too."""
    from engine.errors import UserFacing
    from engine.studies import Study, entry_key, run_study, study_dir
    from tests.test_bad_inputs import make_stopped

    home, run_dir, marker = copied
    make_stopped(run_dir)
    base = {k: v for k, v in runs.read_config(run_dir).to_dict().items() if k != "seed"}
    study = Study("copied", {}, [0], base, {entry_key({}, 0): run_dir.name})
    study_dir(home, "copied").mkdir(parents=True)
    (study_dir(home, "copied") / "study.json").write_text(json.dumps(study.to_dict()))
    said = []
    try:
        run_study(home, study, say=said.append)
    except UserFacing as error:
        said.append(str(error))
    assert not marker.exists()
    assert any("not written on this machine" in line for line in said), said
