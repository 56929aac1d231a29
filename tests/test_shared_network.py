"""One network, many workers: the app hands a run's network to every screen that analyses
it, so no analysis may change it. An attack works on its own copy (frozen, channels-last);
the histograms' weight gradients are asked of autograd. The defect this keeps away: the
Robustness screen's attack, cancelled with Escape, was still inside the shared network with
its weights frozen when the histograms screen opened, which showed only "RuntimeError:
element 0 of tensors does not require grad"."""

from __future__ import annotations

import asyncio
import threading

import torch

from engine import runs
from engine.pixels import to_pixels
from engine.subject import Subjects
from tests.app_setup import text_of, tiny_app, wait_for


def network_state(model: torch.nn.Module) -> list[tuple]:
    """What an analysis could change: each parameter's autograd flag, layout and values,
    and the mode of each module."""
    return [(name, p.requires_grad, p.is_contiguous(), float(p.detach().double().sum()))
            for name, p in model.named_parameters()] + [
        (name, m.training) for name, m in model.named_modules()]  # fmt: skip


def test_an_attack_leaves_the_network_it_is_handed_as_it_was(trained_home):
    from engine.attacks.catalogue import ATTACKS

    subject = Subjects(trained_home).get(runs.find_run(trained_home, "latest"))
    before = network_state(subject.model)
    images, labels = to_pixels(subject.test.images[:20]), subject.test.labels[:20]
    for name in ("pgd", "fgsm", "apgd-ce"):
        attack = ATTACKS[name](subject.model, 0.1)
        attack.right_after(images, labels, torch.arange(20))
        assert network_state(subject.model) == before, name


def test_histograms_while_an_attack_runs_on_the_same_network(trained_home):
    from engine.attacks.catalogue import ATTACKS
    from engine.inside.histograms import histograms_of

    subject = Subjects(trained_home).get(runs.find_run(trained_home, "latest"))
    inside = threading.Event()
    done = threading.Event()

    def attack() -> None:
        pgd = ATTACKS["pgd"](subject.model, 0.3)
        original = pgd.attempt

        def slow_attempt(*args, **kwargs):
            inside.set()  # the attack is inside its network now: stay a while
            done.wait(30)
            return original(*args, **kwargs)

        pgd.attempt = slow_attempt
        pixels = to_pixels(subject.test.images[:10])
        pgd.right_after(pixels, subject.test.labels[:10], torch.arange(10))

    worker = threading.Thread(target=attack)
    worker.start()
    try:
        assert inside.wait(30)
        found = histograms_of(subject, None, 20)  # raised while the weights were frozen
        assert found.layers and all(layer.gradient_norm > 0 for layer in found.layers)
    finally:
        done.set()
        worker.join(60)


def test_a_cancelled_attack_then_histograms_in_the_app_shows_no_error(trained_home, tiny_folder):
    def said(app) -> str:
        return " ".join(text_of(s) for s in app.screen.query(".status"))

    async def scenario() -> None:
        app = tiny_app(trained_home, tiny_folder, givens={"robustness": {"limit": 200}})
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(3):
                await pilot.press("r")
                await pilot.pause(0.3)
                await pilot.press("R")  # again, from a random start
                await pilot.pause(0.2)
                await pilot.press("escape", "h")  # while the attack is still inside
                assert await wait_for(pilot, lambda: "model " in said(app)
                                      or "Error" in said(app), 30), said(app)  # fmt: skip
                assert "Error" not in said(app) and "grad" not in said(app), said(app)
                await pilot.press("escape")

    asyncio.run(scenario())
