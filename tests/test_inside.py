"""Looking inside: the architecture table, filters, activations, occlusion."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from engine.inside.network import activations, filters, predict
from engine.inside.occlusion import occlusion_map, patch_offsets
from engine.models.layer_table import summarize_model
from engine.models.zoo import build_model
from engine.pixels import PixelModel, to_pixels


def test_summary_reproduces_spec_figures():
    summary = summarize_model(build_model("convnet"), "convnet")
    rows = {r.name: r for r in summary.rows}
    assert [r.name for r in summary.rows] == ["conv1", "pool1", "conv2", "pool2", "fc1", "fc2"]
    assert {n: r.parameters for n, r in rows.items()} == {
        "conv1": 320, "pool1": 0, "conv2": 9_248, "pool2": 0, "fc1": 784_500, "fc2": 5_010,
    }  # fmt: skip
    assert {n: r.neurons for n, r in rows.items()} == {
        "conv1": 25_088, "pool1": 6_272, "conv2": 6_272, "pool2": 1_568, "fc1": 500, "fc2": 10,
    }  # fmt: skip
    assert rows["conv1"].output_shape == [32, 28, 28] and rows["pool2"].output_shape == [32, 7, 7]
    assert summary.parameters == 799_078
    assert summary.parameters_in("conv") == 9_568 and summary.parameters_in("fc") == 789_510
    assert summary.neurons == 40_494 and summary.input_neurons == 784
    assert summary.neurons_in("conv") == 31_360 and summary.neurons_in("fc") == 510
    assert rows["conv2"].mult_adds == 14 * 14 * 32 * 32 * 9


def test_summary_of_batchnorm_model():
    summary = summarize_model(build_model("convnet-bn"), "convnet-bn")
    assert summary.parameters == 800_226  # 799,078 + 2*64 + 1,000 + 20
    assert summary.neurons == 40_494  # BatchNorm adds parameters, not neurons
    assert summary.parameters_in("conv") == 9_696 and summary.parameters_in("fc") == 790_530
    assert [r.name for r in summary.rows][:3] == ["conv1", "bn1", "pool1"]


def test_filters_and_activations_shapes(tiny_model, tiny_splits):
    assert filters(tiny_model).weights.shape == (32, 3, 3)  # the first convolution's
    assert torch.equal(filters(tiny_model, "conv2", 5).weights, tiny_model.conv2.weight[5].detach())
    image = tiny_splits.test.images[0]
    conv1 = activations(tiny_model, image, "conv1")
    assert conv1.shape == (32, 28, 28) and conv1.min() >= 0  # after ReLU
    expected = F.relu(tiny_model.conv1(to_pixels(image.unsqueeze(0)).sub(0.1307).div(0.3081)))[0]
    assert torch.allclose(conv1, expected.detach(), atol=1e-5)
    assert activations(tiny_model, image, "conv2").shape == (32, 14, 14)


def slow_occlusion(model, image, label, patch, stride):
    """One forward pass per position, as the original did."""
    pixel_model = PixelModel(model)
    offsets = list(range(0, 28 - patch + 1, stride))
    out = torch.zeros(len(offsets), len(offsets))
    with torch.no_grad():
        for i, top in enumerate(offsets):
            for j, left in enumerate(offsets):
                x = to_pixels(image.unsqueeze(0)).clone()
                x[:, :, top : top + patch, left : left + patch] = 0
                out[i, j] = F.softmax(pixel_model(x), 1)[0, label]
    return out


def test_occlusion_equals_one_position_at_a_time(tiny_model, tiny_splits):
    image, label = tiny_splits.test.images[3], int(tiny_splits.test.labels[3])
    result = occlusion_map(tiny_model, image, label, patch=14, stride=2, batch_size=7)
    assert result.offsets == [0, 2, 4, 6, 8, 10, 12, 14]
    assert result.true_probability.shape == (8, 8) == result.predicted_class.shape
    assert torch.allclose(
        result.true_probability, slow_occlusion(tiny_model, image, label, 14, 2), atol=1e-5
    )


def test_full_patch_gives_the_blank_images_prediction(tiny_model, tiny_splits):
    image, label = tiny_splits.test.images[0], int(tiny_splits.test.labels[0])
    result = occlusion_map(tiny_model, image, label, patch=28, stride=1)
    blank = predict(tiny_model, type(tiny_splits.test)(torch.zeros(1, 28, 28, dtype=torch.uint8),
                                                       torch.tensor([label])), [0])[0]  # fmt: skip
    assert result.predicted_class.tolist() == [[blank.predicted]]
    assert abs(result.true_probability.item() - blank.probabilities[label]) < 1e-5


def test_patch_offsets_cover_every_valid_position():
    assert patch_offsets(28, 14, 2)[-1] == 14
    assert patch_offsets(28, 5, 4) == [0, 4, 8, 12, 16, 20]


def test_every_network_of_the_zoo_shows_its_own_layers():
    """Filters, maps and Grad-CAM's layer come from the model: any kernel size, any depth;
    a network without convolutions shows its first layer's weights as 28x28 pictures and
    says why it has no maps."""
    import pytest

    from engine.errors import SettingError
    from engine.models.layers import last_convolution

    image = torch.zeros(28, 28, dtype=torch.uint8)
    lenet = build_model("lenet5")
    assert filters(lenet).weights.shape == (6, 5, 5)
    assert filters(lenet, "conv2", 15).weights.shape == (6, 5, 5)  # 6 input depths
    assert activations(lenet, image, "conv2").shape == (16, 10, 10)
    small = build_model("smallcnn")
    assert last_convolution(small) == "conv4"
    assert activations(small, image, "conv3").shape == (64, 10, 10)
    mlp = build_model("mlp")
    units = filters(mlp)
    assert units.weights.shape == (32, 28, 28) and "no filters" in units.title
    with pytest.raises(SettingError, match="no convolution"):
        activations(mlp, image)
    with pytest.raises(SettingError, match="no convolution"):
        last_convolution(mlp)
    with pytest.raises(SettingError, match=r"it has: conv1, conv2"):
        filters(lenet, "fc1")
