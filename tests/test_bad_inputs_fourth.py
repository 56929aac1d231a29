"""The bad-input corpus, fourth round: the fourth wave's surfaces — TensorBoard logs, export,
trust and a run's copied code, the look-deeper commands' options, ``--vs``, sweeps (names,
searches, trials, ``--confirm`` seeds) and recipes. (The serve command's cases are in
test_serve.py; a sweep's damaged or locked store in test_sweep_safety.py.) Each case ends
with exit code 2 and one line naming the culprit, no traceback, and nothing changed under
the home, the data or the user's folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from engine import runs
from tests.test_bad_inputs import Case, assert_named_in_one_line, copied_run  # noqa: F401  (copied_run: a fixture)
from tui.cli.main import main

NET = """
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        return self.fc(x.flatten(1))
"""


def tensorboard_cases() -> list[Case]:
    export = ("export", "{run}", "--tensorboard")
    train = ("train", "--data", "{data}", "--epochs", "1", "--batch-size", "20", "--device",
             "cpu", "--tensorboard")  # fmt: skip
    return [
        Case("export into a file", (*export, "{files}/afile"), "cannot write TensorBoard logs"),
        Case("export into /proc/tb", (*export, "/proc/tb"), "cannot write TensorBoard logs"),
        Case("export into /proc", (*export, "/proc"), "cannot write TensorBoard logs"),
        Case("export into ''", (*export, ""), "--tensorboard"),
        Case("export into ' '", (*export, " "), "--tensorboard"),
        Case(
            "export an unknown run",
            ("export", "nosuch", "--tensorboard", "{files}/tb"),
            "no run named 'nosuch'",
        ),  # fmt: skip
        Case("export without --tensorboard", ("export", "{run}"), "--tensorboard"),
        Case("export without a run", ("export",), "RUN"),
        Case("train into a file", (*train, "{files}/afile"), "cannot make"),
        Case("train into /proc/x", (*train, "/proc/x"), "cannot make"),
    ]


def remove(path: Path) -> None:
    path.unlink()


def damage_code(how: str) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        copy = run_dir / "model.py"
        if how == "removed":
            copy.unlink()
        elif how == "a link":
            (run_dir.parent / "elsewhere.py").write_text(NET)
            copy.unlink()
            copy.symlink_to(run_dir.parent / "elsewhere.py")
        elif how == "a folder":
            copy.unlink()
            copy.mkdir()
        elif how == "huge and null":
            with copy.open("ab") as handle:
                handle.write(b"\x00" * 5_000_000)
        elif how == "edited":
            copy.write_text(NET + "\nprint('changed')\n")

    return damage


def trust_cases() -> list[Case]:
    cases = [
        Case("trust an unknown run", ("trust", "nosuch"), "no run named 'nosuch'"),
        Case("trust without a run", ("trust",), "RUN"),
        Case("predict an untrusted run", ("predict", "{net}"), "not written on this machine"),
        Case(
            "--vs an untrusted run",
            ("predict", "{run}", "--vs", "{net}"),
            "not written on this machine",
        ),  # fmt: skip
        Case("filters of an untrusted run", ("filters", "{net}"), "not written on this machine"),
    ]
    said = {"removed": "is missing", "a link": "is a link", "a folder": "is not a file"}
    for how, names in said.items():
        cases.append(Case(f"trust, model.py {how}", ("trust", "{net}"), names,
                          damage=damage_code(how)))  # fmt: skip
        cases.append(Case(f"predict --trust-code, model.py {how}",
                          ("predict", "{net}", "--trust-code"), names, damage=damage_code(how)))  # fmt: skip
    cases.append(Case("predict --trust-code, model.py huge and null", ("predict", "{net}",
                      "--trust-code"), "importing it raised", damage=damage_code("huge and null")))  # fmt: skip
    return cases


def deeper_cases() -> list[Case]:
    return [
        Case("top-images --layer nosuch", ("top-images", "{run}", "--layer", "nosuch"), "nosuch"),
        Case("top-images --layer fc1", ("top-images", "{run}", "--layer", "fc1"), "fc1"),
        Case("top-images --channel 999", ("top-images", "{run}", "--channel", "999"), "999"),
        Case("top-images --channel -1", ("top-images", "{run}", "--channel", "-1"), "--channel"),
        Case("top-images --channel abc", ("top-images", "{run}", "--channel", "abc"), "--channel"),
        Case("top-images --count 0", ("top-images", "{run}", "--count", "0"), "--count"),
        Case("top-images --count 101", ("top-images", "{run}", "--count", "101"), "--count"),
        Case("embedding --method umap", ("embedding", "{run}", "--method", "umap"), "--method"),
        Case("embedding --images 0", ("embedding", "{run}", "--images", "0"), "--images"),
        Case("embedding --images 1", ("embedding", "{run}", "--images", "1"), "--images"),
        Case("embedding --images 10001", ("embedding", "{run}", "--images", "10001"), "--images"),
        Case("embedding --layer nosuch", ("embedding", "{run}", "--layer", "nosuch"), "nosuch"),
        Case("class-view --method nosuch", ("class-view", "{run}", "--method", "x"), "--method"),
        Case("class-view --limit 0", ("class-view", "{run}", "--limit", "0"), "--limit"),
        Case("class-view --limit -5", ("class-view", "{run}", "--limit", "-5"), "--limit"),
        Case("confusions --pair 4", ("confusions", "{run}", "--pair", "4"), "--pair"),
        Case("confusions --pair 4,4", ("confusions", "{run}", "--pair", "4,4"), "--pair"),
        Case("confusions --pair 4,10", ("confusions", "{run}", "--pair", "4,10"), "--pair"),
        Case("confusions --count 0", ("confusions", "{run}", "--count", "0"), "--count"),
        Case("confusions of an unknown run", ("confusions", "nosuch"), "no run named 'nosuch'"),
    ]


def vs_cases() -> list[Case]:
    return [
        Case("--vs unknown", ("predict", "{run}", "--vs", "nosuch"), "no run named 'nosuch'"),
        Case("--vs itself", ("predict", "{run}", "--vs", "{run}"), "the same run"),
        Case("--vs itself, occlude", ("occlude", "{run}", "--vs", "{run}"), "the same run"),
        Case("--vs ''", ("predict", "{run}", "--vs", ""), "--vs"),
        Case("--vs ' '", ("filters", "{run}", "--vs", " "), "--vs"),
        Case("--vs without a value", ("occlude", "{run}", "--vs"), "--vs"),
        Case("--vs on embedding, unknown", ("embedding", "{run}", "--vs", "zz"), "no run named"),
        Case(
            "--vs with --epoch it lacks",
            ("predict", "{run}", "--vs", "{net}", "--epoch", "9"),
            "epoch:9",
        ),  # fmt: skip
    ]


def sweep_cases() -> list[Case]:
    search = ("--search", "lr=0.01..0.1")
    cases = [
        Case(f"sweep name {name!r}", ("sweep", name, *search), "sweep name")
        for name in ("", "1abc", "a b", "../x", "x" * 49, ".hidden", "a/b")
    ]
    for trials in ("0", "-3", "10001", "abc", "1.5", "nan"):
        cases.append(Case(f"sweep --trials {trials}", ("sweep", "new", *search, "--trials", trials),
                          "--trials"))  # fmt: skip
    for item, names in (("lr=nan..0.1", "nan"), ("lr=0.01..inf", "inf"),
                        ("epochs=1..1000000", "1000000"), ("batch_size=abc,def", "batch_size"),
                        ("lr=0.1..0.01", "is not below"), ("momentum=", "give LOW..HIGH")):  # fmt: skip
        cases.append(Case(f"sweep --search {item}", ("sweep", "new", "--search", item), names))
    for seeds in ("5-1", "", "abc", "0-100000", "-1", "1,,2"):
        cases.append(Case(f"sweep show --confirm {seeds!r}", ("sweep", "show", "sw", "--confirm",
                          seeds), f"--confirm {seeds!r}: "))  # fmt: skip
    cases += [
        Case("sweep show unknown", ("sweep", "show", "nosuch"), "no sweep named 'nosuch'"),
        Case("sweep show ../..", ("sweep", "show", "../.."), "sweep name"),
        Case("sweep again, other search", ("sweep", "sw", "--search", "lr=0.2,0.3"), "exists"),
        Case(
            "sweep again, no trial to confirm",
            ("sweep", "show", "sw", "--confirm", "0-1"),
            "no finished trial to confirm",
        ),  # fmt: skip
    ]
    return cases


def recipe_cases() -> list[Case]:
    train = ("train", "--data", "{data}", "--device", "cpu")
    return [
        Case("recipe ''", (*train, "--recipe", ""), "--recipe"),
        Case("recipe FAST", (*train, "--recipe", "FAST"), "--recipe"),
        Case("fast recipe, epochs 0", (*train, "--recipe", "fast", "--epochs", "0"), "--epochs"),
        Case(
            "accurate recipe, subset 5",
            (*train, "--recipe", "accurate", "--subset", "5"),
            "--subset",
        ),  # fmt: skip
        Case(
            "study --seeds 5-1",
            ("study", "x", "--vary", "lr=0.1,0.2", "--seeds", "5-1"),
            "runs backwards",
        ),  # fmt: skip
        Case(
            "study --seeds ''", ("study", "x", "--vary", "lr=0.1,0.2", "--seeds", ""), "--seeds"
        ),  # fmt: skip
    ]


CASES = (tensorboard_cases() + trust_cases() + deeper_cases() + vs_cases() + sweep_cases()
         + recipe_cases())  # fmt: skip


def test_the_corpus_adds_at_least_80_cases():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def net_run(tmp_path_factory, tiny_folder) -> Path:
    """A run trained from a model file, in a home of its own."""
    folder = tmp_path_factory.mktemp("net")
    (folder / "net.py").write_text(NET)
    home = folder / "home"
    assert main(["--home", str(home), "train", "--data", str(tiny_folder), "--epochs", "1",
                 "--batch-size", "20", "--device", "cpu", "--model",
                 f"{folder / 'net.py'}:Net"]) == 0  # fmt: skip
    return runs.find_run(home, "latest")


@pytest.fixture()
def world(copied_run, net_run, tmp_path):  # noqa: F811  (the fixture imported above)
    """The copied run, the model-file run copied in from elsewhere (so untrusted here), the
    user's folder and a sweep record with no trials yet."""
    from engine.studies import sweeps

    home, run_dir, data = copied_run
    net = runs.runs_folder(home) / net_run.name
    shutil.copytree(net_run, net)
    files = tmp_path / "files"
    files.mkdir()
    (files / "afile").write_text("a file, not a folder\n")
    sweeps.start_sweep(home, sweeps.Sweep("sw", "fast", {"data": str(data)},
                                          [sweeps.parse_search("lr=0.01..0.1")], trials=2))  # fmt: skip
    return home, run_dir, data, files, net


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_on_a_fourth_wave_surface_is_named_in_one_line(case, world, capsys):
    home, run_dir, data, files, net = world
    if case.damage:
        case.damage(net)
    fill = {"run": run_dir.name, "data": data, "home": home, "files": files, "net": net.name}
    argv = [a.format(**fill) for a in case.argv]
    assert_named_in_one_line(home, argv, case.names.format(**fill), (home, data, files), capsys)
