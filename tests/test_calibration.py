"""Calibrated confidence: ECE is about 0 for a predictor whose confidence is its accuracy and
large for an over-confident one; temperature scaling keeps every prediction and lowers the
validation NLL; the command shows the reliability diagram and its figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine import runs
from engine.beyond.calibration import calibration, fit_temperature
from engine.subject import Subjects
from tui.cli.main import main


def synthetic(honesty: float, count: int = 40_000, seed: int = 0):
    """Logits whose top class has probability c (uniform in 0.2-1) and is right with
    probability ``honesty`` x c."""
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(0.2, 1.0, count)
    rest = (1 - confidence) / 9
    probabilities = np.repeat(rest[:, None], 10, axis=1)
    probabilities[:, 0] = confidence
    right = rng.uniform(size=count) < honesty * confidence
    labels = np.where(right, 0, rng.integers(1, 10, count))
    return torch.from_numpy(np.log(probabilities)), torch.from_numpy(labels)


def test_ece_is_about_zero_when_confidence_is_accuracy_and_large_when_over_confident():
    honest = calibration(*synthetic(1.0))
    assert honest.ece < 0.01
    assert all(abs(b.accuracy - b.confidence) < 0.03 for b in honest.bins if b.count > 1000)
    boastful = calibration(*synthetic(0.6))
    assert boastful.ece > 0.2 and boastful.mce > boastful.ece
    assert sum(b.count for b in boastful.bins) == 40_000


def test_temperature_scaling_keeps_predictions_and_lowers_the_validation_nll(trained_home):
    subject = Subjects(trained_home).get(runs.find_run(trained_home, "latest"))
    from engine.beyond.calibration import logits_of

    val_logits = logits_of(subject.model, subject.val.images)
    t = fit_temperature(val_logits, subject.val.labels)
    assert t > 0
    assert torch.equal((val_logits / t).argmax(1), val_logits.argmax(1))
    before = torch.nn.functional.cross_entropy(val_logits, subject.val.labels)
    after = torch.nn.functional.cross_entropy(val_logits / t, subject.val.labels)
    assert after <= before + 1e-6


def test_the_calibration_command(trained_home, capsys):
    assert main(["--home", str(trained_home), "calibration", "latest", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["before"]["accuracy"] == pytest.approx(result["after"]["accuracy"])
    assert result["val_nll_after"] <= result["val_nll_before"] + 1e-9
    assert len(result["before"]["bins"]) == 10
    assert main(["--home", str(trained_home), "calibration", "latest", "--bins", "5"]) == 0
    out = capsys.readouterr().out
    assert "reliability" in out and "ECE" in out and "T = " in out


def test_predict_shows_calibrated_probabilities_on_request(trained_home, capsys):
    def shown(*more: str) -> list[dict]:
        assert main(["--home", str(trained_home), "predict", "latest", "--image", "0,1,2",
                     "--json", *more]) == 0  # fmt: skip
        return json.loads(capsys.readouterr().out)

    plain, fitted, cooler = shown(), shown("--temperature", "fit"), shown("--temperature", "2")
    assert [p["predicted"] for p in plain] == [p["predicted"] for p in fitted]
    assert all(c["probability"] < p["probability"] for c, p in zip(cooler, plain, strict=True))
    assert main(["--home", str(trained_home), "predict", "latest", "--image", "0",
                 "--temperature", "-1"]) == 2  # fmt: skip
    assert "not a number above 0 or 'fit'" in capsys.readouterr().err
