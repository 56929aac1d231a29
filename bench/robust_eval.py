"""Robust training and robust evaluation, measured in one run:

- training: images/s of each defence (fgsm-rs, pgd, trades) against standard training, on
  the same real images, alternating; the ratio is what to quote;
- evaluation: this project's ``worst`` against torchattacks' AutoAttack (standard version:
  APGD-CE, APGD-T, FAB-T, Square) on one run's model and the same test images, with the
  images/s per attack step of each of our attacks. ``worst`` must not report more than 0.5
  points above AutoAttack.

    python bench/robust_eval.py RUN [--limit 500] [--eps 0.3] [--train-batches 60]
    python bench/robust_eval.py RUN --skip-train      # the evaluation only
    python bench/robust_eval.py RUN --skip-eval       # the training speeds only
    python bench/robust_eval.py RUN --device cuda     # on a GPU (default: the cpu)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import runs  # noqa: E402
from engine.attacks.robustness import robustness_curve  # noqa: E402
from engine.config import TrainConfig  # noqa: E402
from engine.data import load_dataset, split_dataset  # noqa: E402
from engine.locations import app_home, data_cache  # noqa: E402
from engine.models.zoo import build_model  # noqa: E402
from engine.pixels import PixelModel, to_pixels  # noqa: E402
from engine.training.device import autocast_dtype, device_label, resolve_device  # noqa: E402
from engine.training.loop import FastModel  # noqa: E402
from engine.training.robust import adversarial_loss  # noqa: E402


def training_rate(defence: str, splits, batches: int, device: torch.device) -> float:
    """Training images per second of ``batches`` batches of 100 under ``defence``."""
    config = TrainConfig(adversarial=defence, eps_warmup=0)
    torch.manual_seed(0)
    model = build_model("convnet").to(device, memory_format=torch.channels_last)
    fast = FastModel(model, autocast_dtype("auto", device), True)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    model.train()
    generator = torch.Generator(device=device).manual_seed(0)
    start = time.perf_counter()
    for batch in range(batches):
        raw = splits.train.images[batch * 100 : (batch + 1) * 100]
        labels = splits.train.labels[batch * 100 : (batch + 1) * 100]
        loss = adversarial_loss(fast, to_pixels(raw), labels, config, generator)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batches * 100 / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a finished run (id, prefix or latest)")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--eps", type=float, default=0.3)
    parser.add_argument("--train-batches", type=int, default=60)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-autoattack", action="store_true")
    parser.add_argument("--skip-eval", action="store_true", help="the training speeds only")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"])
    args = parser.parse_args()
    device = resolve_device(args.device)
    home = args.home or app_home()
    dataset = load_dataset(data_cache(home))
    splits = split_dataset(dataset, seed=0).to(device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {device_label(device)}")

    if not args.skip_train:
        rates = {}
        for defence in ("none", "fgsm-rs", "pgd", "trades", "none"):  # standard twice
            rate = training_rate(defence, splits, args.train_batches, device)
            rates.setdefault(defence, []).append(rate)
        standard = sum(rates["none"]) / len(rates["none"])
        print(f"training images/s, {args.train_batches} batches of 100 (pgd, trades: 10 steps)")
        for defence, values in rates.items():
            rate = sum(values) / len(values)
            print(f"  {defence:<8} {rate:8,.0f}  {standard / rate:5.2f}x the time of standard")

    if args.skip_eval:
        return
    run_dir = runs.find_run(home, args.run)
    model = runs.load_run_model(run_dir, device=str(device))
    test = splits.test
    print(f"\nevaluation of {run_dir.name} on the first {args.limit} test images, eps {args.eps}")
    ours = {}
    for attack in ("fgsm", "pgd", "apgd-ce", "apgd-dlr", "apgd-t", "worst"):
        point = robustness_curve(model, test, [args.eps], attack, limit=args.limit, steps=40,
                                 alpha=0.01, random_start=True)[0]  # fmt: skip
        ours[attack] = point.accuracy
        print(f"  {attack:<9} {point.accuracy:7.2%}  {point.seconds:7.1f} s"
              f"  {point.images_per_s_per_step:9,.0f} images/s per attack step")  # fmt: skip
    if args.skip_autoattack:
        return
    import torchattacks

    pixel_model = PixelModel(model)
    images = to_pixels(test.images[: args.limit])
    labels = test.labels[: args.limit]
    start = time.perf_counter()
    attack = torchattacks.AutoAttack(pixel_model, norm="Linf", eps=args.eps, version="standard",
                                     n_classes=10, seed=0)  # fmt: skip
    adversarial = attack(images, labels)
    with torch.no_grad():
        theirs = (pixel_model(adversarial).argmax(1) == labels).float().mean().item()
    seconds = time.perf_counter() - start
    gap = 100 * (ours["worst"] - theirs)
    print(f"  torchattacks AutoAttack {theirs:7.2%}  {seconds:7.1f} s")
    print(f"worst - AutoAttack: {gap:+.2f} points (must be <= +0.50)")


if __name__ == "__main__":
    main()
