"""Headless commands about data and runs: `data`, `train`, `runs`, `follow`, `stop`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from rich.table import Table

from engine import runs, worker
from engine.config import TrainConfig
from engine.data import load_dataset, split_dataset
from engine.home import data_cache
from engine.models import MODELS
from tui.cli import (
    UserError,
    add_home,
    add_json,
    interruptible,
    make_console,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    print_json,
    wait_until,
)
from tui.train_output import PlainLines, make_output


def register(commands: argparse._SubParsersAction) -> None:
    defaults = TrainConfig()

    data = commands.add_parser(
        "data",
        help="where the data comes from, counts per split and class, MD5 check",
        description="Load the dataset (as training would) and report its source, the counts"
        " per split and per class, and whether the files match the official MD5s.",
    )
    add_data_options(data)
    data.add_argument("--seed", type=non_negative_int, default=defaults.seed)
    add_home(data)
    add_json(data)
    data.set_defaults(handler=data_command)

    train = commands.add_parser(
        "train",
        help="train a model (SPEC §3 defaults); --detach to run it in the background",
        description="Train a model on MNIST with SGD, momentum, weight decay and cosine annealing."
        " Ctrl-C (or `mnist-tui stop`) finishes the batch, saves last.pt and stops cleanly.",
    )
    train.add_argument("--model", choices=list(MODELS), default=defaults.model)
    train.add_argument("--epochs", type=positive_int, default=defaults.epochs)
    train.add_argument("--lr", type=positive_float, default=defaults.lr, help="learning rate")
    train.add_argument("--momentum", type=non_negative_float, default=defaults.momentum)
    train.add_argument("--weight-decay", type=non_negative_float, default=defaults.weight_decay)
    train.add_argument("--batch-size", type=positive_int, default=defaults.batch_size)
    train.add_argument(
        "--eval-batch-size",
        type=positive_int,
        default=defaults.eval_batch_size,
        help="batch size for validation and test (results do not depend on it)",
    )
    train.add_argument("--seed", type=non_negative_int, default=defaults.seed)
    train.add_argument(
        "--augment",
        type=non_negative_int,
        default=defaults.augment,
        metavar="PIXELS",
        help="shift each training image randomly by up to this many pixels (default 0: none,"
        " as in the study)",
    )
    train.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default=defaults.device)
    train.add_argument(
        "--precision",
        choices=["auto", "bf16", "fp32"],
        default=defaults.precision,
        help="auto: bfloat16 autocast where the hardware has it (default)",
    )
    train.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=defaults.channels_last,
        help="NHWC memory layout for the convolutions (default: on)",
    )
    add_data_options(train)
    train.add_argument(
        "--detach", action="store_true", help="run in the background; print the run id and return"
    )
    train.add_argument(
        "--resume", metavar="RUN", help="continue a stopped run from its last.pt (id or 'latest')"
    )
    add_home(train)
    add_json(train, "every event, one JSON line each,")
    train.set_defaults(handler=train_command)

    listing = commands.add_parser("runs", help="list the runs on this machine")
    add_home(listing)
    add_json(listing)
    listing.set_defaults(handler=runs_command)

    follow = commands.add_parser(
        "follow", help="show a run's progress live until it ends (or a finished run's summary)"
    )
    follow.add_argument("run", metavar="RUN", help="run id, id prefix, or 'latest'")
    add_home(follow)
    add_json(follow, "every event, one JSON line each,")
    follow.set_defaults(handler=follow_command)

    stop = commands.add_parser("stop", help="stop a running run gracefully (it can be resumed)")
    stop.add_argument("run", metavar="RUN", help="run id, id prefix, or 'latest'")
    stop.add_argument(
        "--wait", type=non_negative_float, default=60.0, help="seconds to wait for it to stop"
    )
    add_home(stop)
    stop.set_defaults(handler=stop_command)


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", metavar="DIR", help="a folder with the four MNIST-format idx files (.gz or not)"
    )
    parser.add_argument(
        "--subset", type=positive_int, help="train on a stratified N-image subset (quick runs)"
    )


# --- data ----------------------------------------------------------------------------------


def data_command(args: argparse.Namespace) -> int:
    folder = Path(args.data) if args.data else None
    dataset = load_dataset(data_cache(args.home_path), folder=folder)
    splits = split_dataset(dataset, seed=args.seed, subset=args.subset)
    counts = {
        "train": splits.train.class_counts(len(dataset.classes)),
        "val": splits.val.class_counts(len(dataset.classes)),
        "test": splits.test.class_counts(len(dataset.classes)),
    }
    if args.json:
        print_json(
            {
                "name": dataset.name,
                "source": dataset.source,
                "classes": dataset.classes,
                "counts": counts,
                "md5": dataset.md5,
                "md5_matches_official": dataset.md5_matches,
            }
        )
        return 0
    console = make_console()
    console.print(f"[bold]{dataset.name}[/] from {dataset.source}")
    table = Table(title=f"Images per class (stratified split, seed {args.seed})")
    table.add_column("class")
    for split in counts:
        table.add_column(split, justify="right")
    for i, name in enumerate(dataset.classes):
        table.add_row(f"{i} {name}", *(f"{counts[s][i]:,}" for s in counts))
    table.add_row("[bold]total", *(f"[bold]{sum(counts[s]):,}" for s in counts))
    console.print(table)
    verdict = {
        True: "[green]all four match the official MNIST MD5s",
        False: "[red]do NOT match the official MNIST MD5s",
        None: "(not MNIST: no official sums)",
    }
    console.print(f"MD5: {verdict[dataset.md5_matches]}")
    for role, digest in dataset.md5.items():
        console.print(f"  {role:<13} {digest}")
    return 0


# --- train ---------------------------------------------------------------------------------


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    config = TrainConfig(
        model=args.model,
        epochs=args.epochs,
        lr=args.lr,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        batch_size=args.batch_size,
        eval_batch_size=args.eval_batch_size,
        seed=args.seed,
        augment=args.augment,
        device=args.device,
        subset=args.subset,
        data=str(Path(args.data).expanduser().resolve()) if args.data else None,
        precision=args.precision,
        channels_last=args.channels_last,
    )
    config.validate()
    return config


def train_command(args: argparse.Namespace) -> int:
    home = args.home_path
    if args.resume:
        run_dir = runs.find_run(args.home_path, args.resume)
        summary = runs.summarize(run_dir)
        if summary.status == "running":
            raise UserError(f"run {run_dir.name} is still running; follow it instead")
        if summary.status == "finished":
            raise UserError(f"run {run_dir.name} has finished; nothing to resume")
        if not (run_dir / "last.pt").is_file():
            raise UserError(f"run {run_dir.name} has no last.pt to resume from; start a new run")
        config = runs.read_config(run_dir)
    else:
        config = config_from_args(args)
        run_dir = None
    from engine.training import resolve_device

    resolve_device(config.device)  # an unavailable device is a user error, said now
    # Load the data here, so a missing dataset is reported before any run is made.
    dataset = load_dataset(data_cache(home), folder=Path(config.data) if config.data else None)
    if run_dir is None:
        run_dir = runs.create_run(home, config)

    if args.detach:
        pid = worker.detach(run_dir, home, resume=bool(args.resume))
        if args.json:
            print_json({"run": run_dir.name, "pid": pid, "path": str(run_dir)})
        else:
            print(run_dir.name)
            print(
                f"started in the background (pid {pid}); `mnist-tui follow {run_dir.name}`"
                " to watch it, `mnist-tui stop` to stop it",
                file=sys.stderr,
            )
        return 0

    output = make_output(args.json, dataset.classes)
    cancel = interruptible()
    try:
        summary = worker.execute(
            run_dir,
            home,
            resume=bool(args.resume),
            listeners=[output],
            cancel=cancel,
            dataset=dataset,
        )
    finally:
        output.close()
    return 0 if summary.status in ("finished", "stopped") else 1


# --- runs, follow, stop --------------------------------------------------------------------


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def runs_command(args: argparse.Namespace) -> int:
    summaries = [runs.summarize(run_dir) for run_dir in runs.list_runs(args.home_path)]
    if args.json:
        print_json([asdict(s) for s in summaries])
        return 0
    console = make_console()
    if not summaries:
        console.print("no runs yet; start one with `mnist-tui train` (add --detach for background)")
        return 0
    colour = {"running": "cyan", "finished": "green", "stopped": "yellow", "failed": "red"}
    table = Table(title=f"Runs in {args.home_path}")
    for name in ("id", "model", "status", "epoch", "best val", "test acc", "train s", "started"):
        left = name in ("id", "model", "status")
        table.add_column(name, justify="left" if left else "right", no_wrap=True)
    for s in summaries:
        table.add_row(
            s.id,
            s.model,
            f"[{colour[s.status]}]{s.status}[/]",
            f"{s.epoch}/{s.epochs}",
            percent(s.best_val_accuracy),
            percent(s.test_accuracy),
            "-" if s.train_seconds is None else f"{s.train_seconds:.0f}",
            s.started,
        )
    console.print(table)
    return 0


def follow_command(args: argparse.Namespace) -> int:
    run_dir = runs.find_run(args.home_path, args.run)
    summary = runs.summarize(run_dir)
    live = summary.status == "running"
    output = make_output(args.json)
    if not live and not args.json:
        output = PlainLines()  # a finished run: its story in lines, no bars to replay
    cancel = interruptible()
    try:
        for event in runs.follow(run_dir, cancel=cancel):
            output(event)
    finally:
        output.close()
    if cancel.is_set():
        print(
            f"\nstopped following; the run goes on. `mnist-tui follow {run_dir.name}` to"
            " come back.",
            file=sys.stderr,
        )
        return 0
    final = runs.summarize(run_dir)
    if final.status == "failed" and not args.json:
        print(f"run {run_dir.name} failed: {final.error}", file=sys.stderr)
    return 0 if final.status in ("finished", "stopped") else 1


def stop_command(args: argparse.Namespace) -> int:
    run_dir = runs.find_run(args.home_path, args.run)
    if not runs.stop(run_dir):
        status = runs.summarize(run_dir).status
        raise UserError(f"run {run_dir.name} is not running (it is {status})")
    print(f"asked run {run_dir.name} to stop; waiting for it to save last.pt ...")
    if not wait_until(lambda: not runs.process_alive(run_dir), args.wait):
        print(f"it is still running after {args.wait:.0f} s; check `mnist-tui runs`")
        return 1
    summary = runs.summarize(run_dir)
    print(f"run {run_dir.name}: {summary.status} after {summary.epoch} epochs")
    return 0
