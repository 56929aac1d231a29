"""Breaking it: synthesis, targeted, noise, FGSM, PGD and the robustness curve."""

from __future__ import annotations

import pytest
import torch

from engine import events as ev
from engine.attacks.catalogue import FGSM, PGD
from engine.attacks.noise import noise_table
from engine.attacks.robustness import robustness_curve
from engine.attacks.start import gaussian_pixels
from engine.attacks.synthesis import synthesize_classes
from engine.attacks.targeted import targeted_image
from engine.errors import SettingError
from engine.pixels import PixelModel, to_pixels


def test_synthesis_raises_the_target_logit(tiny_model):
    start = PixelModel(tiny_model)(gaussian_pixels(3, seed=0)).detach()
    seen = []
    result = synthesize_classes(tiny_model, [0, 4, 9], steps=60, seed=0, emit=seen.append)
    for i, k in enumerate([0, 4, 9]):
        assert result.logits[i] > start[i, k] + 1.0
    assert result.images.min() >= 0 and result.images.max() <= 1  # clamped by default
    assert isinstance(seen[-1], ev.AttackStepped) and seen[-1].step == 60
    # step 0 is the starting noise; the last point of the curve is the final image's logit
    assert result.curve_steps[0] == 0 and result.curve_steps[-1] == 60
    assert result.logit_curve[0] == pytest.approx(start[[0, 1, 2], [0, 4, 9]].tolist(), abs=1e-4)
    assert result.logit_curve[-1] == result.logits


def test_l2_synthesis_starts_grey_and_raises_the_target_logit(tiny_model):
    result = synthesize_classes(tiny_model, [1, 7], steps=1, seed=0, method="l2", step_size=0.5)
    moved = result.images - synthesize_classes(tiny_model, [1, 7], steps=1, seed=0,
                                               method="l2", step_size=1e-9).images  # fmt: skip
    # one L2 step of 0.5 (less where clamping cut it), from a start near mid-grey
    assert moved.flatten(1).norm(dim=1).max() <= 0.5 + 1e-4
    more = synthesize_classes(tiny_model, [1, 7], steps=40, seed=0, method="l2")
    assert all(b > a for a, b in zip(more.logit_curve[0], more.logits, strict=True))
    assert 0.3 < result.images.mean() < 0.7
    with pytest.raises(SettingError, match="method"):
        synthesize_classes(tiny_model, [1], steps=1, method="l1")


def test_targeted_reaches_the_target_and_reports_the_step(tiny_model, tiny_splits):
    index = int((tiny_splits.test.labels == 2).nonzero()[0])
    result = targeted_image(tiny_model, tiny_splits.test.images[index], target=9, steps=200)
    assert result.predicted == 9 and result.probability > 0.5
    assert result.crossed_at is not None and 0 <= result.crossed_at <= 200
    assert result.probability_curve[-1] == result.probability > 0.5
    crossed = next(
        s for s, p in zip(result.curve_steps, result.probability_curve, strict=True) if p > 0.5
    )
    assert result.crossed_at <= crossed  # the curve is recorded every 10 steps
    assert result.mse > 0


def test_noise_reaches_targets_and_measures_the_noise(tiny_model, tiny_splits):
    result = noise_table(
        tiny_model, tiny_splits.test, sources=[1, 3], targets=[3, 8], max_steps=300
    )
    assert [(s, t) for s, t in zip(result.sources, result.targets, strict=True)] == [
        (1, 3),
        (1, 8),
        (3, 8),
    ]
    for row in range(3):
        assert result.steps[row] is not None and result.steps[row] >= 1
        assert result.predicted[row] == result.targets[row]
        assert 0 < result.linf[row] <= 1 and result.l2[row] >= result.linf[row]
    assert torch.all(result.adversarial >= 0) and torch.all(result.adversarial <= 1)


def batch(tiny_splits, n=60):
    return to_pixels(tiny_splits.test.images[:n]), tiny_splits.test.labels[:n]


def test_fgsm_with_eps_zero_changes_nothing(tiny_model, tiny_splits):
    images, labels = batch(tiny_splits)
    assert torch.equal(FGSM(tiny_model, 0.0)(images, labels), images)
    assert torch.equal(PGD(tiny_model, 0.0)(images, labels), images)


