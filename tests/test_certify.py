"""Proof by interval bounds, checked against independent evidence: for each supported layer
kind and every zoo network, random points of the box, its corners and the PGD point stay
within the bounds (of the logits, and of their differences); certified accuracy is at most
what PGD leaves, the clean accuracy at eps 0, and falls as eps grows; a network trained with
--adversarial ibp certifies more than the same network trained plainly; bad requests are one
line each."""

from __future__ import annotations

import json
import re

import pytest
import torch
from torch import nn

from engine.attacks.pgd import projected_steps
from engine.data import MEAN, STD
from engine.models.zoo import MODELS, build_model
from engine.proof.certify import certify
from engine.proof.intervals import IntervalNetwork, UnsupportedLayer, margins, pixel_box
from tui.cli.main import main


def cli(argv: list[str]) -> int:
    """The command's exit status, whether the parser or the command refused it."""
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


def layer_kinds() -> dict[str, nn.Module]:
    """A small network around each kind of layer the bounds support."""
    conv = nn.Conv2d(1, 3, 3, padding=1)
    head = [nn.Flatten(), nn.Linear(3 * 14 * 14, 10)]
    made = {
        "conv-relu-maxpool": nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(2), *head),
        "avgpool": nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.AvgPool2d(2), *head),
        "batchnorm2d": nn.Sequential(
            nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2), *head
        ),  # fmt: skip
        "batchnorm1d-last": nn.Sequential(
            nn.Flatten(), nn.Linear(784, 20), nn.ReLU(), nn.Linear(20, 10), nn.BatchNorm1d(10)
        ),  # fmt: skip
        "dropout": nn.Sequential(
            nn.Flatten(), nn.Linear(784, 20), nn.Dropout(0.5), nn.Tanh(), nn.Linear(20, 10)
        ),  # fmt: skip
        "leaky-sigmoid": nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 20),
            nn.LeakyReLU(0.1),
            nn.Linear(20, 20),
            nn.Sigmoid(),
            nn.Linear(20, 10),
        ),  # fmt: skip
        "adaptive-avgpool": nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 10)
        ),  # fmt: skip
    }
    generator = torch.Generator().manual_seed(0)
    for model in made.values():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):  # statistics not trivial
                module.running_mean.uniform_(-0.5, 0.5, generator=generator)
                module.running_var.uniform_(0.5, 2.0, generator=generator)
                module.weight.data.uniform_(-1.5, 1.5, generator=generator)  # some negative
    return made


NETWORKS = {**{f"zoo:{name}": None for name in MODELS}, **{k: None for k in layer_kinds()}}


def network(name: str) -> nn.Module:
    torch.manual_seed(1)
    model = (
        build_model(name.removeprefix("zoo:")) if name.startswith("zoo:") else layer_kinds()[name]
    )
    return model.eval()


