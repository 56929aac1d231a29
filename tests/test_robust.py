"""Robust training and the evaluation that checks it: defences raise robust accuracy, the
best checkpoint is the most robust, a collapse is reported, APGD agrees with torchattacks,
and the worst-case evaluation is never kinder than any single attack."""

from __future__ import annotations

import pytest
import torch

from engine import events as ev
from engine.attacks.apgd import apgd, checkpoints
from engine.attacks.robustness import robustness_curve
from engine.config import SETTING, TrainConfig
from engine.pixels import PixelModel, to_pixels
from engine.training import robust as robust_training
from engine.training.loop import train
from tests.optional import needs

# no eps warm-up: on 18 batches an epoch the tiny set learns best at full eps from the start
# The tiny set's recipe, schedule included: FGSM-RS on these synthetic blocks at eps 0.3 is
# erratic under either schedule (measured: cosine 0.9/0.1 and one-cycle 0.1/0.3 test accuracy
# without/with the eps warm-up), so the tests of the mechanics fix one; what the default
# (one-cycle for fgsm-rs) does on real MNIST is measured in docs/results.md.
TINY = dict(
    epochs=4, batch_size=20, lr=0.05, device="cpu", eps=0.3, eps_warmup=0, schedule="cosine"
)


def robust_test_accuracy(model, split) -> float:
    return robust_training.robust_accuracy(model.eval(), split, 0.3)


def test_adversarial_training_raises_robust_accuracy(tiny_splits):
    plain = train(TrainConfig(**TINY), tiny_splits).model
    defended = train(TrainConfig(**TINY, adversarial="pgd", adv_steps=5), tiny_splits).model
    assert (
        robust_test_accuracy(defended, tiny_splits.test)
        > robust_test_accuracy(plain, tiny_splits.test) + 0.2
    )


@pytest.mark.parametrize("defence", ["fgsm-rs", "trades"])
def test_each_defence_trains_and_reports_robust_validation(tiny_splits, defence):
    seen: list[ev.Event] = []
    config = TrainConfig(**TINY, adversarial=defence, adv_steps=3)
    result = train(config, tiny_splits, seen.append)
    epochs = [e for e in seen if isinstance(e, ev.EpochEvaluated)]
    assert all(e.robust_val_accuracy is not None for e in epochs)
    assert result.test_accuracy > 0.5
    finished = seen[-1]
    assert isinstance(finished, ev.RunFinished)
    assert finished.best_robust_val_accuracy == max(e.robust_val_accuracy for e in epochs)


def test_the_best_checkpoint_is_the_most_robust_and_a_collapse_is_reported(
    tiny_splits, tmp_path, monkeypatch
):
    # a constructed run whose robust validation accuracy rises, then collapses
    robust = iter([0.40, 0.70, 0.30, 0.35])
    monkeypatch.setattr("engine.training.loop.robust_accuracy", lambda *a, **k: next(robust))
    seen: list[ev.Event] = []
    config = TrainConfig(**TINY, adversarial="fgsm-rs")
    result = train(config, tiny_splits, seen.append, checkpoint_dir=tmp_path)
    assert result.best_epoch == 2
    collapses = [e for e in seen if isinstance(e, ev.RobustnessCollapsed)]
    assert [c.epoch for c in collapses] == [3, 4]
    assert collapses[0].best_epoch == 2 and collapses[0].best_robust_val_accuracy == 0.70
    saved = [e.epoch for e in seen if isinstance(e, ev.CheckpointSaved) and e.kind == "best"]
    assert saved == [1, 2]
    assert seen[-1].best_robust_val_accuracy == 0.70


def test_old_event_logs_without_robust_fields_still_read():
    line = ev.event_to_json(
        ev.EpochEvaluated(
            epoch=1,
            epochs=2,
            train_loss=1.0,
            val_loss=1.0,
            val_accuracy=0.5,
            best_val_accuracy=0.5,
            lr=0.1,
            seconds=1.0,
            images_per_s=10.0,
        )  # fmt: skip
    )
    old = line.replace(',"robust_val_accuracy":null,"best_robust_val_accuracy":null', "")
    assert "robust" not in old
    assert ev.event_from_json(old).robust_val_accuracy is None
    measured = '{"event":"RobustnessMeasured","time":1.0,"attack":"worst","eps":0.3,"accuracy":0.9,'
    measured += '"robust_accuracy":0.9,"images":10,"seconds":1.0,"images_per_s_per_step":5.0}'
    assert ev.event_from_json(measured).after_each == {}  # written before the breakdown existed


