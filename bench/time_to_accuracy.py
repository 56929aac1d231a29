"""Time to accuracy: the training time (evaluation excluded) until the **test** accuracy
first reaches 99.0% and 99.3%, for a recipe over several seeds, with a 95% interval —
beside a loop written like the original notebook (torchvision's dataset and DataLoader,
batch 100, SGD 0.1 with momentum, the study's cosine), measured in the same run.

The test set is scored after every epoch (it stands in for the validation set here, which
is what makes this a time-to-*test*-accuracy figure; nothing is chosen on it).

    python bench/time_to_accuracy.py [--recipe fast] [--seeds 0-4] [--epochs E] [--reference]
                                     [--device cpu|cuda] [--set SETTING=VALUE ...]

``--set`` changes one setting of the recipe (a lever, measured alone: ``--set augment=0``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import events as ev  # noqa: E402
from engine.config import RECIPES, recipe_config  # noqa: E402
from engine.data import MEAN, STD, Splits, load_dataset, split_dataset  # noqa: E402
from engine.locations import app_home, data_cache  # noqa: E402
from engine.models.zoo import build_model, forward_in_study_order  # noqa: E402
from engine.studies import parse_seeds  # noqa: E402
from engine.studies.stats import interval  # noqa: E402
from engine.training.device import device_label, resolve_device  # noqa: E402
from engine.training.loop import train  # noqa: E402

GOALS = (0.990, 0.993, 0.995)
PLAIN: list[float] = []  # each seed's final test accuracy without test-time augmentation


def engine_curve(splits: Splits, recipe: str, seed: int, epochs: int | None, device: str,
                 graphs: bool = True, changes: dict | None = None) -> list:  # fmt: skip
    """(cumulative training seconds, test accuracy) after each epoch of the engine's run."""
    given = {"seed": seed, "device": device, "cuda_graphs": graphs, **(changes or {})}
    given |= {"epochs": epochs} if epochs else {}
    config = recipe_config(recipe, given)
    curve, total = [], 0.0

    def emit(event: ev.Event) -> None:
        nonlocal total
        if isinstance(event, ev.EpochEvaluated):
            total += event.seconds
            curve.append((total, event.val_accuracy))  # the test set, standing in for val
        elif isinstance(event, ev.TestEvaluated) and event.plain_test_accuracy is not None:
            PLAIN.append(event.plain_test_accuracy)  # with --set tta=on: the same without it

    train(config, splits, emit)
    return curve


