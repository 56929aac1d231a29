"""Attribution: every method equals Captum's own output, the deletion curve tells a true map
from a random one, and the command and the screen show them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from captum import attr
from torch import nn
from torch.nn import functional as F

from engine.inside.attribution import (
    METHODS,
    AttributionSettings,
    attribute,
    class_view,
    curve_area,
    deletion_curve,
)
from engine.pixels import PixelModel, to_pixels
from tui.cli.main import main


def captum_reference(model, image, target, method, s: AttributionSettings) -> np.ndarray:
    """The method called on Captum the obvious way."""
    pixel_model = PixelModel(model)
    x = to_pixels(image.unsqueeze(0)).requires_grad_(True)
    base = torch.zeros_like(x)
    if method == "saliency":
        out = attr.Saliency(pixel_model).attribute(x, target=target)
    elif method == "input-x-gradient":
        out = attr.InputXGradient(pixel_model).attribute(x, target=target)
    elif method == "integrated-gradients":
        out = attr.IntegratedGradients(pixel_model).attribute(
            x, base, target=target, n_steps=s.ig_steps
        )
    elif method == "smoothgrad":
        torch.manual_seed(s.seed)
        out = attr.NoiseTunnel(attr.Saliency(pixel_model)).attribute(
            x,
            nt_type="smoothgrad",
            nt_samples=s.smoothgrad_samples,
            stdevs=s.smoothgrad_stdev,
            target=target,
        )
    elif method == "gradcam":
        coarse = attr.LayerGradCam(pixel_model, pixel_model.model.conv2).attribute(x, target=target)
        out = attr.LayerAttribution.interpolate(coarse, (28, 28), "bilinear")
    elif method == "deeplift":
        out = attr.DeepLift(pixel_model).attribute(x, base, target=target)
    else:  # occlusion, on the probability of the class

        def probabilities(inputs):
            return F.softmax(pixel_model(inputs), 1)

        out = attr.Occlusion(probabilities).attribute(
            x.detach(),
            sliding_window_shapes=(1, s.patch, s.patch),
            strides=(1, s.stride, s.stride),
            baselines=0.0,
            target=target,
        )
    return out.detach()[0, 0].numpy()


@pytest.mark.parametrize("method", METHODS)
def test_every_method_equals_captums_own(tiny_model, tiny_splits, method):
    settings = AttributionSettings(ig_steps=20, smoothgrad_samples=5)
    image = tiny_splits.test.images[3]
    ours = attribute(tiny_model, image, 4, method, settings)
    theirs = captum_reference(tiny_model, image, 4, method, settings)
    assert ours.shape == (28, 28)
    assert np.abs(ours - theirs).max() <= 1e-5 * max(1.0, np.abs(theirs).max())
    assert np.abs(ours).max() > 0  # a map, not zeros


class RegionModel(nn.Module):
    """Class 0's logit is the brightness of the top-left 7x7 block, class 1's a constant:
    the pixels that matter are known."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(1, 1)  # a parameter, so the model has a device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pixels = x * 0.3081 + 0.1307  # undo the normalisation PixelModel applies
        region = pixels[:, 0, :7, :7].sum((1, 2))
        return torch.stack([region, torch.full_like(region, 10.0)], 1)


def test_the_deletion_curve_falls_faster_for_the_true_map_than_a_random_order():
    image = torch.full((28, 28), 255, dtype=torch.uint8)
    truth = np.zeros((28, 28))
    truth[:7, :7] = 1
    model = RegionModel()
    fractions, true_curve = deletion_curve(model, image, 0, truth)
    _, random_curve = deletion_curve(model, image, 0, np.random.default_rng(0).random((28, 28)))
    assert true_curve[0] == pytest.approx(random_curve[0])
    assert true_curve[3] < 1e-3  # the 49 pixels that matter go in the first two steps
    assert curve_area(fractions, true_curve) < curve_area(fractions, random_curve) / 5


def test_attribute_json_has_a_map_per_method(trained_home, capsys):
    assert main(["--home", str(trained_home), "attribute", "latest", "--index", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [m["method"] for m in data["methods"]] == list(METHODS)
    for entry in data["methods"]:
        assert np.asarray(entry["attribution"]).shape == (28, 28)
        assert entry["target"] == data["target"] and 0 <= entry["deletion"]["area"] <= 1
        assert isinstance(entry["settings"], dict)
    assert len(data["random_deletion"]["probability"]) == 29


def test_the_class_view_averages_over_every_batch(tiny_model, tiny_splits):
    """Over several batches (the real test set is 40 of them): each digit's map is the mean
    of its images' maps, whatever the batch size (the second batch once raised)."""
    test = tiny_splits.test
    whole = class_view(tiny_model, test.images, test.labels, "saliency", batch_size=len(test))
    batched = class_view(tiny_model, test.images, test.labels, "saliency", batch_size=7)
    assert whole.keys() == batched.keys() and len(whole) >= 8
    for digit, mean in whole.items():
        np.testing.assert_allclose(batched[digit], mean, rtol=1e-4, atol=1e-6)


def test_attribute_draws_maps_and_the_class_view(trained_home, capsys):
    argv = ["--home", str(trained_home), "attribute", "latest", "--method", "saliency", "--ascii"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "saliency (deletion" in out and "faithfulness" in out
    argv = ["--home", str(trained_home), "attribute", "latest", "--class-view", "--method", "gradcam",
            "--json"]  # fmt: skip
    assert main(argv) == 0
    maps = json.loads(capsys.readouterr().out)["methods"]["gradcam"]
    assert set(maps) <= {str(k) for k in range(10)} and len(maps) >= 8
    assert np.asarray(maps["0"]).shape == (28, 28)
    # the class view's own command, the same analysis (one route): the same maps
    argv = ["--home", str(trained_home), "class-view", "latest", "--method", "gradcam", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["methods"]["gradcam"] == maps
    assert main(["--home", str(trained_home), "class-view", "latest", "--method", "saliency",
                 "--ascii"]) == 0  # fmt: skip
    assert "saliency: the mean map over the correctly classified images" in capsys.readouterr().out


def test_the_attribution_screen_explains_and_changes_class(trained_home, tiny_folder):
    import asyncio

    from tests.app_setup import text_of, tiny_app, wait_for

    async def scenario():
        app = tiny_app(trained_home, tiny_folder)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("a")
            status = app.screen.query_one(".status")
            assert await wait_for(pilot, lambda: "most faithful here" in text_of(status))
            title = text_of(app.screen.query_one("#attr-title"))
            await pilot.press("t")
            assert await wait_for(
                pilot,
                lambda: (
                    "most faithful" in text_of(status)
                    and text_of(app.screen.query_one("#attr-title")) != title
                ),
            )
            captions = [v.caption for v in app.screen.query("ArrayView")]
            assert all(any(c.startswith(m) for c in captions) for m in METHODS)

    asyncio.run(scenario())
