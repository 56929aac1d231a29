"""The report: its sections and numbers come from the runs, it is the same twice, its
Markdown has its figures, bad runs get one-line errors, and it opens in a real browser with
every picture decoded, no console error and no request."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from engine import runs
from engine.analyses.attacks import NOISE, ROBUSTNESS, SYNTHESIZE, TARGETED
from engine.report import build_report, write_report
from engine.report.html import png_size
from tests.optional import needs
from tui.cli.main import main


@pytest.fixture(scope="module", autouse=True)
def short_analyses():
    """The report's analyses with fewer steps and images: the same code, a tenth the time."""
    with pytest.MonkeyPatch.context() as patch:
        for analysis, values in ((SYNTHESIZE, {"steps": 200}), (TARGETED, {"steps": 300}),
                                 (NOISE, {"max_steps": 200}), (ROBUSTNESS, {"limit": 30})):  # fmt: skip
            patch.setitem(analysis.givens, "report", {**analysis.givens["report"], **values})
        yield


@pytest.fixture(scope="module")
def report(trained_home):
    return build_report(trained_home)


@pytest.fixture(scope="module")
def html_file(report, tmp_path_factory) -> Path:
    return write_report(report, tmp_path_factory.mktemp("report") / "report.html", "html")


def test_sections_and_numbers_come_from_the_run(report, trained_home):
    summary = runs.summarize(runs.find_run(trained_home, "latest"))
    keys = [s.key for s in report.sections]
    for key in ("data", "networks", "training", "test", "predictions", "filters", "occlusion",
                "synthesis", "targeted", "noise", "robustness", "attribution"):  # fmt: skip
        assert key in keys
    through = next(s for s in report.sections if s.key == "through-training")
    assert [b.name for b in through.blocks if hasattr(b, "png")] == [
        "through-filters", "through-occlusion", "through-confusion", "through-weights",
        "through-gradients",
    ]  # fmt: skip
    assert "at 5 of the 5 moments it kept (start, batch:10, epoch:1, epoch:2, epoch:3" in (
        through.blocks[0].text
    )
    assert "batchnorm" not in keys  # one model only: no comparison to make
    assert "defences" not in keys and "study" not in keys
    training = next(s for s in report.sections if s.key == "training")
    recipe, table = training.blocks[1], training.blocks[2]
    assert "3 epochs, batches of 20, learning rate 0.05" in recipe.text  # the run's own
    assert table.rows[0][1] == summary.id
    assert table.rows[0][8] == f"{summary.test_accuracy:.2%}"
    data = next(s for s in report.sections if s.key == "data").blocks[2]
    assert [row[-1] for row in data.rows] == ["360", "40", "100"]  # the tiny set's split
    numbers = [s.number for s in report.sections]
    assert numbers[:5] == ["1.", "2.", "3.", "3.1", "4."]  # counted in order, none skipped
    for section in report.sections:
        for block in section.blocks:
            if hasattr(block, "png"):
                assert block.png.startswith(b"\x89PNG") and block.alt
                assert min(png_size(block.png)) > 50


def test_the_html_is_self_contained_and_the_same_twice(report, html_file, trained_home, tmp_path):
    text = html_file.read_text()
    assert "<script" not in text
    assert not re.search(r"(src|href)=\"(https?:)?//", text)  # nothing fetched from anywhere
    images = re.findall(r"<img [^>]*>", text)
    assert len(images) == report.figures and all('alt="' in i for i in images)
    assert html_file.stat().st_size < 5_000_000
    again = write_report(build_report(trained_home), tmp_path / "again.html", "html")
    # byte for byte, pictures included
    assert again.read_bytes() == html_file.read_bytes()


def test_markdown_comes_with_its_figures(report, tmp_path):
    path = write_report(report, tmp_path / "study.md", "md")
    text = path.read_text()
    linked = re.findall(r"!\[[^\]]+\]\((study_files/[^)]+)\)", text)
    assert len(linked) == report.figures
    for link in linked:
        assert (tmp_path / link).read_bytes().startswith(b"\x89PNG")
    assert "| split |" in text


