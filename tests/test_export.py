"""The model out: `export RUN --onnx FILE` writes a network that takes raw pixels and gives
the run's logits in onnxruntime (its normalisation inside, any batch size, its metadata said);
`--safetensors FILE` writes the weights that `import` reads back to the same logits; the
README's six lines predict a PNG with onnxruntime alone; every bad request is one line, exit
2, nothing written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine import runs
from engine.data import load_dataset
from engine.export.onnx_model import torch_logits
from engine.export.onnx_run import onnx_logits, onnx_session
from engine.locations import data_cache
from engine.pixels import to_pixels
from tui.cli.main import main

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
pytest.importorskip("safetensors")

ROOT = Path(__file__).resolve().parents[1]
MODEL_FILE = """
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                                  nn.Flatten(), nn.Linear(4 * 14 * 14, 10))

    def forward(self, x):
        return self.body(x)
"""
UNEXPORTABLE = """
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))

    def forward(self, x):
        logits = self.head(x)
        if float(logits.detach().sum()) > 1e9:  # a branch on the data: no graph holds it
            return -logits
        return logits
"""


def train(home: Path, data: Path, *settings: str) -> Path:
    assert main(["--home", str(home), "train", "--data", str(data), "--epochs", "1",
                 "--batch-size", "20", "--lr", "0.05", "--device", "cpu", "--json",
                 *settings]) == 0  # fmt: skip
    return runs.find_run(home, "latest")


@pytest.fixture(scope="module")
def exported_home(tmp_path_factory, tiny_folder):
    """A home with a run of convnet, convnet-bn, fastnet and a model file, each exported."""
    folder = tmp_path_factory.mktemp("export")
    (folder / "mine.py").write_text(MODEL_FILE)
    home = folder / "home"
    made = {}
    for model in ("convnet", "convnet-bn", "fastnet", f"{folder / 'mine.py'}:Net"):
        run_dir = train(home, tiny_folder, "--model", model)
        onnx, weights = folder / f"{run_dir.name}.onnx", folder / f"{run_dir.name}.safetensors"
        assert main(["--home", str(home), "export", run_dir.name, "--onnx", str(onnx),
                     "--safetensors", str(weights)]) == 0  # fmt: skip
        made[model.split(":")[0].rsplit("/", 1)[-1]] = (run_dir, onnx, weights)
    return home, tiny_folder, made


def test_onnx_gives_the_runs_logits_and_accuracy_on_raw_pixels(exported_home):
    home, data, made = exported_home
    dataset = load_dataset(data_cache(home), folder=data)
    pixels = to_pixels(dataset.test_images)
    for name, (run_dir, onnx, _) in made.items():
        theirs = onnx_logits(onnx_session(onnx), pixels.numpy(), batch=37)  # a batch of any size
        ours = torch_logits(runs.load_run_model(run_dir), pixels).numpy()
        assert np.abs(theirs - ours).max() < 1e-4, name
        accuracy = float((theirs.argmax(1) == dataset.test_labels.numpy()).mean())
        assert accuracy == pytest.approx(runs.summarize(run_dir).test_accuracy, abs=1e-9), name


def test_the_onnx_file_says_what_it_takes(exported_home):
    import onnx

    _, _, made = exported_home
    run_dir, path, _ = made["fastnet"]
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["run_id"] == run_dir.name and props["model"] == "fastnet"
    assert json.loads(props["classes"]) == [str(d) for d in range(10)]
    assert float(props["test_accuracy"]) == pytest.approx(runs.summarize(run_dir).test_accuracy)
    assert "centre of mass" in props["preprocessing"]
    (given,) = model.graph.input
    dims = [d.dim_param or d.dim_value for d in given.type.tensor_type.shape.dim]
    assert given.name == "pixels" and dims[1:] == [1, 28, 28] and isinstance(dims[0], str)
    assert [o.name for o in model.graph.output] == ["logits"]


def test_safetensors_import_gives_identical_logits(exported_home, tmp_path):
    home, data, made = exported_home
    dataset = load_dataset(data_cache(home), folder=data)
    pixels = to_pixels(dataset.test_images)
    for name in ("convnet-bn", "fastnet"):  # the network and its settings come from the file
        run_dir, _, weights = made[name]
        assert main(["--home", str(home), "import", str(weights), "--data", str(data)]) == 0
        imported = runs.find_run(home, "latest")
        assert imported != run_dir and runs.read_config(imported).model == name
        assert torch.equal(torch_logits(runs.load_run_model(imported), pixels),
                           torch_logits(runs.load_run_model(run_dir), pixels))  # fmt: skip


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n( *import numpy.*?onnxruntime.*?)```", text, re.S)
    assert block, "the README shows how to use the ONNX file"
    return textwrap.dedent(block.group(1))


def test_the_readmes_six_lines_predict_a_png_without_mnist_tui(exported_home, tmp_path):
    home, data, made = exported_home
    code = readme_example()
    assert len([line for line in code.splitlines() if line.strip()]) <= 6
    dataset = load_dataset(data_cache(home), folder=data)
    Image.fromarray(dataset.test_images[0].numpy()).save(tmp_path / "digit.png")
    run_dir, onnx, _ = made["convnet"]
    (tmp_path / "digits.onnx").write_bytes(onnx.read_bytes())
    # a fresh interpreter in the picture's folder, with mnist-tui's folders off its path
    done = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = torch_logits(runs.load_run_model(run_dir), to_pixels(dataset.test_images[:1]))
    assert done.stdout.strip() == str(int(expected.argmax()))


PREDICT_AGAIN = """
import json, sys
from tui.cli.main import main
code = main(["--home", sys.argv[1], "predict", sys.argv[2], "--image", sys.argv[3], "--json"])
print(json.dumps({"code": code, "torch": "torch" in sys.modules}))
"""


def test_own_pictures_are_predicted_again_without_torch(exported_home, tmp_path, capsys):
    """The first prediction of a run's own pictures keeps an ONNX copy of its weights; the
    next ones, in a fresh interpreter, answer the same without importing torch, until the
    checkpoint changes."""
    home, data, made = exported_home
    run_dir = made["fastnet"][0]
    dataset = load_dataset(data_cache(home), folder=data)
    picture = tmp_path / "digit.png"
    Image.fromarray(255 - dataset.test_images[3].numpy()).resize((90, 90)).save(picture)
    argv = ["--home", str(home), "predict", run_dir.name, "--image", str(picture), "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    (first,) = json.loads(captured.out)
    assert "kept an ONNX copy" in captured.err and (run_dir / "onnx" / "best.onnx").is_file()

    def again() -> tuple[dict, list]:
        done = subprocess.run([sys.executable, "-I", "-c", PREDICT_AGAIN, str(home), run_dir.name,
                               str(picture)], capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        lines = done.stdout.strip().splitlines()
        return json.loads(lines[-1]), json.loads("\n".join(lines[:-1]))

    said, (second,) = again()
    assert said == {"code": 0, "torch": False}
    assert second["prediction"] == first["prediction"]
    assert np.abs(np.subtract(second["probabilities"], first["probabilities"])).max() < 1e-4
    best = run_dir / "best.pt"
    best.write_bytes(best.read_bytes() + b"")  # the same weights written again: a new version
    said, (third,) = again()
    assert said["torch"] and third["prediction"] == first["prediction"]


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((), "say what to write: --onnx FILE"),
        (("--onnx", "{dir}"), "is a folder; give the ONNX file's name"),
        (("--onnx", "{dir}/none/x.onnx"), "no such folder for the ONNX file"),
        (("--onnx", "{dir}/a", "--safetensors", "{dir}/a"), "name the same file"),
        (("--onnx", "{dir}/a.onnx", "--epoch", "9"), "epoch:9"),
        (("--tensorboard", "{dir}/tb", "--epoch", "1"), "--tensorboard writes the whole run"),
    ],
)
def test_bad_exports_are_one_line_and_write_nothing(trained_home, tmp_path, capsys, args, said):
    before = sorted(tmp_path.iterdir())
    argv = [a.format(dir=tmp_path) for a in args]
    assert main(["--home", str(trained_home), "export", "latest", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert said in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert sorted(tmp_path.iterdir()) == before


def test_a_network_that_does_not_export_says_why(tmp_path, tiny_folder, capsys):
    (tmp_path / "odd.py").write_text(UNEXPORTABLE)
    home = tmp_path / "home"
    train(home, tiny_folder, "--model", f"{tmp_path / 'odd.py'}:Net")
    capsys.readouterr()
    target = tmp_path / "out"
    target.mkdir()
    assert main(["--home", str(home), "export", "latest", "--onnx", str(target / "a.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert "does not export to ONNX:" in err and len(err.splitlines()) == 1
    assert list(target.iterdir()) == []  # not even a temporary file


def test_a_missing_package_is_named_before_anything_is_written(trained_home, tmp_path, capsys,
                                                               monkeypatch):  # fmt: skip
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    assert main(["--home", str(trained_home), "export", "latest", "--onnx",
                 str(tmp_path / "a.onnx")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "needs the onnxruntime package: pip install 'mnist-tui[export]'" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"not tensors at all", b"\xff" * 64])
def test_a_damaged_safetensors_file_is_one_line(trained_home, tmp_path, capsys, content):
    bad = tmp_path / "w.safetensors"
    bad.write_bytes(content)
    count = len(list((trained_home / "runs").iterdir()))
    assert main(["--home", str(trained_home), "import", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a safetensors file" in err and len(err.splitlines()) == 1
    assert len(list((trained_home / "runs").iterdir())) == count
