"""Training and test-set throughput: the engine's loop against a loop written like the
original notebook (torchvision's MNIST dataset with ToTensor and Normalize, a
SubsetRandomSampler, a DataLoader with batch 100, the same model and optimiser, its
forward pass in the notebook's order: ReLU, then pool).

Both run on the same data in one process, alternating, and the ratio is printed:

    python bench/train_speed.py [--model convnet] [--images 20000] [--rounds 3] [--device cpu]

On a GPU (``--device cuda``) the reference moves each batch to the GPU as the notebook did;
the engine keeps the whole split there, and is measured twice: replaying each step as a
CUDA graph (its default there) and without (``--no-cuda-graphs``).
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import events as ev  # noqa: E402
from engine.data import MEAN, STD, load_dataset, split_dataset  # noqa: E402
from engine.data.idx import FILE_NAMES  # noqa: E402
from engine.locations import app_home, data_cache  # noqa: E402
from engine.models.zoo import build_model, forward_in_study_order  # noqa: E402
from engine.training.device import autocast_dtype, device_label, resolve_device  # noqa: E402
from engine.training.evaluation import evaluate  # noqa: E402
from engine.training.loop import (  # noqa: E402
    CudaGraphFailed,
    FastModel,
    TrainConfig,
    scorer_for,
    train,
)


def torchvision_folder(cache: Path) -> Path:
    """A root that torchvision's MNIST class reads: MNIST/raw/ linking to our idx files."""
    root = Path(tempfile.mkdtemp(prefix="mnist-bench-"))
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILE_NAMES.values():
        if (cache / name).is_file():
            (raw / name).symlink_to(cache / name)
        else:  # a cache of .gz files: torchvision reads only the unpacked ones
            (raw / name).write_bytes(gzip.decompress((cache / f"{name}.gz").read_bytes()))
    return root


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def notebook_forward(model, model_name: str, images):
    """The study's two networks in the notebook's order of operations; any other as it is."""
    if model_name in ("convnet", "convnet-bn"):
        return forward_in_study_order(model, images)
    return model(images)


def reference_train(root: Path, indices: list[int], model_name: str, device: torch.device) -> float:
    """One epoch over ``indices`` the notebook's way; training images per second."""
    from torch.utils.data import DataLoader, SubsetRandomSampler
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    dataset = datasets.MNIST(str(root), train=True, download=False, transform=transform)
    loader = DataLoader(dataset, batch_size=100, sampler=SubsetRandomSampler(indices))
    torch.manual_seed(0)
    model = build_model(model_name).to(device)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    model.train()
    start = time.perf_counter()
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        loss = F.cross_entropy(notebook_forward(model, model_name, images), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    synchronize(device)
    return len(indices) / (time.perf_counter() - start)


def reference_test(root: Path, model_name: str, device: torch.device) -> float:
    """The test set scored the notebook's way; images per second."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    dataset = datasets.MNIST(str(root), train=False, download=False, transform=transform)
    loader = DataLoader(dataset, batch_size=100)
    model = build_model(model_name).to(device).eval()
    start = time.perf_counter()
    correct = 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            correct += (
                (notebook_forward(model, model_name, images).argmax(1) == labels).sum().item()
            )
    return len(dataset) / (time.perf_counter() - start)


def engine_train(splits, model_name: str, device: torch.device, graphs: bool = True) -> float:
    """One epoch of the engine's own loop over the subset in ``splits``; images/s."""
    seen: list[ev.EpochEvaluated] = []

    def emit(event: ev.Event) -> None:
        if isinstance(event, ev.EpochEvaluated):
            seen.append(event)

    config = TrainConfig(model=model_name, epochs=1, device=device.type, cuda_graphs=graphs)
    train(config, splits, emit)
    return seen[0].images_per_s


def engine_test(splits, model_name: str, device: torch.device) -> float:
    config = TrainConfig(model=model_name, device=device.type)
    model = build_model(model_name).to(device)
    fast = FastModel(model, autocast_dtype(config.precision, device), True)
    result = evaluate(scorer_for(model, fast), splits.test.to(device), config.eval_batch_size)
    return len(splits.test) / result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        default="convnet",
        help="a network of the zoo (convnet, lenet5, ...) or FILE.py:Class",
    )
    parser.add_argument("--images", type=int, default=20_000, help="training images per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"])
    args = parser.parse_args()
    device = resolve_device(args.device)

    cache = data_cache(app_home())
    dataset = load_dataset(cache)
    full = split_dataset(dataset, seed=0)
    sub = split_dataset(dataset, seed=0, subset=args.images)
    # The reference samples as many images, drawn from the same 60,000.
    indices = torch.randperm(len(dataset.train_labels), generator=torch.Generator().manual_seed(0))
    indices = indices[: args.images].tolist()
    root = torchvision_folder(cache)
    print(f"{args.model}, {args.images:,} training images per round, {args.rounds} rounds,"
          f" {torch.get_num_threads()} threads, torch {torch.__version__}, {device_label(device)}")  # fmt: skip

    keys = ["ref_train", "eng_train", "ref_test", "eng_test"]
    on_gpu = device.type == "cuda"
    if on_gpu:
        keys.append("eager_train")
    rates: dict[str, list[float]] = {k: [] for k in keys}
    for round_ in range(args.rounds):
        rates["ref_train"].append(reference_train(root, indices, args.model, device))
        try:
            rates["eng_train"].append(engine_train(sub, args.model, device))
        except CudaGraphFailed as error:  # measured without, and said
            print(error)
            rates["eng_train"].append(float("nan"))
        if on_gpu:
            rates["eager_train"].append(engine_train(sub, args.model, device, graphs=False))
        rates["ref_test"].append(reference_test(root, args.model, device))
        rates["eng_test"].append(engine_test(full, args.model, device))
        print(f"round {round_ + 1}: " + "  ".join(f"{k} {v[-1]:,.0f}" for k, v in rates.items()))

    med = {k: statistics.median(v) for k, v in rates.items()}
    print()
    print(f"{'':<22}{'reference':>12}{'engine':>12}{'ratio':>8}")
    rows = [("train images/s", "ref_train", "eng_train"), ("test images/s", "ref_test", "eng_test")]
    if on_gpu:
        rows.insert(1, ("train, no CUDA graphs", "ref_train", "eager_train"))
    for label, ref, eng in rows:
        print(f"{label:<22}{med[ref]:>12,.0f}{med[eng]:>12,.0f}{med[eng] / med[ref]:>7.2f}x")


if __name__ == "__main__":
    main()
