"""A corpus of bad inputs, generated here: option values, damaged run folders, damaged
checkpoints, unusable data folders. Each case must end with exit code 2, one line on stderr
that names the culprit, no traceback — and no file of the home or the data changed."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import runs
from engine.data.idx import FILE_NAMES, encode
from tests.conftest import synthetic_arrays
from tui.cli.main import main


@dataclass(frozen=True)
class Case:
    """argv to run (``{run}``, ``{data}`` and ``{home}`` filled in), what stderr must name,
    and how to damage a copy of the trained run or the data first."""

    id: str
    argv: tuple[str, ...]
    names: str
    damage: Callable[[Path], None] | None = None  # on the copied run folder
    data: Callable[[Path], None] | None = None  # on a fresh copy of the tiny data folder


def option_cases() -> list[Case]:
    cases = []
    bad_train = {
        "lr": ["inf", "nan", "-1", "0", "1e309", "abc", "11"],
        "momentum": ["1", "-0.1", "nan", "inf", "x"],
        "weight-decay": ["-1", "inf", "1e309", "2", "nan"],
        "epochs": ["0", "-1", "1.5", "abc", "10001", "nan"],
        "batch-size": ["0", "abc", "-5", "60001"],
        "eval-batch-size": ["0", "1e3"],
        "seed": ["-1", "abc", "4294967296"],
        "subset": ["5", "abc", "0", "inf"],
        "augment": ["9", "-1", "nan"],
        "device": ["gpu", "CUDA"],
        "precision": ["fp16"],
        "model": ["resnet", ""],
    }
    for option, values in bad_train.items():
        for value in values:
            cases.append(
                Case(f"train --{option} {value!r}", ("train", f"--{option}", value), f"--{option}")
            )
    analysis = [
        (("occlude", "{run}", "--patch", "0"), "--patch"),
        (("occlude", "{run}", "--patch", "29"), "patch"),
        (("occlude", "{run}", "--patch", "nan"), "--patch"),
        (("occlude", "{run}", "--stride", "0"), "--stride"),
        (("occlude", "{run}", "--fill", "2"), "--fill"),
        (("occlude", "{run}", "--fill", "nan"), "--fill"),
        (("occlude", "{run}", "--index", "-1"), "--index"),
        (("occlude", "{run}", "--index", "100000"), "out of range"),
        (
            ("activations", "{run}", "--index", "5", "--layer", "fc9"),
            "no convolution named 'fc9' (it has: conv1, conv2)",
        ),
        (("filters", "{run}", "--conv2", "32"), "conv2 filter 32"),
        (("predict", "{run}", "--random", "0"), "--random"),
        (("predict", "{run}", "--index", "100000"), "out of range"),
        (("attack", "fgsm", "{run}", "--eps", "nan"), "--eps"),
        (("attack", "fgsm", "{run}", "--eps", "inf"), "--eps"),
        (("attack", "fgsm", "{run}", "--eps", "-0.1"), "--eps"),
        (("attack", "fgsm", "{run}", "--eps", "2"), "--eps"),
        (("attack", "pgd", "{run}", "--alpha", "nan"), "--alpha"),
        (("attack", "pgd", "{run}", "--alpha", "inf"), "--alpha"),
        (("attack", "pgd", "{run}", "--alpha", "0"), "--alpha"),
        (("attack", "pgd", "{run}", "--steps", "0"), "--steps"),
        (("attack", "targeted", "{run}", "--beta", "inf"), "--beta"),
        (("attack", "targeted", "{run}", "--beta", "nan"), "--beta"),
        (("attack", "targeted", "{run}", "--beta", "-1"), "--beta"),
        (("attack", "targeted", "{run}", "--step-size", "inf"), "--step-size"),
        (("attack", "targeted", "{run}", "--target", "12"), "--target"),
        (("attack", "synthesize", "{run}", "--step-size", "nan"), "--step-size"),
        (("attack", "synthesize", "{run}", "--classes", "3-11"), "--classes"),
        (("robustness", "{run}", "--eps", "nan"), "--eps"),
        (("robustness", "{run}", "--eps", "0.1,inf"), "--eps"),
        (("robustness", "{run}", "--eps", "x"), "--eps"),
        (("robustness", "{run}", "--attack", "cw"), "--attack"),
        (("predict", "nosuchrun"), "nosuchrun"),
        (("train", "--resume", ""), "no run named"),
        (("train", "--resume", "nosuchrun"), "nosuchrun"),
        (("stop", "nosuchrun"), "nosuchrun"),
        (("follow", "nosuchrun"), "nosuchrun"),
        (("summary", "--model", "resnet"), "--model"),
        (("nosuchcommand",), "nosuchcommand"),
    ]
    cases += [Case(" ".join(argv), argv, names) for argv, names in analysis]
    return cases


# --- damaged run folders -----------------------------------------------------------------


def write(name: str, content: str) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        path = run_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        path.write_text(content)

    return damage


def make_directory(name: str) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        (run_dir / name).unlink(missing_ok=True)
        (run_dir / name).mkdir()

    return damage


def remove(name: str) -> Callable[[Path], None]:
    return lambda run_dir: (run_dir / name).unlink()


def append_event(line: str) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        (run_dir / runs.SUMMARY).unlink(missing_ok=True)
        with open(run_dir / runs.EVENTS, "a") as handle:
            handle.write(line + "\n")

    return damage


def edit_checkpoint(name: str, change: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        path = run_dir / name
        state = torch.load(path, weights_only=True)
        change(state)
        torch.save(state, path)

    return damage


def other_architecture(state: dict) -> None:
    from engine.models.zoo import build_model

    state["model_name"] = "convnet-bn"
    state["model"] = build_model("convnet-bn").state_dict()


def make_stopped(run_dir: Path) -> None:
    """The finished run as if it had been stopped after its last epoch: resumable."""
    (run_dir / runs.SUMMARY).unlink(missing_ok=True)
    lines = (run_dir / runs.EVENTS).read_text().splitlines()
    kept = [line for line in lines if '"TestEvaluated"' not in line and '"RunFinished"' not in line]
    kept.append('{"event":"RunStopped","epoch":3,"reason":"test","time":1}')
    (run_dir / runs.EVENTS).write_text("\n".join(kept) + "\n")


def checkpoint_cases() -> list[Case]:
    predict = ("predict", "{run}", "--index", "0")
    resume = ("train", "--resume", "{run}")
    stopped = make_stopped
    return [
        Case("best.pt garbage", predict, "best.pt", write("best.pt", "garbage")),
        Case("best.pt empty", predict, "best.pt", write("best.pt", "")),
        Case("best.pt missing", predict, "best.pt", remove("best.pt")),
        Case("best.pt a list", predict, "best.pt", lambda d: torch.save([1, 2], d / "best.pt")),
        Case(
            "best.pt other architecture",
            predict,
            "best.pt",
            edit_checkpoint("best.pt", other_architecture),
        ),
        Case(
            "best.pt unknown model",
            predict,
            "best.pt",
            edit_checkpoint("best.pt", lambda s: s.update(model_name="resnet")),
        ),  # fmt: skip
        Case(
            "best.pt missing keys",
            predict,
            "fc2.bias",
            edit_checkpoint("best.pt", lambda s: s["model"].pop("fc2.bias")),
        ),  # fmt: skip
        Case(
            "best.pt wrong shape",
            predict,
            "conv1.weight",
            edit_checkpoint(
                "best.pt", lambda s: s["model"].update({"conv1.weight": torch.zeros(3, 3)})
            ),
        ),  # fmt: skip
        Case(
            "best.pt no weights",
            predict,
            "best.pt",
            edit_checkpoint("best.pt", lambda s: s.pop("model")),
        ),
        Case(
            "last.pt epoch -5",
            resume,
            "epoch -5",
            lambda d: (
                stopped(d),
                edit_checkpoint("last.pt", lambda s: s["progress"].update(epoch=-5))(d),
            ),
        ),  # fmt: skip
        Case(
            "last.pt epoch past the run",
            resume,
            "epoch 99",
            lambda d: (
                stopped(d),
                edit_checkpoint("last.pt", lambda s: s["progress"].update(epoch=99))(d),
            ),
        ),  # fmt: skip
        Case(
            "last.pt batch -1",
            resume,
            "batch -1",
            lambda d: (
                stopped(d),
                edit_checkpoint("last.pt", lambda s: s["progress"].update(batch=-1))(d),
            ),
        ),  # fmt: skip
        Case(
            "last.pt loss sum not a number",
            resume,
            "its progress loss_sum is 'x'",
            lambda d: (
                stopped(d),
                edit_checkpoint("last.pt", lambda s: s["progress"].update(loss_sum="x"))(d),
            ),
        ),  # fmt: skip
        Case(
            "last.pt history of nonsense",
            resume,
            "an epoch of its history is damaged",
            lambda d: (
                stopped(d),
                edit_checkpoint(
                    "last.pt", lambda s: s["progress"].update(history=[{"epoch": "x"}])
                )(d),
            ),
        ),  # fmt: skip
        Case(
            "last.pt other architecture",
            resume,
            "last.pt",
            lambda d: (stopped(d), edit_checkpoint("last.pt", other_architecture)(d)),
        ),  # fmt: skip
        Case(
            "last.pt garbage", resume, "last.pt", lambda d: (stopped(d), write("last.pt", "x")(d))
        ),
        Case(
            "last.pt no optimiser",
            resume,
            "optimiser",
            lambda d: (stopped(d), edit_checkpoint("last.pt", lambda s: s.pop("optimiser"))(d)),
        ),  # fmt: skip
        Case("last.pt missing", resume, "last.pt", lambda d: (stopped(d), remove("last.pt")(d))),
        Case("resume a finished run", resume, "has finished"),
    ]


def damaged_folder_cases() -> list[Case]:
    """Folders that `runs` must list as damaged; following or analysing them is refused."""
    damages = {
        "config.json []": write(runs.CONFIG, "[]"),
        "config.json not JSON": write(runs.CONFIG, "{"),
        "config.json a string": write(runs.CONFIG, '"x"'),
        "config.json a directory": make_directory(runs.CONFIG),
        "config.json missing": remove(runs.CONFIG),
        "config.json bad model": write(runs.CONFIG, json.dumps({"model": "resnet"})),
        "config.json epochs -1": write(runs.CONFIG, json.dumps({"epochs": -1})),
        "config.json lr text": write(runs.CONFIG, json.dumps({"lr": "fast"})),
        "config.json lr nan": write(runs.CONFIG, '{"lr": NaN}'),
        "config.json 100k deep": write(runs.CONFIG, "[" * 100_000 + "]" * 100_000),
        "events.jsonl a directory": lambda d: (
            remove(runs.SUMMARY)(d),
            make_directory(runs.EVENTS)(d),
        ),
    }
    cases = []
    for name, damage in damages.items():
        for argv in (
            ("follow", "{run}"),
            ("predict", "{run}", "--index", "0"),
            ("train", "--resume", "{run}"),
        ):
            if name.startswith("events") and argv[0] == "predict":
                continue  # the model is sound: predictions need no log
            cases.append(Case(f"{name} / {argv[0]}", argv, "{run}", damage))
    return cases


def process_cases() -> list[Case]:
    """process.json that names no trustworthy process: `stop` signals nothing."""
    stop = ("stop", "{run}")
    return [
        Case("pid text", stop, "process.json", write("process.json", '{"pid": "12"}')),
        Case(
            "pid -1", stop, "process.json", write("process.json", '{"pid": -1, "start_ticks": 1}')
        ),
        Case("pid 0", stop, "process.json", write("process.json", '{"pid": 0, "start_ticks": 1}')),
        Case("pid true", stop, "process.json", write("process.json", '{"pid": true}')),
        Case("pid float", stop, "process.json", write("process.json", '{"pid": 1.5}')),
        Case("not JSON", stop, "process.json", write("process.json", "{")),
        Case("a list", stop, "process.json", write("process.json", "[1]")),
        Case("a directory", stop, "process.json", make_directory("process.json")),
        Case("no start time (pid 1)", stop, "start time", write("process.json", '{"pid": 1}')),
        Case(
            "wrong start time (pid 1)",
            stop,
            "pid 1",
            write("process.json", '{"pid": 1, "start_ticks": 123456789}'),
        ),
        Case("no process at all", stop, "not running"),
    ]


# --- data folders ------------------------------------------------------------------------


def rewrite(role: str, array_change: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        arrays = dict(zip(FILE_NAMES, synthetic_arrays(), strict=True))
        (folder / FILE_NAMES[role]).write_bytes(encode(array_change(arrays[role])))

    return damage


def raw_file(role: str, content: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / FILE_NAMES[role]).write_bytes(content)


def gzip_bomb(folder: Path) -> None:
    """A small .gz whose header claims 28x28 images, then gigabytes of zeros."""
    path = folder / FILE_NAMES["train-images"]
    path.unlink()
    header = encode(np.zeros((1, 28, 28), dtype=np.uint8))[:16]
    with gzip.open(f"{path}.gz", "wb", compresslevel=1) as handle:
        handle.write(header)
        zeros = bytes(1 << 20)
        for _ in range(200):  # 200 MB inflated; under a megabyte on disk
            handle.write(zeros)


def data_cases() -> list[Case]:
    damages = {
        "label 10": rewrite("train-labels", lambda a: np.where(np.arange(len(a)) == 3, 10, a)),
        "test label 255": rewrite("test-labels", lambda a: np.full_like(a, 255)),
        "32x32 images": rewrite("train-images", lambda a: np.zeros((len(a), 32, 32), np.uint8)),
        "test images 14x14": rewrite("test-images", lambda a: a[:, :14, :14].copy()),
        "no images": rewrite("test-images", lambda a: a[:0]),
        "corrupt gz": lambda f: (
            raw_file("train-images", b"")(f),
            Path(f / FILE_NAMES["train-images"]).unlink(),
            (f / f"{FILE_NAMES['train-images']}.gz").write_bytes(b"\x1f\x8b\x08\x00garbage"),
        ),  # fmt: skip
        "truncated images": lambda f: raw_file(
            "train-images", (f / FILE_NAMES["train-images"]).read_bytes()[:1000]
        )(f),
        "truncated labels": lambda f: raw_file(
            "test-labels", (f / FILE_NAMES["test-labels"]).read_bytes()[:20]
        )(f),
        "swapped images and labels": lambda f: raw_file(
            "train-labels", (f / FILE_NAMES["train-images"]).read_bytes()
        )(f),  # fmt: skip
        "labels count differs": rewrite("train-labels", lambda a: a[:-1]),
        "empty file": raw_file("test-images", b""),
        "missing file": lambda f: (f / FILE_NAMES["test-labels"]).unlink(),
        "gzip bomb": gzip_bomb,
        "header claims 4 GB": raw_file(
            "train-images", bytes.fromhex("00000803ffffffff0000001c0000001c")
        ),
        # 2**31 x 2**31 x 4 overflows numpy's int64 product to 0
        "header dimensions overflow": raw_file(
            "train-images", bytes.fromhex("00000803800000008000000000000004")
        ),
        "5 training images": lambda f: (
            rewrite("train-images", lambda a: a[:5])(f),
            rewrite("train-labels", lambda a: a[:5])(f),
        ),  # fmt: skip
    }
    cases = []
    for name, damage in damages.items():
        cases.append(
            Case(
                f"data {name} / train",
                ("train", "--data", "{data}", "--epochs", "1"),
                "{data}",
                data=damage,
            )
        )
        cases.append(
            Case(f"data {name} / data", ("data", "--data", "{data}"), "{data}", data=damage)
        )
    cases.append(Case("data not a folder", ("train", "--data", "{data}/nothing"), "nothing"))
    return cases


CASES = (
    option_cases() + checkpoint_cases() + damaged_folder_cases() + process_cases() + data_cases()
)


def test_the_corpus_is_large():
    assert len(CASES) >= 100


def snapshot(*folders: Path) -> dict[str, tuple]:
    """Every file under the folders with its size and modification time."""
    seen = {}
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            for name in dirs + files:
                path = Path(root) / name
                stat = path.lstat()
                seen[str(path)] = (stat.st_size, stat.st_mtime_ns, path.is_dir())
    return seen


@pytest.fixture()
def copied_run(trained_home, tiny_folder, tmp_path):
    """A home holding a copy of the trained run, and a copy of the data folder."""
    home = tmp_path / "home"
    source = runs.find_run(trained_home, "latest")
    run_dir = runs.runs_folder(home) / source.name
    shutil.copytree(source, run_dir)
    data = tmp_path / "data"
    shutil.copytree(tiny_folder, data)
    return home, run_dir, data


def assert_named_in_one_line(home: Path, argv: list[str], names: str, watched: tuple[Path, ...],
                             capsys) -> None:  # fmt: skip
    """``mnist-tui --home HOME ARGV`` ends with exit code 2 and one line naming ``names``, no
    traceback, and every file under ``watched`` as it was."""
    before = snapshot(*watched)
    try:
        code = main(["--home", str(home), *argv])
    except SystemExit as exit_:  # argparse's own checks
        code = exit_.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("using run")]
    assert code == 2, err
    assert len(lines) == 1, err
    assert names in lines[0], err
    assert "Traceback" not in err
    assert snapshot(*watched) == before


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_is_named_in_one_line(case, copied_run, capsys):
    home, run_dir, data = copied_run
    if case.damage:
        case.damage(run_dir)
    if case.data:
        case.data(data)
    argv = [a.format(run=run_dir.name, data=data, home=home) for a in case.argv]
    names = case.names.format(run=run_dir.name, data=data)
    assert_named_in_one_line(home, argv, names, (home, data), capsys)


def test_runs_lists_damaged_folders_beside_the_others(trained_home, tmp_path, capsys):
    home = tmp_path / "home"
    source = runs.find_run(trained_home, "latest")
    folder = runs.runs_folder(home)
    shutil.copytree(source, folder / source.name)
    damaged = {name: damage for name, damage in
               [(c.id.split(" / ")[0], c.damage) for c in damaged_folder_cases()]}  # fmt: skip
    damaged["unknown event"] = append_event('{"event":"Nonsense","time":1}')
    damaged["wrong field type"] = append_event(
        '{"event":"EpochEvaluated","epoch":"three","time":1}'
    )
    damaged["deep event line"] = append_event("[" * 100_000 + "]" * 100_000)
    damaged["summary unknown status"] = write(runs.SUMMARY, json.dumps({"status": "exploded"}))
    for i, damage in enumerate(damaged.values()):
        copy = folder / f"{source.name}-copy{i:02d}"
        shutil.copytree(source, copy)
        damage(copy)
    assert main(["--home", str(home), "runs", "--json"]) == 0
    listed = {entry["id"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert len(listed) == len(damaged) + 1  # every folder, each under its own name
    assert listed[source.name]["status"] == "finished"
    statuses = {name: listed[f"{source.name}-copy{i:02d}"] for i, name in enumerate(damaged)}
    for name in ("unknown event", "wrong field type", "deep event line", "summary unknown status"):
        assert statuses[name]["status"] == "finished", name  # the bad line is skipped
    for name, entry in statuses.items():
        if name.startswith(("config", "events")):
            assert entry["status"] == "damaged" and entry["error"], name
    assert main(["--home", str(home), "runs"]) == 0
    assert "damaged" in capsys.readouterr().out


def test_stop_never_signals_a_process_it_cannot_identify(copied_run):
    home, run_dir, _ = copied_run
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run_dir / "process.json").write_text(json.dumps({"pid": sleeper.pid}))  # no start time
        assert main(["--home", str(home), "stop", run_dir.name]) == 2
        (run_dir / "process.json").write_text(json.dumps({"pid": sleeper.pid, "start_ticks": 1}))
        assert main(["--home", str(home), "stop", run_dir.name]) == 2
        assert sleeper.poll() is None  # still alive: nothing was signalled
    finally:
        sleeper.kill()
        sleeper.wait()
