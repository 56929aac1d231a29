"""The bad-input corpus, third round: the surfaces added since the first corpus — model
files, ``import``, snapshots and moments, histograms, recipes on tiny subsets, run names.
Each case ends with exit code 2 and one line naming the culprit, no traceback, and nothing
changed under the home, the data or the folder of the user's files (nor a marker file
written by code that should not have run)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from engine import runs
from tests.test_bad_inputs import Case, assert_named_in_one_line, copied_run  # noqa: F401  (copied_run: a fixture)
from tui.cli.main import main

NET = """
from torch import nn


class Net(nn.Module):
    def __init__(self, width: int = 2):
        super().__init__()
        self.conv = nn.Conv2d(1, width, 5)
        self.fc = nn.Linear(width * 24 * 24, 10)

    def forward(self, x):
        return self.fc(self.conv(x).relu().flatten(1))
"""

# files written into the user's folder ({files}) before each case: name -> source
MODEL_FILES = {
    "raises.py": "raise ValueError('broken on purpose')\n" + NET,
    "exits.py": "import sys\nsys.exit(3)\n",
    "syntax.py": "class Net(:\n",
    "noclass.py": "x = 1\n",
    "notmodule.py": "class Net:\n    pass\n",
    "function.py": "def Net():\n    return None\n",
    "ctor.py": NET.replace("super().__init__()", "super().__init__(); raise RuntimeError('ctor')"),
    "flat.py": NET.replace("return self.fc(", "return self.fc(").replace(
        "self.conv(x).relu().flatten(1))", "self.conv(x).relu().flatten(1)).sum(1)"),
    "tuple.py": NET.replace("return self.fc(self.conv(x).relu().flatten(1))",
                            "return (self.fc(self.conv(x).relu().flatten(1)),)"),
    "three_d.py": NET.replace("return self.fc(self.conv(x).relu().flatten(1))",
                              "return self.fc(self.conv(x).relu().flatten(1))[:, None]"),
    "onerow.py": NET.replace("return self.fc(self.conv(x).relu().flatten(1))",
                             "return self.fc(self.conv(x).relu().flatten(1))[:1]"),
    "noparams.py": "from torch import nn\n\nclass Net(nn.Module):\n"
                   "    def forward(self, x):\n        return x.flatten(1)[:, :10]\n",
    "size32.py": NET.replace("width * 24 * 24", "width * 28 * 28"),
    "my net.py": NET,
    "réseau.py": NET,
    "latin1.py": None,  # written as bytes below: not UTF-8
    "marker.py": None,  # writes MARKER when imported
}  # fmt: skip


def write_model_files(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in MODEL_FILES.items():
        if source is not None:
            (folder / name).write_text(source, encoding="utf-8")
    (folder / "latin1.py").write_bytes("# caf\xe9\nx = 'é'\n".encode("latin-1") + NET.encode())
    (folder / "marker.py").write_text(f"open({str(folder / 'MARKER')!r}, 'w')\n" + NET)
    (folder / "adir.py").mkdir()
    (folder / "dangling.py").symlink_to(folder / "nowhere.py")
    # weights files for import
    net = {"conv.weight": torch.zeros(2, 1, 5, 5), "conv.bias": torch.zeros(2),
           "fc.weight": torch.zeros(10, 2 * 24 * 24), "fc.bias": torch.zeros(10)}  # fmt: skip
    (folder / "text.pt").write_text("hello\n")
    (folder / "empty.pt").write_bytes(b"")
    (folder / "zipjunk.pt").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    torch.save([1, 2, 3], folder / "list.pt")
    torch.save({"a": [1, 2]}, folder / "dict_of_lists.pt")
    torch.save({"x": torch.zeros(3)}, folder / "wrong_keys.pt")
    torch.save({**net, "fc.weight": torch.zeros(10, 7)}, folder / "wrong_shape.pt")
    torch.save({**net, "extra": torch.zeros(1)}, folder / "extra_key.pt")
    torch.save({**net, "fc.bias": torch.full((10,), float("nan"))}, folder / "nan.pt")
    torch.save({"state_dict": {**net, "conv.bias": torch.zeros(5)}}, folder / "wrapped_bad.pt")
    torch.save({"huge": torch.zeros(1000, 1000)}, folder / "huge.pt")  # 4 MB of nothing useful
    torch.save(net, folder / "net_weights.pt")  # fine for model files' Net, not for convnet

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {folder / 'MARKER'}",))

    (folder / "evil.pt").write_bytes(pickle.dumps(Evil()))
    (folder / "weights_dir").mkdir()
    (folder / "dir_link.pt").symlink_to(folder / "weights_dir")
    (folder / "dangling.pt").symlink_to(folder / "gone.pt")


def model_file_cases() -> list[Case]:
    train = ("train", "--data", "{data}", "--epochs", "1", "--batch-size", "20", "--device", "cpu")
    cases = [
        ("raises.py:Net", "ValueError: broken on purpose"),
        ("exits.py:Net", "SystemExit"),
        ("syntax.py:Net", "SyntaxError"),
        ("noclass.py:Net", "defines no Net"),
        ("notmodule.py:Net", "not a torch.nn.Module class"),
        ("function.py:Net", "not a torch.nn.Module class"),
        ("ctor.py:Net", "RuntimeError: ctor"),
        ("flat.py:Net", "returns (2,)"),
        ("tuple.py:Net", "returns tuple"),
        ("three_d.py:Net", "returns (2, 1, 10)"),
        ("onerow.py:Net", "returns (1, 10)"),
        ("noparams.py:Net", "has no parameters"),
        ("size32.py:Net", "cannot take (n, 1, 28, 28) images"),
        ("my net.py:Missing", "my net.py: defines no Missing"),
        ("réseau.py:Missing", "réseau.py: defines no Missing"),
        ("latin1.py:Net", "latin1.py"),
        ("adir.py:Net", "adir.py"),
        ("dangling.py:Net", "nowhere.py: no such file"),
        ("nothere.py:Net", "nothere.py: no such file"),
        ("raises.py", "--model"),
        ("raises.py:1Net", "--model"),
        ("no_such_module_here:Net", "no_such_module_here"),
    ]
    made = [Case(f"model file {spec}", (*train, "--model", f"{{files}}/{spec}"), names)
            for spec, names in cases]  # fmt: skip
    args = [
        ('{"width": "wide"}', "Net(width=...) raised"),
        ('{"nope": 1}', "Net(nope=...) raised TypeError"),
        ("[1, 2]", "--model-args"),
        ("{", "--model-args"),
        ('{"width": ' + "9" * 5000 + "}", "--model-args"),
        ('{"a": "' + "x" * 2_000_000 + '"}', "raised TypeError"),
    ]
    braces = lambda text: text.replace("{", "{{").replace("}", "}}")  # noqa: E731  (str.format)
    made += [Case(f"model args {text[:20]}", (*train, "--model", "{files}/my net.py:Net",
                                              "--model-args", braces(text)), names)
             for text, names in args]  # fmt: skip
    return made


def import_cases() -> list[Case]:
    def imp(name: str, model: str = "convnet") -> tuple[str, ...]:
        return ("import", f"{{files}}/{name}", "--model", model, "--data", "{data}")

    user_net = "{files}/my net.py:Net"
    cases = [
        ("text file", imp("text.pt"), "not a file saved with torch.save"),
        ("empty file", imp("empty.pt"), "not a file saved with torch.save"),
        ("zip junk", imp("zipjunk.pt"), "not a file saved with torch.save"),
        ("malicious pickle", imp("evil.pt"), "holds Python objects"),
        ("a list", imp("list.pt"), "holds no state dict"),
        ("dict of lists", imp("dict_of_lists.pt"), "holds no state dict"),
        ("wrong keys", imp("wrong_keys.pt"), "not convnet's weights"),
        ("huge tensor", imp("huge.pt"), "not convnet's weights"),
        ("other network's weights", imp("net_weights.pt"), "not convnet's weights"),
        ("wrong shape for a model file", imp("wrong_shape.pt", user_net), "fc.weight has shape"),
        ("extra key for a model file", imp("extra_key.pt", user_net), "unexpected extra"),
        ("NaN weights", imp("nan.pt", user_net), "NaN"),
        ("wrapped, wrong shape", imp("wrapped_bad.pt", user_net), "conv.bias has shape"),
        ("a folder", imp("weights_dir"), "is a folder"),
        ("a link to a folder", imp("dir_link.pt"), "is a folder"),
        ("a dangling link", imp("dangling.pt"), "no such file"),
        ("missing", imp("nothere.pt"), "nothere.pt: no such file"),
        ("unknown model", imp("net_weights.pt", "resnet"), "--model"),
        ("model file that raises", imp("net_weights.pt", "{files}/raises.py:Net"), "ValueError"),
        ("marker model file, wrong weights", imp("text.pt", "{files}/marker.py:Net"),
         "not a file saved with torch.save"),
    ]  # fmt: skip
    return [Case(f"import {name}", argv, names) for name, argv, names in cases]


def damage_snapshot(moment: str, how: str) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        path = run_dir / "snapshots" / (moment.replace(":", "-") + ".pt")
        if how == "truncate":
            path.write_bytes(path.read_bytes()[:100])
        elif how == "garbage":
            path.write_text("garbage")
        elif how == "link":
            path.unlink()
            path.symlink_to("/etc/passwd")
        elif how == "remove":
            path.unlink()
        elif how == "folder gone":
            shutil.rmtree(run_dir / "snapshots")
        elif how == "folder a link":
            shutil.rmtree(run_dir / "snapshots")
            (run_dir / "snapshots").symlink_to("/etc")
        elif how == "other network":
            from engine.models.zoo import build_model

            state = torch.load(path, weights_only=True)
            state["model_name"] = "lenet5"
            state["model"] = build_model("lenet5").state_dict()
            torch.save(state, path)

    return damage


def moment_cases() -> list[Case]:
    cases = []
    for how in ("truncate", "garbage", "link", "remove", "other network"):
        for command in (("predict", "{run}", "--index", "0"), ("filters", "{run}"),
                        ("summary", "{run}"), ("histograms", "{run}")):  # fmt: skip
            argv = (*command, "--epoch", "1")
            names = {"remove": "kept no snapshot at epoch:1", "link": "epoch-1.pt is a link"}.get(
                how, "epoch-1.pt"
            )
            cases.append(Case(f"snapshot {how} / {command[0]}", argv, names,
                              damage_snapshot("epoch:1", how)))  # fmt: skip
    for how in ("folder gone", "folder a link"):
        cases.append(Case(f"snapshots {how}", ("predict", "{run}", "--at", "start"), "kept no snapshots",
                          damage_snapshot("start", how)))  # fmt: skip
    for text, names in (("epoch:99", "kept no snapshot at epoch:99"), ("batch:-1", "not a moment"),
                        ("../../x", "not a moment"), ("epoch:1.5", "not a moment"),
                        ("", "--at"), ("epoch:" + "9" * 40, "kept no snapshot at")):  # fmt: skip
        cases.append(Case(f"--at {text!r}", ("occlude", "{run}", "--at", text), names))
    cases.append(Case("--epoch 0", ("activations", "{run}", "--epoch", "0"), "--epoch"))
    cases.append(Case("--epoch -1", ("activations", "{run}", "--epoch", "-1"), "--epoch"))
    return cases


def name_cases() -> list[Case]:
    name = ("name", "{run}")
    return [
        Case("name -x", (*name, "--", "-x"), "may not start with '-'"),
        Case("name --all", (*name, "--", "--all"), "may not start with '-'"),
        Case("name latest", (*name, "latest"), "'latest' already means something"),
        Case("name an id's start", (*name, "2"), "is (the start of) run id"),
        Case("name a control character", (*name, "a\x1b[31mb"), "plain text"),
        Case("name 61 characters", (*name, "n" * 61), "at most 60"),
    ]


def recipe_cases() -> list[Case]:
    train = ("train", "--data", "{data}", "--device", "cpu")
    return [
        Case("fast recipe, subset 5", (*train, "--recipe", "fast", "--subset", "5"), "--subset"),
        Case("unknown recipe", (*train, "--recipe", "fastest"), "--recipe"),
        Case("fast recipe, resume a finished run", ("train", "--resume", "{run}"), "has finished"),
        Case("histograms, layer unknown", ("histograms", "{run}", "--layer", "conv9"), "conv9"),
        Case("histograms, bins 0", ("histograms", "{run}", "--bins", "0"), "--bins"),
        Case(
            "histograms --epoch 1, imported run",
            ("histograms", "{imported}", "--epoch", "1"),
            "kept no snapshots",
        ),  # fmt: skip
    ]


CASES = model_file_cases() + import_cases() + moment_cases() + name_cases() + recipe_cases()


def test_the_corpus_adds_at_least_80_cases():
    assert len(CASES) >= 80


@pytest.fixture()
def world(copied_run, tmp_path):  # noqa: F811  (the fixture imported above)
    """The copied run and data of the first corpus, the user's files, and an imported run."""
    home, run_dir, data = copied_run
    files = tmp_path / "files"
    write_model_files(files)
    imported = runs.runs_folder(home) / "20260101-000000-convnet-impt"
    shutil.copytree(run_dir, imported)
    shutil.rmtree(imported / "snapshots")
    (imported / runs.SUMMARY).unlink(missing_ok=True)
    return home, run_dir, data, files, imported


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_on_a_new_surface_is_named_in_one_line(case, world, capsys):
    home, run_dir, data, files, imported = world
    if case.damage:
        case.damage(run_dir)
    fill = {"run": run_dir.name, "data": data, "home": home, "files": files,
            "imported": imported.name}  # fmt: skip
    argv = [a.format(**fill) for a in case.argv]
    assert_named_in_one_line(home, argv, case.names.format(**fill), (home, data, files), capsys)
    assert not (files / "MARKER").exists()


def test_histograms_through_a_run_without_snapshots_shows_its_checkpoint_and_says_why(
    world, capsys
):
    home, _, _, _, imported = world
    assert main(["--home", str(home), "histograms", imported.name, "--through", "--json"]) == 0
    captured = capsys.readouterr()
    assert [m["moment"] for m in json.loads(captured.out)] == ["best"]
    assert "kept no snapshots" in captured.err and "only its best.pt" in captured.err