def images(count: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(2)
    pixels = torch.rand(count, 1, 28, 28, generator=generator) ** 3  # mostly dark, as MNIST
    return pixels, torch.randint(0, 10, (count,), generator=generator)


def logits_of(model: nn.Module, pixels: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model((pixels - MEAN) / STD)


@pytest.mark.parametrize("name", NETWORKS)
def test_every_point_of_the_box_stays_within_the_bounds(name):
    model, (pixels, labels) = network(name), images()
    eps = 0.05
    box = IntervalNetwork(model).bounds(*pixel_box(pixels, eps))
    lowest = margins(box, labels)
    tighter = margins(box, labels, backward=True)  # CROWN through the last layers
    assert (tighter >= lowest).all(), name
    generator = torch.Generator().manual_seed(3)
    points = [pixels + eps * (2 * torch.rand(pixels.shape, generator=generator) - 1)
              for _ in range(50)]  # 50 x 20 = 1,000 random points  # fmt: skip
    points += [pixels + eps * torch.sign(torch.randn(pixels.shape, generator=generator))
               for _ in range(5)]  # corners of the box  # fmt: skip
    forward = lambda x: model((x - MEAN) / STD)  # noqa: E731
    points.append(projected_steps(forward, pixels, labels, eps, eps / 4, 10,
                                  torch.rand(pixels.shape, generator=generator)))  # fmt: skip
    rows = torch.arange(len(labels))
    for point in points:
        z = logits_of(model, point.clamp(0, 1))
        assert (z >= box.lower - 1e-4).all() and (z <= box.upper + 1e-4).all(), name
        difference = z[rows, labels][:, None] - z
        assert (difference >= tighter - 1e-4).all(), name


def test_the_backward_bound_proves_more_than_intervals_alone():
    """On a network ending in Linear, ReLU, Linear the backward bound is strictly tighter for
    some images and never looser; and it is what certify uses."""
    model, (pixels, labels) = network("zoo:fastnet"), images(50)
    labels = logits_of(model, pixels).argmax(1)  # certify asks about the predicted class
    box = IntervalNetwork(model).bounds(*pixel_box(pixels, 0.002))
    plain, tighter = margins(box, labels), margins(box, labels, backward=True)
    assert (tighter >= plain).all() and (tighter > plain + 1e-6).any()


@pytest.mark.parametrize("name", ["zoo:convnet", "zoo:fastnet", "batchnorm2d"])
def test_bounds_widen_with_eps_and_are_exact_at_zero(name):
    model, (pixels, _) = network(name), images()
    net = IntervalNetwork(model)
    exact = net.bounds(*pixel_box(pixels, 0.0))
    assert torch.allclose(exact.lower, logits_of(model, pixels), atol=1e-4)
    assert torch.allclose(exact.upper, exact.lower, atol=1e-4)
    widths = [(net.bounds(*pixel_box(pixels, e)).radius).sum().item() for e in (0.01, 0.05, 0.1)]
    assert widths[0] < widths[1] < widths[2]


def test_certified_accuracy_is_at_most_what_pgd_leaves_and_the_clean_at_zero(tiny_model,
                                                                            tiny_splits):  # fmt: skip
    model = tiny_model.eval()
    test = tiny_splits.test
    eps = [0.0, 0.01, 0.02, 0.05, 0.1]
    proven = certify(model, test.images, test.labels, eps)
    pixels = test.images.unsqueeze(1).float() / 255
    clean = (logits_of(model, pixels).argmax(1) == test.labels).float().mean().item()
    assert proven.points[0].certified_accuracy == pytest.approx(clean)
    forward = lambda x: model((x - MEAN) / STD)  # noqa: E731
    for point in proven.points[1:]:
        attacked = projected_steps(forward, pixels, test.labels, point.eps, point.eps / 4, 20)
        left = (logits_of(model, attacked).argmax(1) == test.labels).float().mean().item()
        assert point.certified_accuracy <= left + 1e-9, point
    shares = [p.certified_accuracy for p in proven.points]
    assert shares == sorted(shares, reverse=True)


def test_ibp_training_certifies_more_than_plain_training(tmp_path, tiny_folder):
    home = tmp_path / "home"
    proven = {}
    for defence in ("none", "ibp"):
        assert main(["--home", str(home), "train", "--data", str(tiny_folder), "--model",
                     "mlp", "--epochs", "8", "--batch-size", "20", "--optimiser", "adam",
                     "--lr", "0.002", "--device", "cpu", "--adversarial", defence, "--eps",
                     "0.1", "--eps-warmup", "2", "--json"]) == 0  # fmt: skip
        from engine import runs

        run_dir = runs.find_run(home, "latest")
        model = runs.load_run_model(run_dir)
        from engine.data import load_dataset
        from engine.locations import data_cache

        dataset = load_dataset(data_cache(home), folder=tiny_folder)
        result = certify(model, dataset.test_images, dataset.test_labels, [0.1])
        proven[defence] = result.points[0].certified_accuracy
        if defence == "ibp":  # the loop's events carry the proof per epoch
            epochs = [json.loads(line) for line in (run_dir / "events.jsonl").open()
                      if '"EpochEvaluated"' in line]  # fmt: skip
            assert all(e["certified_val_accuracy"] is not None for e in epochs)
    assert proven["ibp"] > proven["none"] + 0.5, proven  # about 0.9 against 0 when written


UNSUPPORTED = """
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.GELU(),
                                  nn.LayerNorm(32), nn.Linear(32, 10))

    def forward(self, x):
        return self.body(x)
"""


def test_a_layer_without_bounds_is_named():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 8), nn.LayerNorm(8), nn.Linear(8, 10))
    with pytest.raises(UnsupportedLayer, match="LayerNorm"):
        IntervalNetwork(model)
    with pytest.raises(UnsupportedLayer, match="not monotone"):
        IntervalNetwork(nn.Sequential(nn.Flatten(), nn.Linear(784, 8), nn.GELU()))


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["certify", "latest", "--eps", "1.5"], "1.5 is not a number from 0 to 1"),
        (["certify", "latest", "--eps", "-0.1"], "-0.1 is not a number from 0 to 1"),
        (["certify", "latest", "--eps", ""], "eps"),
        (["certify", "latest", "--eps", "0.1", "--limit", "0"], "limit"),
    ],
)
def test_bad_certify_requests_are_one_line(trained_home, capsys, argv, said):
    assert cli(["--home", str(trained_home), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert said in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_network_with_an_unsupported_layer_is_refused_in_one_line(tmp_path, tiny_folder,
                                                                    capsys):  # fmt: skip
    (tmp_path / "odd.py").write_text(UNSUPPORTED)
    home = tmp_path / "home"
    assert main(["--home", str(home), "train", "--data", str(tiny_folder), "--epochs", "1",
                 "--batch-size", "20", "--device", "cpu", "--model",
                 f"{tmp_path / 'odd.py'}:Net", "--json"]) == 0  # fmt: skip
    capsys.readouterr()
    from engine import runs

    run_id = runs.find_run(home, "latest").name
    assert main(["--home", str(home), "certify", run_id]) == 2
    err = capsys.readouterr().err.strip()
    assert "GELU" in err and "not monotone" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        (["--eps", "0"], "eps"),
        (["--model", "convnet-bn"], "needs a network without BatchNorm"),
    ],
)
def test_bad_ibp_training_is_one_line(tmp_path, tiny_folder, capsys, settings, said):
    home = tmp_path / "home"
    code = cli(["--home", str(home), "train", "--data", str(tiny_folder), "--epochs", "1",
                 "--batch-size", "20", "--device", "cpu", "--adversarial", "ibp", *settings])  # fmt: skip
    captured = capsys.readouterr()
    assert code != 0
    text = captured.err.strip()
    assert said in text and "Traceback" not in text, text


