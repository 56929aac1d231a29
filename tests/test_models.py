"""The study's two models against study §2's figures, and the zoo against torchinfo."""

from __future__ import annotations

import pytest
import torch

from engine.models.zoo import MODELS, build_model, forward_in_study_order


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_convnet_parameters_match_spec():
    model = build_model("convnet")
    assert count(model) == 799_078
    assert [count(getattr(model, n)) for n in ("conv1", "conv2", "fc1", "fc2")] == [
        320,
        9_248,
        784_500,
        5_010,
    ]


def test_batchnorm_convnet_adds_only_batchnorm_parameters():
    model = build_model("convnet-bn")
    # 2 x (32 + 32) + (500 + 500) + (10 + 10): a scale and a shift per BatchNorm channel
    assert count(model) == 799_078 + 128 + 1_000 + 20


@pytest.mark.parametrize("name", list(MODELS))
def test_models_give_ten_logits(name):
    model = build_model(name).eval()
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


# Parameters of each network of the zoo, counted by hand from its paper's layers.
ZOO_PARAMETERS = {"lenet5": 61_706, "mlp": 397_510, "smallcnn": 312_202, "madry": 3_274_634,
                  "fastnet": 215_194, "ibp-small": 329_606}  # fmt: skip


@pytest.mark.parametrize("name", list(MODELS))
def test_every_network_counts_its_parameters_as_torchinfo_does(name):
    from engine.config import MODEL_NAMES
    from engine.models.layer_table import summarize_model
    from tests.optional import needs

    torchinfo = needs("torchinfo")
    model = build_model(name).eval()
    ours = summarize_model(model, name)
    theirs = torchinfo.summary(model, input_size=(1, 1, 28, 28), verbose=0)
    assert ours.parameters == theirs.total_params == count(model)
    if name in ZOO_PARAMETERS:
        assert ours.parameters == ZOO_PARAMETERS[name]
    assert name in MODEL_NAMES


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="choose one of convnet, convnet-bn"):
        build_model("resnet")


def test_folding_batchnorm_keeps_the_outputs():
    from engine.models.zoo import ConvNet, fold_batchnorm

    torch.manual_seed(0)
    model = build_model("convnet-bn")
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):  # move the running statistics and the affine parameters off their start
        loss = model(torch.randn(32, 1, 28, 28)).pow(2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    x = torch.randn(16, 1, 28, 28)
    folded = fold_batchnorm(model)
    assert isinstance(folded, ConvNet)
    with torch.no_grad():
        assert torch.allclose(model(x), folded(x), atol=1e-5)
    plain = build_model("convnet")
    assert fold_batchnorm(plain) is plain


@pytest.mark.parametrize("name", ["convnet", "convnet-bn"])
def test_relu_after_the_pool_gives_the_studys_numbers_and_gradients(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    x = torch.randn(8, 1, 28, 28, requires_grad=True)
    assert torch.equal(model(x), forward_in_study_order(model, x))
    model.train()
    (grad_ours,) = torch.autograd.grad(model(x).square().sum(), x)
    (grad_study,) = torch.autograd.grad(forward_in_study_order(model, x).square().sum(), x)
    assert torch.equal(grad_ours, grad_study)


def test_every_network_described_for_the_help_is_in_the_zoo_and_every_one_is_described():
    """The zoo is declared once in engine/config.py (ZOO: name, class, one line; read
    without torch for the help): each entry is a network of engine.models.zoo."""
    from torch import nn

    from engine.config import MODEL_ABOUT

    assert all(MODEL_ABOUT.values())  # each says what it is
    assert all(issubclass(cls, nn.Module) for cls in MODELS.values())  # each names a network
