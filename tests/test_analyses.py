"""An analysis declared once appears in the CLI, the app and the report with no other edit:
a toy one, registered here, is found and run in all three; the built-in declarations drive
the options of their commands."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from functools import partial

import pytest

from engine import events as ev
from engine.analyses import ANALYSES, Analysis, parameter, register, unregister
from engine.analyses.attacks import ROBUSTNESS
from engine.report import build_report, write_report
from engine.report.sections import basics, declared
from engine.report.sections.drawn import DRAWN
from tests.app_setup import text_of, tiny_app, wait_for
from tui.cli.main import build_parser, main


@dataclass(frozen=True)
class MeanInk:
    images: int
    mean: float

    def to_dict(self) -> dict:
        return {"images": self.images, "mean_ink": self.mean}

    def summary(self) -> str:
        return f"the first {self.images} test images are {self.mean:.1%} ink on average"


def mean_ink(subject, images: int, emit=ev.ignore, cancel=None) -> MeanInk:
    pixels = subject.test.images[:images].float() / 255
    emit(ev.ProgressMade("mean ink", images, images))
    return MeanInk(images, float(pixels.mean()))


TOY = Analysis(
    name="mean-ink",
    title="Mean ink",
    about="how much of each test image is ink",
    parameters=(parameter("images", int, 10, "test images to average", minimum=1, maximum=100),),
    compute=mean_ink,
)


@pytest.fixture()
def toy():
    register(TOY)
    yield TOY
    unregister(TOY.name)


def test_a_toy_analysis_is_a_command_with_its_declared_options(toy, trained_home, capsys):
    assert "mean-ink" in build_parser().format_help()
    assert main(["--home", str(trained_home), "mean-ink", "--images", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["images"] == 5 and 0 < out["mean_ink"] < 1
    assert main(["--home", str(trained_home), "mean-ink", "--images", "5"]) == 0
    assert "the first 5 test images are" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:  # the declared bounds are the option's
        main(["--home", str(trained_home), "mean-ink", "--images", "101"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--images: 101 is not a whole number from 1 to 100" in err and len(err.splitlines()) == 1


def test_a_toy_analysis_has_a_screen_in_the_app(toy, trained_home, tiny_folder):
    from textual.widgets import Input, OptionList

    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            home = app.screen
            entry = next(e for e in home.experiments if e.analysis == "mean-ink")
            titles = [str(o.prompt) for o in home.query_one("#experiments", OptionList).options]
            assert any("Mean ink" in t for t in titles)
            await pilot.press(entry.key)
            assert type(app.screen).__name__ == "AnalysisScreen"
            summary = app.screen.query_one("#analysis-summary")
            assert await wait_for(pilot, lambda: "first 10 test images" in text_of(summary))
            field = app.screen.query_one("#parameter-images", Input)
            field.value = "3"
            field.focus()
            await pilot.press("enter")
            assert await wait_for(pilot, lambda: "first 3 test images" in text_of(summary))
            field.value = "500"  # outside the declared bounds: said, not run
            await pilot.press("enter")
            await pilot.pause(0.2)
            status = text_of(app.screen.query_one(".status"))
            assert "images: 500 is not a whole number from 1 to 100" in status

    asyncio.run(scenario())


def test_a_toy_analysis_has_a_section_in_the_report(toy, trained_home, tmp_path, monkeypatch):
    import engine.report.build as build

    monkeypatch.setattr(build, "SECTIONS", (("data", basics.data),
                        ("other analyses", partial(declared.sections, drawn=DRAWN))))  # fmt: skip
    report = build_report(trained_home)
    section = next(s for s in report.sections if s.key == "mean-ink")
    number = report.sections.index(section) + 1  # after the data and the built-in analyses
    assert section.title == "Mean ink" and section.number == f"{number}." and number > 1
    text = write_report(report, tmp_path / "r.md", "md").read_text()
    assert f"## {number}. Mean ink" in text and "the first 10 test images are" in text
    assert "images 10" in text  # the settings it ran with, from the declaration


def test_the_built_in_commands_take_their_options_from_the_declarations(capsys):
    parser = build_parser()
    robustness = parser.parse_args(["robustness"])
    assert robustness.eps == ROBUSTNESS.default("eps")
    assert robustness.queries == ROBUSTNESS.default("queries")
    targeted = parser.parse_args(["attack", "targeted", "--target", "3"])
    assert targeted.image == ANALYSES["targeted"].default("image")
    for analysis in ANALYSES.values():
        words = [*analysis.command.split(), "--help"]
        with pytest.raises(SystemExit):
            parser.parse_args(words)
        shown = " ".join(capsys.readouterr().out.split())
        for spec in analysis.parameters:
            assert spec.flag in shown
            if spec.kind in (int, float):  # choices and switches: argparse shows them itself
                assert " ".join(spec.rule().split()) in shown


def test_each_shared_table_is_laid_out_once():
    """The runs, epoch and robustness tables: one column list each (engine.columns), whose
    labels the CLI and the app both show."""
    from engine.columns import EPOCH_COLUMNS, ROBUSTNESS_COLUMNS, RUN_COLUMNS
    from engine.runs import RunSummary
    from tui.draw.tables import epoch_line, run_columns, runs_table

    run = RunSummary("20260101-000000-convnet-abcd", "", "convnet", "finished", 3, 3, 0.99, 0.98,
                     0.1, 12.0, 1.0, "01-01 00:00", defence="pgd", robust_val_accuracy=0.5)  # fmt: skip
    header = runs_table([run]).plain.splitlines()[0].split("  ")
    assert [h.strip() for h in header if h.strip()] == [c.label for c in RUN_COLUMNS] + ["disk"]
    app = [label for label, _, _ in run_columns(400, defended=True)]
    assert app == ["run"] + [c.label for c in RUN_COLUMNS][1:]  # a name or its id: the run
    assert {c.label for c in ROBUSTNESS_COLUMNS} >= {"eps", "under attack", "robust to eps"}
    assert [c.label for c in EPOCH_COLUMNS][:4] == ["epoch", "train loss", "val loss", "val acc"]
    from engine import events as ev

    epoch = ev.EpochEvaluated(epoch=2, epochs=3, train_loss=0.5, val_loss=0.4, val_accuracy=0.9,
                              best_val_accuracy=0.9, lr=0.1, seconds=3.0, images_per_s=1000.0)  # fmt: skip
    line = epoch_line(epoch)  # the CLI's line: the app table's labels and values, one layout
    for column in EPOCH_COLUMNS:
        value = column.value(epoch)
        if value != "-":
            assert (f"{value} {column.unit}" if column.unit else f"{column.label} {value}") in line
    assert "robust val" not in line  # a clean run's unknown values are left out