def test_robustness_with_certify_gives_each_eps_its_band(trained_home, capsys):
    """What is proven never exceeds what the attack left, on the same images."""
    assert main(["--home", str(trained_home), "robustness", "latest", "--attack", "pgd", "--eps",
                 "0,0.02,0.1", "--limit", "60", "--certify", "--json"]) == 0  # fmt: skip
    points = json.loads(capsys.readouterr().out)
    assert [p["eps"] for p in points] == [0, 0.02, 0.1]
    for point in points:
        assert point["certified_accuracy"] <= point["robust_accuracy"] + 1e-9, point
    assert points[0]["certified_accuracy"] == pytest.approx(points[0]["accuracy"])
    assert main(["--home", str(trained_home), "robustness", "latest", "--attack", "fgsm",
                 "--eps", "0,0.1", "--limit", "30", "--certify"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "proven" in out and "unknown" in out


def test_the_robustness_screen_shows_the_band_on_p(trained_home, tiny_folder, tmp_path):
    import asyncio
    import shutil

    from engine import runs
    from tests.app_setup import screen_lines, tiny_app, wait_for

    # a home of its own holding the tiny run: other tests add runs to trained_home and pick
    # one for the analyses (a network with a layer the bounds refuse, say)
    run_dir = min(runs.list_runs(trained_home), key=lambda path: path.name)  # the fixture's own
    home = tmp_path / "home"
    shutil.copytree(run_dir, home / "runs" / run_dir.name)

    async def scenario() -> str:
        app = tiny_app(home, tiny_folder)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("r")
            await pilot.pause(0.5)
            await pilot.press("p")
            shown = lambda: "\n".join(screen_lines(app))  # noqa: E731
            await wait_for(pilot, lambda: "the true robust accuracy lies" in shown(), 90)
            band = shown()
            await pilot.press("m")  # the defences compared keep the band: a row under each
            proven_row = re.compile(r" proven +\d+\.\d%  ")  # the row itself, not the status
            await wait_for(pilot, lambda: proven_row.search(shown()), 90)
            return band, shown()

    screen, compared = asyncio.run(scenario())
    assert "the true robust accuracy lies" in screen, screen
    assert "proven" in screen and "unknown" in screen, screen
    rows = [line for line in compared.splitlines() if re.search(r" proven +\d+\.\d%  ", line)]
    assert len(rows) == 1 and rows[0].count("%") == 7, compared  # a row under the run's