def test_bad_runs_get_one_line_errors(trained_home, tmp_path, capsys):
    home = str(trained_home)
    assert main(["--home", home, "report", "no-such-run", "-o", str(tmp_path / "r.html")]) == 2
    assert "no-such-run" in capsys.readouterr().err
    damaged = runs.runs_folder(trained_home) / "damaged-run"
    damaged.mkdir()
    (damaged / "config.json").write_text("[1]")
    try:
        assert main(["--home", home, "report", "damaged-run", "-o", str(tmp_path / "r.html")]) == 2
        error = capsys.readouterr().err
        assert "damaged" in error and "Traceback" not in error
    finally:
        shutil.rmtree(damaged)
    assert not (tmp_path / "r.html").exists()
    empty = tmp_path / "empty-home"
    assert main(["--home", str(empty), "report"]) == 2
    assert "train one first" in capsys.readouterr().err


def test_the_app_makes_a_report_of_the_run_under_the_cursor(trained_home, tiny_folder):
    import asyncio

    from tests.app_setup import text_of, tiny_app, wait_for

    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("3")  # the runs screen
            await pilot.pause(0.5)
            await pilot.press("R")
            status = app.screen.query_one(".status")
            assert await wait_for(pilot, lambda: "report written to" in text_of(status), 120)
            path = text_of(status).split("report written to ")[1].split(" (")[0]
            assert Path(path).is_file() and Path(path).parent == trained_home / "reports"

    asyncio.run(scenario())


def test_the_report_opens_in_chromium(html_file, tmp_path):
    sync_api = needs("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        assert not os.environ.get("MNIST_TUI_STRICT"), ".ci/run installs Debian's chromium"
        pytest.skip("no chromium here (.ci/run installs Debian's)")
    errors, requests = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 1400})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html_file.as_uri())
        page.wait_for_load_state("load")
        decoded = page.evaluate(
            "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
        )
        page.screenshot(path=str(tmp_path / "first-screen.png"))
        browser.close()
    assert decoded and all(decoded)
    assert errors == []
    assert [r for r in requests if r != html_file.as_uri() and not r.startswith("data:")] == []
    assert (tmp_path / "first-screen.png").stat().st_size > 10_000


def test_the_study_document_is_split_once_for_the_app_and_the_report():
    from engine.study_text import study_paragraphs, study_sections

    sections = study_sections()
    assert {str(n) for n in range(1, 8)} <= set(sections)  # what `i` opens, by section
    assert sections["3"].startswith("## 3.") and "## 4." not in sections["3"]
    first = study_paragraphs(3)[0]  # what the report quotes: no heading, one paragraph
    assert first.startswith("Stochastic gradient descent") and "\n" not in first