def test_the_defence_settings_are_declared_once_and_offered(capsys):
    from tui.cli.main import main

    for name in ("adversarial", "eps", "adv_steps", "adv_step_size", "trades_beta"):
        assert SETTING[name].in_form
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for flag in ("--adversarial", "--eps", "--adv-steps", "--adv-step-size", "--trades-beta"):
        assert flag in text
    assert TrainConfig(adversarial="fgsm-rs").attack_step_size() == pytest.approx(0.375)
    assert TrainConfig(adversarial="pgd", adv_steps=10).attack_step_size() == pytest.approx(0.075)


def test_apgd_checkpoints_follow_the_paper():
    # p0 = 0, p1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06)
    assert checkpoints(100) == [0, 22, 41, 57, 70, 80, 87, 93, 99]


def test_worst_is_never_kinder_than_any_single_attack(tiny_model, tiny_splits):
    eps = [0.1, 0.2]
    single = {}
    for attack in ("fgsm", "pgd", "apgd-ce", "apgd-dlr", "apgd-t", "square"):
        points = robustness_curve(tiny_model, tiny_splits.test, eps, attack, limit=40, steps=10,
                                  alpha=0.03, random_start=True, queries=100)  # fmt: skip
        single[attack] = [p.accuracy for p in points]
    worst = robustness_curve(tiny_model, tiny_splits.test, eps, "worst", limit=40, steps=10,
                             alpha=0.03, random_start=True, queries=100)  # fmt: skip
    for i, point in enumerate(worst):
        assert point.accuracy <= min(values[i] for values in single.values())
        # what is left after each attack in turn: never rising, ending at the result
        shares = list(point.after_each.values())
        assert list(point.after_each) == ["clean", "fgsm", "pgd", "apgd-ce", "apgd-dlr", "apgd-t",
                                          "square"]  # fmt: skip
        assert shares == sorted(shares, reverse=True) and abs(shares[-1] - point.accuracy) < 1e-6


def test_square_needs_no_gradient(tiny_model, tiny_splits):
    """A model whose input gradient is zero everywhere leaves every gradient attack
    powerless; the black-box Square Attack still breaks it."""

    class Masked(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model(x.detach() + 0 * x)  # the same output, a gradient of 0

    from engine.attacks.apgd import apgd
    from engine.attacks.square import square_attack

    model = Masked(PixelModel(tiny_model))
    images = to_pixels(tiny_splits.test.images[:30])
    labels = tiny_splits.test.labels[:30]
    gradient = apgd(model, images, labels, 0.3, 20, "ce", start=torch.zeros_like(images))[0]
    black_box = square_attack(model, images, labels, 0.3, queries=300)[0]
    assert black_box.float().mean() < gradient.float().mean()


def test_apgd_agrees_with_torchattacks(tiny_model, tiny_splits):
    torchattacks = needs("torchattacks")
    model = PixelModel(tiny_model)
    images = to_pixels(tiny_splits.test.images[:100])
    labels = tiny_splits.test.labels[:100]
    torch.manual_seed(0)  # our random starts, the same whatever ran before this test
    for loss in ("ce", "dlr"):
        for eps in (0.1, 0.2):
            ours = apgd(model, images, labels, eps, 50, loss, start=torch.rand_like(images))[0]
            reference = torchattacks.APGD(model, eps=eps, steps=50, loss=loss, seed=0)
            theirs = model(reference(images, labels)).argmax(1) == labels
            # each is a random-start attack from its own start: on 100 images at ~50%
            # accuracy two such runs differ by ~0.07 at two standard deviations; a wrong
            # implementation differs by far more (the attack fails or succeeds everywhere)
            assert abs(ours.float().mean() - theirs.float().mean()) <= 0.08, (loss, eps)


def test_a_collapse_says_what_happened_and_what_to_change():
    """Interval bound training diverging is not an attack's catastrophic overfitting: the
    warning says which, and names the setting to change."""
    from engine.training.loop import collapse_cause
    from tui.draw.tables import collapse_line

    def line(**settings) -> str:
        cause = collapse_cause(TrainConfig(**settings))
        return collapse_line(ev.RobustnessCollapsed(27, 0.074, 0.861, 13, cause))

    ibp = line(adversarial="ibp", eps=0.3, lr=0.01, eps_warmup=15)
    assert "diverged" in ibp and "--lr (now 0.01)" in ibp and "--eps-warmup (now 15)" in ibp
    assert "catastrophic" not in ibp and "epoch 13's" in ibp
    assert "catastrophic overfitting" in line(adversarial="fgsm-rs", eps=0.3)
