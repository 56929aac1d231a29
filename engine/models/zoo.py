"""The networks by name: the study's two (study §2) and a zoo of classic MNIST networks,
each citing where it comes from.

A model is layers in ``__init__`` and data flow in ``forward``; it takes normalised images
(n, 1, 28, 28) and returns logits (n, 10). The analyses find its layers by their kind
(``engine.models.layers``), never by their names; each ReLU is a module of its own (attribution
methods such as DeepLIFT find the nonlinearities by their modules).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from engine.config import ZOO
from engine.errors import SettingError


class ConvNet(nn.Module):
    """conv1 3x3x32 -> pool -> conv2 3x3x32 -> pool -> fc1 500 -> fc2 10, ReLU between."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, stride=1, padding=1)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(32, 32, kernel_size=3, stride=1, padding=1)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(7 * 7 * 32, 500)
        self.fc2 = nn.Linear(500, classes)
        # one ReLU module per use (no weights): attribution methods such as DeepLIFT find
        # the nonlinearities by their modules
        self.relu1, self.relu2, self.relu3 = nn.ReLU(), nn.ReLU(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # ReLU after the pool: the same numbers (max-pooling and ReLU commute), a quarter
        # of the ReLU work (2.7x faster inference, 1.4x faster training steps on the CPU)
        x = self.relu1(self.pool1(self.conv1(x)))
        x = self.relu2(self.pool2(self.conv2(x)))
        x = self.relu3(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


class BatchNormConvNet(nn.Module):
    """ConvNet with BatchNorm after conv1, conv2, fc1 and fc2, each before the ReLU."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, stride=1, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(32, 32, kernel_size=3, stride=1, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(7 * 7 * 32, 500)
        self.bn3 = nn.BatchNorm1d(500)
        self.fc2 = nn.Linear(500, classes)
        self.bn4 = nn.BatchNorm1d(classes)
        self.relu1, self.relu2, self.relu3 = nn.ReLU(), nn.ReLU(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.pool1(self.bn1(self.conv1(x))))  # ReLU after the pool, as in ConvNet
        x = self.relu2(self.pool2(self.bn2(self.conv2(x))))
        x = self.relu3(self.bn3(self.fc1(torch.flatten(x, 1))))
        return self.bn4(self.fc2(x))


def forward_in_study_order(model: ConvNet | BatchNormConvNet, x: torch.Tensor) -> torch.Tensor:
    """The model's forward pass in the original study's order, ReLU before each pool: the
    same numbers more slowly (benchmarks use it for the notebook's side; a test checks)."""
    norm = getattr if isinstance(model, BatchNormConvNet) else (lambda _model, _name: nn.Identity())
    x = model.pool1(F.relu(norm(model, "bn1")(model.conv1(x))))
    x = model.pool2(F.relu(norm(model, "bn2")(model.conv2(x))))
    x = F.relu(norm(model, "bn3")(model.fc1(torch.flatten(x, 1))))
    return norm(model, "bn4")(model.fc2(x))


class LeNet5(nn.Module):
    """LeNet-5 (LeCun, Bottou, Bengio & Haffner, "Gradient-based learning applied to
    document recognition", 1998) in its modern form: ReLU for the scaled tanh, max-pooling
    for the trainable subsampling, a full conv2 for the partial connection table, and the
    28x28 input padded to the paper's 32x32. conv 5x5x6 -> pool -> conv 5x5x16 -> pool ->
    fc 120 -> fc 84 -> fc 10."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)
        self.relu1, self.relu2, self.relu3, self.relu4 = (nn.ReLU() for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.relu3(self.fc1(torch.flatten(x, 1)))
        return self.fc3(self.relu4(self.fc2(x)))


class MLP(nn.Module):
    """A multilayer perceptron, no convolution: 784 -> 500 -> 10 with ReLU (the classic
    two-layer network of the MNIST page's table, e.g. LeCun et al. 1998's "2-layer NN, 300
    HU" with the study's 500 units)."""

    def __init__(self, classes: int = 10, hidden: int = 500) -> None:
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, hidden)
        self.fc2 = nn.Linear(hidden, classes)
        self.relu1 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.relu1(self.fc1(torch.flatten(x, 1))))


class SmallCNN(nn.Module):
    """The 4-convolution network TRADES uses for MNIST (Zhang et al., "Theoretically
    principled trade-off between robustness and accuracy", ICML 2019; their
    ``models/small_cnn.py``): conv 3x3x32 -> conv 3x3x32 -> pool -> conv 3x3x64 -> conv
    3x3x64 -> pool -> fc 200 -> dropout 0.5 -> fc 200 -> fc 10, no padding."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 32, 3)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv3 = nn.Conv2d(32, 64, 3)
        self.conv4 = nn.Conv2d(64, 64, 3)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(64 * 4 * 4, 200)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(200, 200)
        self.fc3 = nn.Linear(200, classes)
        self.relus = nn.ModuleList(nn.ReLU() for _ in range(6))
        # their initialisation: He-normal convolutions, a last layer starting at zero. At
        # their lr 0.01 it matters: 96.17% after 2 clean epochs on 12,000 images, against
        # 86.82% with PyTorch's default (measured 2026-11-30, batches of 128, seed 0)
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            nn.init.kaiming_normal_(conv.weight)
            nn.init.zeros_(conv.bias)
        nn.init.zeros_(self.fc3.weight)
        nn.init.zeros_(self.fc3.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.relus
        x = self.pool1(r[1](self.conv2(r[0](self.conv1(x)))))
        x = self.pool2(r[3](self.conv4(r[2](self.conv3(x)))))
        x = self.drop(r[4](self.fc1(torch.flatten(x, 1))))
        return self.fc3(r[5](self.fc2(x)))


class MadryNet(nn.Module):
    """The network of Madry et al.'s MNIST challenge ("Towards deep learning models resistant
    to adversarial attacks", ICLR 2018; github.com/MadryLab/mnist_challenge ``model.py``):
    conv 5x5x32 (same padding) -> pool -> conv 5x5x64 -> pool -> fc 1024 -> fc 10."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5, padding=2)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(32, 64, 5, padding=2)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(7 * 7 * 64, 1024)
        self.fc2 = nn.Linear(1024, classes)
        self.relu1, self.relu2, self.relu3 = nn.ReLU(), nn.ReLU(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.fc2(self.relu3(self.fc1(torch.flatten(x, 1))))


class FastNet(nn.Module):
    """The network of train_mnist_fast's final notebook (github.com/tuomaso/train_mnist_fast,
    "Training a NN to 99% accuracy on MNIST in 0.76 seconds", 2021): conv 5x5x24 -> pool ->
    conv 3x3x32 -> pool -> fc 256 -> fc 10, no padding, ReLU after each pool as there. Its
    point is speed: 1.2 million multiply-adds an image against the study's 2.8, enough to
    reach 99% in one epoch with Adam (the ``fast`` recipe)."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 24, 5)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(24, 32, 3)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(32 * 5 * 5, 256)
        self.fc2 = nn.Linear(256, classes)
        self.relu1, self.relu2, self.relu3 = nn.ReLU(), nn.ReLU(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.pool1(self.conv1(x)))
        x = self.relu2(self.pool2(self.conv2(x)))
        return self.fc2(self.relu3(self.fc1(torch.flatten(x, 1))))


class IBPSmall(nn.Module):
    """The "small" network of Gowal et al. 2018 ("On the effectiveness of interval bound
    propagation for training verifiably robust models", Table 1): conv 4x4x16 stride 2 ->
    conv 4x4x32 -> fc 100 -> fc 10, no padding and no pooling. Interval bounds widen less
    through a strided convolution than through max-pooling, so trained with ``--adversarial
    ibp`` it proves more than fastnet at the same eps, in less time (docs/results.md)."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 4, stride=2)
        self.conv2 = nn.Conv2d(16, 32, 4)
        self.fc1 = nn.Linear(32 * 10 * 10, 100)
        self.fc2 = nn.Linear(100, classes)
        self.relu1, self.relu2, self.relu3 = nn.ReLU(), nn.ReLU(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu2(self.conv2(self.relu1(self.conv1(x))))
        return self.fc2(self.relu3(self.fc1(torch.flatten(x, 1))))


# The networks by name, as engine.config.ZOO declares them (name, class, one line).
MODELS: dict[str, type[nn.Module]] = {name: globals()[cls] for name, (cls, _) in ZOO.items()}


def build_model(name: str, args: dict | None = None, source=None) -> nn.Module:
    """A freshly initialised model: a network of the zoo by name, or a user's
    ``FILE.py:Class`` / ``module:Class`` built with ``args`` (from ``source``, a run's copy
    of the file, where given; see engine.models.files)."""
    from engine.models.files import ModelFile, is_model_file

    if name in MODELS:
        return MODELS[name]()
    if is_model_file(name):
        return ModelFile.of(name).build(args or {}, source)
    raise SettingError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}, or give"
                       " FILE.py:ClassName")  # fmt: skip


def _fold(layer: nn.Conv2d | nn.Linear, norm: nn.BatchNorm2d | nn.BatchNorm1d) -> None:
    """Fold an eval-mode BatchNorm into the layer before it, in place."""
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    shape = (-1,) + (1,) * (layer.weight.dim() - 1)
    layer.weight.mul_(scale.view(shape))
    layer.bias.sub_(norm.running_mean).mul_(scale).add_(norm.bias)


@torch.no_grad()
def fold_batchnorm(model: nn.Module) -> nn.Module:
    """For scoring: a BatchNormConvNet's eval-mode computation as a plain ConvNet, each
    BatchNorm folded into the layer before it (same outputs up to rounding, one pass less
    over every activation). Any other model is returned as it is."""
    if not isinstance(model, BatchNormConvNet):
        return model
    plain = ConvNet(model.fc2.out_features).to(model.conv1.weight.device)
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("bn")})
    for layer, norm in ((plain.conv1, model.bn1), (plain.conv2, model.bn2), (plain.fc1, model.bn3),
                        (plain.fc2, model.bn4)):  # fmt: skip
        _fold(layer, norm)
    return plain.eval()