def test_a_weak_run_still_gets_its_report_with_each_missing_section_explained(
    tiny_folder, tmp_path, capsys
):
    """Two batches at a tiny learning rate: the network calls almost everything one digit,
    so there is no correctly classified image to add noise to — that section says why, and
    the rest of the report is made and written."""
    home = tmp_path / "home"
    argv = ["--home", str(home), "train", "--data", str(tiny_folder), "--epochs", "1",
            "--batch-size", "200", "--lr", "0.0001", "--device", "cpu", "--json"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    out = tmp_path / "weak.html"
    assert main(["--home", str(home), "report", "latest", "-o", str(out)]) == 0
    text = out.read_text()
    assert "not made" in text and "could not be made from these runs" in text
    assert "Adding noise: not made" in text
    assert "Training" in text  # the sections it could make are there


def test_the_default_report_takes_the_latest_finished_run_of_each_network(
    trained_home, tiny_folder, tmp_path, capsys
):
    """After the README's first command (a fastnet run alone) the report has a run to make;
    with several networks the study's two come first; refusals say what is missing."""
    from engine.report.context import default_runs

    home = tmp_path / "home"
    train = ["--home", str(home), "train", "--data", str(tiny_folder), "--device", "cpu"]
    assert main([*train, "--recipe", "fast"]) == 0
    fast = runs.find_run(home, "latest")
    assert default_runs(home) == [fast]  # it said "no finished run" before
    plain = runs.runs_folder(home) / runs.find_run(trained_home, "latest").name
    shutil.copytree(runs.find_run(trained_home, "latest"), plain)
    assert [d.name for d in default_runs(home)] == [plain.name, fast.name]  # convnet first
    capsys.readouterr()
    assert main(["--home", str(tmp_path / "empty"), "report"]) == 2
    assert "no runs in" in capsys.readouterr().err
    stopped = tmp_path / "stopped"
    shutil.copytree(fast, runs.runs_folder(stopped) / fast.name)
    from tests.test_bad_inputs import make_stopped

    make_stopped(runs.runs_folder(stopped) / fast.name)
    assert main(["--home", str(stopped), "report"]) == 2
    err = capsys.readouterr().err
    assert "no finished run" in err and "1 stopped" in err


def test_the_report_looks_deeper_with_pictures(report):
    from engine.report.document import Figure

    sections = {s.key: s for s in report.sections}
    for key, figures in (("top-images", {"top-images"}), ("embedding", {"embedding"}),
                         ("confusions", {"confusion-matrix"})):  # fmt: skip
        shown = {b.name for b in sections[key].blocks if isinstance(b, Figure)}
        assert figures <= shown, (key, shown)


def test_the_batchnorm_comparison_shows_what_each_network_learned(trained_home, tiny_folder,
                                                                  tmp_path):  # fmt: skip
    """The study's two networks side by side: each one's map of the test images (its own
    PCA, its silhouette), as `embedding A --vs B` prints them."""
    from engine.report.context import Context, report_run
    from engine.report.document import Figure, Text
    from engine.report.sections.basics import batchnorm

    home = tmp_path / "home"
    plain = runs.runs_folder(home) / runs.find_run(trained_home, "latest").name
    shutil.copytree(runs.find_run(trained_home, "latest"), plain)
    assert main(["--home", str(home), "train", "--model", "convnet-bn", "--data",
                 str(tiny_folder), "--epochs", "1", "--batch-size", "20", "--device", "cpu",
                 "--snapshots", "none"]) == 0  # fmt: skip
    normed = runs.find_run(home, "latest")
    section = batchnorm(Context(home, [report_run(plain), report_run(normed)]))
    figure = next(b for b in section.blocks if isinstance(b, Figure))
    assert figure.name == "batchnorm-embedding" and png_size(figure.png)[0] > 600
    said = " ".join(b.text for b in section.blocks if isinstance(b, Text))
    assert f"embedding {plain.name} --vs {normed.name}" in said
    assert re.search(r"convnet \w+ -?\d\.\d{3}, convnet-bn \w+ -?\d\.\d{3}", said), said


def test_the_report_goes_beyond_the_clean_test_set_and_proves(report):
    """Calibration as reliability diagrams with the fitted temperature, the turned digits as
    curves, MNIST-C's corruptions as bars and a gallery, and under PGD the band down to
    what interval bounds prove — every number from the run."""
    from engine.report.document import Figure, Table

    sections = {s.key: s for s in report.sections}
    for key, names in (("calibration", {"reliability"}), ("shift", {"shift-rotate"}),
                       ("corruptions", {"corruptions", "corruption-gallery"}),
                       ("robustness", {"robustness-curves"})):  # fmt: skip
        assert key in sections, key
        assert names <= {b.name for b in sections[key].blocks if isinstance(b, Figure)}, key
    (calibration,) = [b for b in sections["calibration"].blocks if isinstance(b, Table)]
    assert [row[1] for row in calibration.rows][0] == "as trained"
    assert calibration.rows[1][1].startswith("T = ")
    (shift,) = [b for b in sections["shift"].blocks if isinstance(b, Table)]
    assert shift.header[2:] == ["0°", "30°", "60°", "90°", "120°", "150°", "180°"]
    (corrupt,) = [b for b in sections["corruptions"].blocks if isinstance(b, Table)]
    assert corrupt.header[3:5] == ["shot_noise", "impulse_noise"] and len(corrupt.header) == 18
    (band,) = [b for b in sections["robustness"].blocks if isinstance(b, Table)]
    proven = [row for row in band.rows if row[1] == "proven"]
    attacked = [row for row in band.rows if row[1] == "PGD"]
    assert len(proven) == len(attacked) == 1
    for low, high in zip(proven[0][2:], attacked[0][2:], strict=True):
        assert float(low.rstrip("%")) <= float(high.rstrip("%"))  # proven never above attacked
    assert "certify" not in sections and "ensemble" not in sections  # drawn above; one run
