"""The test set under shift: rotating by 0 or moving by 0 pixels is the clean set; a trained
network is less right at 90 degrees than at 0; the images keep their range; bad requests are
one line."""

from __future__ import annotations

import json

import pytest
import torch

from engine import runs
from engine.beyond.shift import amounts, rotated, shift_of, translated
from engine.subject import Subjects
from tui.cli.main import main


def test_no_shift_is_the_clean_set_and_shifts_change_the_images(trained_home):
    subject = Subjects(trained_home).get(runs.find_run(trained_home, "latest"))
    images = subject.test.images
    assert torch.equal(rotated(images, 0), images) and torch.equal(translated(images, 0), images)
    turned, moved = rotated(images, 45), translated(images, 3)
    assert turned.dtype == moved.dtype == torch.uint8 and turned.shape == images.shape
    assert not torch.equal(turned, images) and not torch.equal(moved, images)
    assert torch.equal(moved[..., 3:], images[..., :-3]) and moved[..., :3].max() == 0
    curve = shift_of(subject, rotate=90, translate=None, step=90)
    assert [p.amount for p in curve.points] == [0, 90]
    from engine.beyond.calibration import logits_of

    clean = (
        (logits_of(subject.model, images).argmax(1) == subject.test.labels).float().mean().item()
    )
    assert curve.points[0].accuracy == pytest.approx(clean)
    assert curve.points[1].accuracy < curve.points[0].accuracy


def test_amounts_reach_the_most_asked():
    assert amounts(180, 15)[-1] == 180 and len(amounts(180, 15)) == 13
    assert amounts(14, 4) == [0, 4, 8, 12, 14]


def test_the_shift_command(trained_home, capsys):
    assert main(["--home", str(trained_home), "shift", "latest", "--translate", "6", "--json"]) == 0
    curve = json.loads(capsys.readouterr().out)
    assert curve["kind"] == "translate" and [p["amount"] for p in curve["points"]] == [0, 2, 4, 6]
    assert main(["--home", str(trained_home), "shift", "latest", "--rotate", "60", "--step",
                 "30"]) == 0  # fmt: skip
    assert "mean confidence" in capsys.readouterr().out
    assert main(["--home", str(trained_home), "shift", "latest", "--rotate", "60",
                 "--translate", "4"]) == 2  # fmt: skip
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "not both" in errors[0]
