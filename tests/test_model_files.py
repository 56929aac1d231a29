"""A network of the user's own: a model file written here (three 5x5 convolutions without
pooling, dropout, its own layer names) trains on the tiny set and goes through the analyses,
the report and the app; its run keeps a copy of the source and says when the file changed;
a file that cannot be used is one line with exit code 2 and nothing written."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from engine import runs
from tests.app_setup import text_of, tiny_app, wait_for
from tui.cli.main import main

SOURCE = """
from torch import nn


class Net(nn.Module):
    def __init__(self, width: int = 4):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 5), nn.ReLU(),
            nn.Conv2d(width, width, 5), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 5), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(2 * width * 16 * 16, 10))

    def forward(self, x):
        return self.head(self.features(x))
"""


@pytest.fixture(scope="module")
def user_run(tmp_path_factory, tiny_folder):
    folder = tmp_path_factory.mktemp("user")
    model_file = folder / "mynet.py"
    model_file.write_text(SOURCE)
    home = folder / "home"
    code = main(["--home", str(home), "train", "--data", str(tiny_folder), "--epochs", "1",
                 "--batch-size", "20", "--lr", "0.05", "--device", "cpu",
                 "--model", f"{model_file}:Net", "--model-args", '{"width": 3}'])  # fmt: skip
    assert code == 0
    return home, model_file, runs.find_run(home, "latest")


def run_cli(home: Path, *args: str) -> int:
    return main(["--home", str(home), *args])


def test_the_run_keeps_its_source_and_names_the_class(user_run):
    home, model_file, run_dir = user_run
    assert "-net-" in run_dir.name
    assert (run_dir / "model.py").read_text() == SOURCE
    kept = json.loads((run_dir / "model.json").read_text())
    assert kept["class"] == "Net" and kept["args"] == {"width": 3}
    assert runs.summarize(run_dir).model == "net"


def test_every_analysis_works_on_the_users_network(user_run, capsys):
    home, _, run_dir = user_run
    run = run_dir.name
    assert run_cli(home, "summary", run, "--json") == 0
    table = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in table["rows"] if r["kind"] == "Conv2d"] == [
        "features.0", "features.2", "features.4"]  # fmt: skip
    assert run_cli(home, "filters", run, "--layer", "features.2", "--filter", "1", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)["weights"]) == 3  # 3 input depths
    assert run_cli(home, "activations", run, "--layer", "features.4", "--json") == 0
    maps = json.loads(capsys.readouterr().out)["maps"]
    assert (len(maps), len(maps[0])) == (6, 16)
    assert run_cli(home, "occlude", run, "--json") == 0
    capsys.readouterr()
    assert run_cli(home, "attribute", run, "--method", "all", "--json") == 0
    methods = [m["method"] for m in json.loads(capsys.readouterr().out)["methods"]]
    assert "gradcam" in methods  # on the last convolution, features.4
    assert run_cli(home, "robustness", run, "--attack", "pgd", "--eps", "0,0.1", "--steps", "3",
                   "--limit", "20", "--json") == 0  # fmt: skip
    capsys.readouterr()
    assert run_cli(home, "attribute", run, "--method", "gradcam", "--layer", "features.2",
                   "--json") == 0  # fmt: skip
    gradcam = json.loads(capsys.readouterr().out)["methods"][0]
    assert gradcam["settings"]["layer"] == "features.2"
    assert run_cli(home, "filters", run, "--layer", "head.2") == 2
    assert "no convolution named 'head.2' (it has: features.0, features.2, features.4)" in (
        capsys.readouterr().err)  # fmt: skip


def test_an_edited_model_file_is_reported_and_the_runs_copy_used(user_run, capsys):
    home, model_file, run_dir = user_run
    model_file.write_text(SOURCE.replace("nn.Dropout(0.2)", "nn.Dropout(0.5)"))
    try:
        assert run_cli(home, "predict", run_dir.name, "--random", "2") == 0
        assert "has changed since the run was trained; the run uses its own copy" in (
            capsys.readouterr().err)  # fmt: skip
    finally:
        model_file.write_text(SOURCE)


def test_the_app_shows_the_users_network(user_run, tiny_folder):
    from textual.widgets import Select, Static

    from engine.config import MODEL_NAMES

    home, model_file, run_dir = user_run

    async def scenario():
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("6")
            title = app.screen.query_one("#filters-title", Static)
            assert await wait_for(pilot, lambda: "features.0: 3 filters (5x5)" in text_of(title))
            await pilot.press("v", "v", "v")  # the filters of each layer, then the maps
            assert await wait_for(pilot, lambda: "features.0 maps" in text_of(title))
            await pilot.press("escape", "4")  # the architecture screen opens on the run's own
            arch = app.screen.query_one("#arch-title", Static)
            assert await wait_for(pilot, lambda: text_of(arch).startswith("net:"))
            await pilot.press("escape", "1")  # the form offers the file used before
            await pilot.pause(0.3)
            options = [value for _, value in app.screen.query_one("#model", Select)._options]
            assert (
                options[: len(MODEL_NAMES)] == list(MODEL_NAMES) and f"{model_file}:Net" in options
            )

    asyncio.run(scenario())


def test_the_report_covers_the_users_network(user_run, tmp_path):
    home, _, run_dir = user_run
    out = tmp_path / "report.md"
    assert run_cli(home, "report", run_dir.name, "-o", str(out)) == 0
    text = out.read_text()
    assert "features.0" in text and "your network" in text


@pytest.mark.parametrize(
    "source, message",
    [
        ("x = 1\n", "defines no Net"),
        ("raise RuntimeError('boom')\n", "importing it raised RuntimeError: boom"),
        ("from torch import nn\nclass Net(nn.Module):\n    def __init__(self):\n"
         "        super().__init__(); self.fc = nn.Linear(784, 3)\n"
         "    def forward(self, x):\n        return self.fc(x.flatten(1)).sum(1)\n",
         "returns (2,) for 2 images"),
    ],
)  # fmt: skip
def test_a_file_that_cannot_be_used_is_one_line(tmp_path, tiny_folder, capsys, source, message):
    model_file = tmp_path / "broken.py"
    model_file.write_text(source)
    home = tmp_path / "home"
    code = run_cli(home, "train", "--data", str(tiny_folder), "--epochs", "1", "--device", "cpu",
                   "--model", f"{model_file}:Net")  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())


def test_weights_trained_elsewhere_become_a_run_with_the_same_logits(
    trained_home, tmp_path, capsys
):
    import shutil

    import torch

    from engine.pixels import PixelModel, to_pixels
    from engine.subject import load_subject

    home = tmp_path / "home"  # a copy: the shared home's "latest" must stay what it is
    shutil.copytree(trained_home, home)
    original = runs.find_run(home, "latest")
    model = runs.load_run_model(original)
    saved = tmp_path / "weights.pt"
    torch.save({"state_dict": model.state_dict()}, saved)  # as a notebook might
    assert run_cli(home, "import", str(saved), "--model", "convnet", "--data",
                   str(Path(runs.read_config(original).data))) == 0  # fmt: skip
    assert "imported" in capsys.readouterr().out
    run_dir = runs.find_run(home, "latest")
    summary = runs.summarize(run_dir)
    assert summary.status == "imported" and run_dir != original
    assert summary.test_accuracy == runs.summarize(original).test_accuracy
    subject = load_subject(home, run_dir)
    images = to_pixels(subject.test.images[:16])
    with torch.no_grad():
        assert torch.equal(PixelModel(subject.model)(images), PixelModel(model)(images))
    assert run_cli(home, "train", "--resume", run_dir.name) == 2
    assert "was imported" in capsys.readouterr().err
    wrong = tmp_path / "wrong.pt"
    torch.save({"fc9.weight": torch.zeros(3)}, wrong)
    assert run_cli(home, "import", str(wrong), "--model", "convnet") == 2
    assert "not convnet's weights (missing" in capsys.readouterr().err