def reference_curve(root: Path, dataset, seed: int, epochs: int, device: str) -> list:
    """The same, for the notebook-style loop (its DataLoader's time counted as training;
    on a GPU each batch is moved there, as the notebook did)."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    train_set = datasets.MNIST(str(root), train=True, download=False, transform=transform)
    torch.manual_seed(seed)
    loader = DataLoader(train_set, batch_size=100, shuffle=True)
    model = build_model("convnet").to(device)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs)
    test_x = ((dataset.test_images.float() / 255 - MEAN) / STD).unsqueeze(1).to(device)
    curve, total = [], 0.0
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            loss = F.cross_entropy(forward_in_study_order(model, images), labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        scheduler.step()
        if device == "cuda":
            torch.cuda.synchronize()
        total += time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            predicted = torch.cat([forward_in_study_order(model, x).argmax(1)
                                   for x in test_x.split(1000)])  # fmt: skip
        right = predicted.cpu() == dataset.test_labels
        curve.append((total, right.float().mean().item()))
    return curve


def first_reach(curve: list, goal: float) -> float:
    return next((seconds for seconds, accuracy in curve if accuracy >= goal), math.nan)


def show(label: str, curves: list[list]) -> None:
    finals = [c[-1][1] for c in curves]
    final = interval([100 * f for f in finals], (0.0, 100.0))
    spread = f" [{final.low:.2f}, {final.high:.2f}]" if final.n > 1 else ""
    parts = [f"{label:<24} final test {final.mean:.2f}%{spread}"]
    for goal in GOALS:
        times = [first_reach(c, goal) for c in curves]
        reached = [t for t in times if not math.isnan(t)]
        if not reached:
            parts.append(f"{100 * goal:.1f}%: never")
            continue
        iv = interval(reached, (0.0, math.inf))
        spread = f" [{iv.low:.1f}, {iv.high:.1f}]" if iv.n > 1 else ""
        parts.append(f"{100 * goal:.1f}%: {iv.mean:.1f} s{spread} ({len(reached)}/{len(times)})")
    print("  ".join(parts), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="fast", choices=RECIPES)
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's")
    parser.add_argument("--reference", action="store_true", help="also the notebook's loop")
    parser.add_argument("--reference-epochs", type=int, default=15)
    parser.add_argument(
        "--reference-seeds",
        type=int,
        default=1,
        help="how many of the seeds the (slow) reference runs (default 1)",
    )
    parser.add_argument("--also", choices=RECIPES, default=None, metavar="RECIPE",
                        help="another recipe measured in the same run, on the first"
                        " --also-seeds seeds (e.g. the study's beside the accurate one)")  # fmt: skip
    parser.add_argument("--also-seeds", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE",
                        help="a setting changed from the recipe's (repeatable)")  # fmt: skip
    parser.add_argument("--no-cuda-graphs", dest="cuda_graphs", action="store_false",
                        help="train without replaying the steps as CUDA graphs")  # fmt: skip
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    device = args.device
    from engine.config import SETTING

    changes = {}
    for change in args.set:
        name, _, value = change.partition("=")
        changes[name] = SETTING[name].parse(value)
    cache = data_cache(app_home())
    dataset = load_dataset(cache)
    print(f"{device_label(resolve_device(device))}, {torch.get_num_threads()} threads, torch"
          f" {torch.__version__}; recipe {args.recipe} {' '.join(args.set)}; seeds {args.seeds};"
          f" training seconds (evaluation excluded), mean [95% interval] over the seeds that"
          f" reached the goal", flush=True)  # fmt: skip
    # a throwaway run first: the first training in a process pays oneDNN's kernel set-up
    # (seen here: 34 s for an epoch that takes 18 s after it)
    warm = split_dataset(dataset, seed=0, subset=2000)
    train(recipe_config(args.recipe, {"device": device, "epochs": 1,
                                      "cuda_graphs": args.cuda_graphs}), warm)  # fmt: skip
    engine, reference, also = [], [], []
    for seed in seeds:
        full = split_dataset(dataset, seed=seed)
        splits = Splits(train=full.train, val=full.test, test=full.test)
        engine.append(
            engine_curve(splits, args.recipe, seed, args.epochs, device, args.cuda_graphs, changes)
        )
        print(f"seed {seed} {args.recipe}: " + ", ".join(f"{s:.1f} s {100 * a:.2f}%"
                                                          for s, a in engine[-1]), flush=True)  # fmt: skip
        if args.also and len(also) < args.also_seeds:
            also.append(engine_curve(splits, args.also, seed, None, device, args.cuda_graphs))
            print(f"seed {seed} {args.also}: " + ", ".join(f"{s:.1f} s {100 * a:.2f}%"
                                                          for s, a in also[-1]), flush=True)  # fmt: skip
        if args.reference and len(reference) < args.reference_seeds:
            from bench.train_speed import torchvision_folder

            reference.append(reference_curve(torchvision_folder(cache), dataset, seed,
                                             args.reference_epochs, device))  # fmt: skip
            print(f"seed {seed} notebook: " + ", ".join(f"{s:.1f} s {100 * a:.2f}%"
                                                        for s, a in reference[-1]), flush=True)  # fmt: skip
    print()
    show(f"engine, recipe {args.recipe}", engine)
    if PLAIN:
        plain = interval([100 * a for a in PLAIN], (0.0, 100.0))
        print(f"the same without test-time augmentation: {plain.mean:.2f}%"
              f" [{plain.low:.2f}, {plain.high:.2f}]")  # fmt: skip
    per_seed = [c[-1][1] for c in engine]
    worst = min(range(len(per_seed)), key=per_seed.__getitem__)
    print(
        f"lowest final: seed {seeds[worst]} {100 * per_seed[worst]:.2f}%;"
        f" {sum(f >= 0.99 for f in per_seed)}/{len(per_seed)} seeds end at 99.0% or more"
    )
    if also:
        show(f"engine, recipe {args.also}", also)
    if reference:
        show("notebook-style loop", reference)


if __name__ == "__main__":
    main()