def test_attacks_stay_in_the_ball_and_in_range(tiny_model, tiny_splits):
    images, labels = batch(tiny_splits)
    for attack in (FGSM(tiny_model, 0.1), PGD(tiny_model, 0.1, 0.02, 10, random_start=True)):
        adversarial = attack(images, labels)
        assert (adversarial - images).abs().max() <= 0.1 + 1e-6
        assert adversarial.min() >= 0 and adversarial.max() <= 1


def test_accuracy_never_rises_with_eps(tiny_model, tiny_splits):
    eps = [0, 0.05, 0.1, 0.2, 0.3]
    for attack in ("fgsm", "pgd"):
        points = robustness_curve(
            tiny_model, tiny_splits.test, eps, attack, limit=60, steps=10, alpha=0.02
        )
        robust = [p.robust_accuracy for p in points]
        assert robust == sorted(robust, reverse=True)
        assert points[0].accuracy == points[0].robust_accuracy  # eps 0: the clean accuracy
    clean = (
        (PixelModel(tiny_model)(batch(tiny_splits)[0]).argmax(1) == batch(tiny_splits)[1])
        .float()
        .mean()
    )
    assert points[0].accuracy == pytest.approx(clean.item())
    assert points[-1].accuracy < points[0].accuracy  # PGD at 0.3 breaks the tiny model


def test_every_attack_is_a_registered_class_with_one_call_shape(tiny_model, tiny_splits):
    from engine.analyses import ANALYSES
    from engine.attacks.catalogue import ATTACKS, make_attack

    choices = next(p for p in ANALYSES["robustness"].parameters if p.name == "attack").choices
    assert list(choices) == list(ATTACKS) and all(a.about for a in ATTACKS.values())
    images = to_pixels(tiny_splits.test.images[:12])
    labels = tiny_splits.test.labels[:12]
    params = dict(steps=3, alpha=0.05, random_start=True, restarts=1, targets=2, queries=20)
    for name in ATTACKS:
        attack = make_attack(name, tiny_model, 0.2, **params)
        adversarial = attack(images, labels)
        assert adversarial.shape == images.shape, name
        assert (adversarial - images).abs().max() <= 0.2 + 1e-6, name
        assert adversarial.min() >= 0 and adversarial.max() <= 1, name
    worst = make_attack("worst", tiny_model, 0.2, **{**params, "queries": 0})
    assert [part.name for part in worst.parts] == ["fgsm", "pgd", "apgd-ce", "apgd-dlr", "apgd-t"]


@pytest.fixture()
def nudge():
    """A toy attack, added the way docs/architecture.md says an attack is: one class in the
    catalogue's shape, registered by name; for one test. Every pixel pushed eps from grey."""
    from engine.attacks.catalogue import ATTACKS, Attack, registered

    class NudgeAttack(Attack):
        name = "nudge"
        about = "every pixel pushed eps away from mid-grey (a toy)"
        restartable = False

        def attempt(self, images, labels, indices, restart):
            x = (images + self.eps * torch.sign(images - 0.5)).clamp(0, 1)
            return self.right(x, labels), x

    registered(NudgeAttack)
    yield NudgeAttack
    ATTACKS.pop("nudge")


def test_a_toy_attack_is_a_choice_in_the_cli_and_the_app_with_no_other_edit(
    nudge, trained_home, tiny_folder, capsys
):
    import asyncio
    import json

    from tests.app_setup import text_of, tiny_app, wait_for
    from tui.cli.main import build_parser, main

    robustness = ["--home", str(trained_home), "robustness", "--attack", "nudge",
                  "--eps", "0,0.3", "--limit", "20"]  # fmt: skip
    assert main([*robustness, "--json"]) == 0
    points = json.loads(capsys.readouterr().out)
    assert [p["eps"] for p in points] == [0, 0.3] and all(p["attack"] == "nudge" for p in points)
    assert main(robustness) == 0
    assert "Robustness under NUDGE on 20 test images" in capsys.readouterr().out
    parser = build_parser()
    helps = parser._subparsers._group_actions[0].choices["robustness"].format_help()
    assert "nudge" in helps  # a choice of --attack

    async def scenario():
        app = tiny_app(trained_home, tiny_folder, givens={"robustness": {"limit": 10}})
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("r")
            title = app.screen.query_one("#rob-title")
            assert await wait_for(pilot, lambda: text_of(title).startswith("FGSM"))
            for _ in range(20):  # a cycles through every registered attack, nudge included
                await pilot.press("a")
                if text_of(title).startswith("NUDGE"):
                    return True
        return False

    assert asyncio.run(scenario())
