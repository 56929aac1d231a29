"""Headless commands about data and runs: `data`, `train`, `runs`, `follow`, `stop`,
`name`, `delete`, `trust`, `import` and `export`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from rich.table import Table

from engine import runs
from engine.config import SETTING
from engine.errors import RunDamaged
from engine.locations import data_cache
from engine.runs.snapshots import BEST, CHECKPOINTS, LAST
from engine.runs.state import DAMAGED, FAILED, FINISHED, RUNNING, STOPPED
from tui.cli.console import interruptible, make_console, print_json, progress_bar, wait_until
from tui.cli.options import (
    RUN_HELP,
    UserError,
    add_json,
    add_moment_options,
    add_recipe,
    add_settings,
    add_shared_options,
    config_from_args,
    given_settings,
    non_negative_float,
    nonblank,
)
from tui.cli.train_output import PlainLines, make_output
from tui.draw.tables import runs_table


def register(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser(
        "data",
        help="where the data comes from, counts per split and class, MD5 check",
        description="Load the dataset (as training would) and report its source, the counts"
        " per split and per class, and whether the files match the official MD5s.",
    )
    add_settings(data, ("data", "subset", "seed"))
    add_shared_options(data)
    add_json(data)
    data.set_defaults(handler=data_command)

    train = commands.add_parser(
        "train",
        help="train a model (study §3 defaults); --detach to run it in the background",
        description="Train a model on MNIST with SGD (momentum, weight decay; or Adam) and a"
        " learning-rate schedule: by default the study's recipe; --recipe fast for 99% in one"
        " epoch of a smaller network. Ctrl-C (or `mnist-tui stop`) finishes"
        " the batch, saves last.pt and stops cleanly.",
    )
    add_recipe(train)
    add_settings(train, only_given=True)
    train.add_argument(
        "--detach", action="store_true", help="run in the background; print the run id and return"
    )
    train.add_argument(
        "--resume",
        metavar="RUN",
        help="continue a stopped run from its last.pt (id, id prefix or 'latest': the newest"
        " run with a last.pt); the run's own settings are used",
    )
    add_shared_options(train)
    add_json(train, "every event, one JSON line each,")
    train.set_defaults(handler=train_command)

    listing = commands.add_parser("runs", help="list the runs on this machine")
    add_shared_options(listing)
    add_json(listing)
    listing.set_defaults(handler=runs_command)

    follow = commands.add_parser(
        "follow", help="show a run's progress live until it ends (or a finished run's summary)"
    )
    follow.add_argument("run", metavar="RUN", help=RUN_HELP)
    add_shared_options(follow)
    add_json(follow, "every event, one JSON line each,")
    follow.set_defaults(handler=follow_command)

    delete = commands.add_parser("delete", help="delete a run and its files (asks first)")
    delete.add_argument("run", metavar="RUN", help=RUN_HELP)
    delete.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    add_shared_options(delete)
    delete.set_defaults(handler=delete_command)

    name = commands.add_parser("name", help="give a run a name to list it and call it by")
    name.add_argument("run", metavar="RUN", help=RUN_HELP)
    name.add_argument("name", metavar="NAME", help="the new name ('' removes it)")
    add_shared_options(name)
    name.set_defaults(handler=name_command)

    export = commands.add_parser(
        "export", help="a run out: ONNX (checked by onnxruntime), safetensors, TensorBoard logs",
        description="Send a run's network out of mnist-tui. --onnx: the network with its"
        " normalisation inside, taking raw pixels (float32 (N, 1, 28, 28) in [0, 1], white"
        " digit on black), giving the ten logits, any batch size; its metadata holds the"
        " run's id, classes, test accuracy and the preprocessing a picture needs; checked at"
        " export by onnxruntime on 1,000 test images. --safetensors: the weights with the"
        " run's settings as metadata (mnist-tui import FILE.safetensors reads it back)."
        " --tensorboard: the run's logs from its own log and snapshots, as `train"
        " --tensorboard DIR` writes them live. --onnx and --safetensors need the export"
        " extra, --tensorboard the tensorboard extra.",
    )  # fmt: skip
    export.add_argument("run", metavar="RUN", help=RUN_HELP)
    export.add_argument("--onnx", metavar="FILE", type=nonblank("a file"),
                        help="write the network as ONNX to FILE (e.g. digits.onnx)")  # fmt: skip
    export.add_argument("--safetensors", metavar="FILE", type=nonblank("a file"),
                        help="write the weights as safetensors to FILE")  # fmt: skip
    export.add_argument("--tensorboard", metavar="DIR", type=nonblank("a folder"),
                        help="the folder of TensorBoard logs (the run goes in DIR/RUN_ID)")  # fmt: skip
    export.add_argument("--checkpoint", choices=CHECKPOINTS, default=BEST,
                        help="which checkpoint's weights for --onnx and --safetensors"
                        " (default: best)")  # fmt: skip
    add_moment_options(export, " (--onnx and --safetensors)")
    add_shared_options(export)
    export.set_defaults(handler=export_command)

    trusted = commands.add_parser(
        "trust", help="let a run's network code run here (a run copied from elsewhere)",
        description="A run trained with --model FILE.py:Class keeps a copy of that file and"
        " builds its network from it, which runs its code. Code named on this machine is"
        " trusted; a run folder copied or unpacked from elsewhere is not run until you read"
        " its model.py and trust it here (by its SHA-256: an edit makes it untrusted again).",
    )  # fmt: skip
    trusted.add_argument("run", metavar="RUN", help=RUN_HELP)
    add_shared_options(trusted)
    trusted.set_defaults(handler=trust_command)

    imported = commands.add_parser(
        "import", help="weights trained elsewhere as a run: every analysis works on it",
        description="Make a run of a state dict saved elsewhere (torch.save(model.state_dict()),"
        " a dict holding one under 'state_dict' or 'model', or a .safetensors file; one that"
        " `export --safetensors` wrote brings its network and settings, so --model may be left"
        " out), for a network of the zoo or"
        " your own FILE.py:Class: its keys and shapes are checked, its validation and test"
        " accuracy measured; the run is listed as 'imported'. The file is read with"
        " torch.load(weights_only=True): tensors only, no code.",
    )  # fmt: skip
    imported.add_argument(
        "weights", metavar="WEIGHTS", help="the file of weights: .pt, .pth or .safetensors"
    )
    add_settings(
        imported,
        ("model", "model_args", "data", "seed", "subset", "eval_batch_size"),
        only_given=True,
    )
    add_shared_options(imported)
    add_json(imported, "the run's summary")
    imported.set_defaults(handler=import_command)

    stop = commands.add_parser("stop", help="stop a running run gracefully (it can be resumed)")
    stop.add_argument("run", metavar="RUN", help=RUN_HELP)
    stop.add_argument(
        "--wait", type=non_negative_float, default=60.0, help="seconds to wait for it to stop"
    )
    add_shared_options(stop)
    stop.set_defaults(handler=stop_command)


# --- data ----------------------------------------------------------------------------------


def data_command(args: argparse.Namespace) -> int:
    from engine.data import load_dataset, split_dataset

    folder = Path(args.data).expanduser() if args.data else None
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
    table.add_column("class")  # digits are their own names; other datasets add theirs
    for split in counts:
        table.add_column(split, justify="right")
    for i, name in enumerate(dataset.classes):
        label = name if name == str(i) else f"{i} {name}"
        table.add_row(label, *(f"{counts[s][i]:,}" for s in counts))
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


def train_command(args: argparse.Namespace) -> int:
    from engine import launch

    home = args.home_path
    if args.resume is not None:
        ignored = [SETTING[name].flag for name in given_settings(args)]
        ignored += ["--recipe"] if args.recipe != "study" else []
        if ignored:
            raise UserError(f"--resume continues a run with its own settings: leave out"
                            f" {', '.join(ignored)} (or start a new run)")  # fmt: skip
        prepared = launch.prepare_resume(home, runs.find_run(home, args.resume, needs=LAST))
    else:
        prepared = launch.prepare(home, config_from_args(args))
    if args.detach:
        run_dir, pid, _ = launch.start(home, prepared, detach=True)
        if args.json:
            print_json({"run": run_dir.name, "pid": pid, "path": str(run_dir)})
        else:
            print(run_dir.name)
            print(
                f"started in the background (pid {pid}); `mnist-tui follow {run_dir.name}`"
                f" to watch it, `mnist-tui stop {run_dir.name}` to stop it",
                file=sys.stderr,
            )
        return 0

    output = make_output(args.json, prepared.dataset.classes)
    cancel = interruptible(hangup=True)
    try:
        _, _, summary = launch.start(
            home, prepared, detach=False, listeners=[output], cancel=cancel
        )
    finally:
        output.close()
    return 0 if summary.status in (FINISHED, STOPPED) else 1


# --- runs, follow, stop --------------------------------------------------------------------


def runs_command(args: argparse.Namespace) -> int:
    summaries = [runs.summarize(run_dir) for run_dir in runs.list_runs(args.home_path)]
    if args.json:
        print_json([asdict(s) for s in summaries])
        return 0
    console = make_console()
    if not summaries:
        console.print("no runs yet; start one with `mnist-tui train` (add --detach for background)")
        return 0
    console.print(runs_table(summaries, title=f"Runs in {args.home_path}"))
    for s in summaries:
        if s.status == DAMAGED:
            console.print(f"[red]damaged[/] {s.id}: {s.error}", highlight=False)
    return 0


def follow_command(args: argparse.Namespace) -> int:
    run_dir = runs.find_run(args.home_path, args.run, needs="any")
    summary = runs.summarize(run_dir)
    if summary.status == DAMAGED:
        raise RunDamaged(f"run {run_dir.name} is damaged: {summary.error}")
    live = summary.status == RUNNING
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
    if final.status == FAILED and not args.json:
        print(f"run {run_dir.name} failed: {final.error}", file=sys.stderr)
    return 0 if final.status in (FINISHED, STOPPED) else 1


def stop_command(args: argparse.Namespace) -> int:
    from engine.runs import process as run_process

    run_dir = runs.find_run(args.home_path, args.run, needs="any")
    asked, why = run_process.stop(run_dir)
    if not asked:
        status = runs.summarize(run_dir).status
        raise UserError(f"run {run_dir.name} is not running (it is {status}): {why}")
    print(f"asked run {run_dir.name} to stop; waiting for it to save last.pt ...")
    if not wait_until(lambda: not run_process.process_alive(run_dir), args.wait):
        print(f"it is still running after {args.wait:.0f} s; check `mnist-tui runs`")
        return 1
    summary = runs.summarize(run_dir)
    print(f"run {run_dir.name}: {summary.status} after {summary.epoch} epochs")
    return 0


def delete_command(args: argparse.Namespace) -> int:
    run_dir = runs.find_run(args.home_path, args.run, needs="any")
    summary = runs.summarize(run_dir)
    what = f"run {run_dir.name} ({summary.status}, {summary.epoch}/{summary.epochs} epochs)"
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError(f"delete {what}? add --yes to confirm without a terminal")
        answer = input(f"delete {what} and all its files? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 0
    runs.delete_run(run_dir)
    print(f"deleted {what}")
    return 0


def name_command(args: argparse.Namespace) -> int:
    run_dir = runs.find_run(args.home_path, args.run, needs="any")
    runs.name_run(run_dir, args.name)
    shown = runs.read_name(run_dir)
    print(
        f"run {run_dir.name} is now called {shown!r}"
        if shown
        else f"run {run_dir.name} has no name"
    )
    return 0


def export_command(args: argparse.Namespace) -> int:
    from engine import atomic

    if not (args.onnx or args.safetensors or args.tensorboard):
        raise UserError("say what to write: --onnx FILE, --safetensors FILE or --tensorboard DIR")
    if args.tensorboard and (args.epoch or args.at):
        raise UserError("--tensorboard writes the whole run: --epoch and --at are for --onnx"
                        " and --safetensors")  # fmt: skip
    # Every package and every destination checked before anything is read or written.
    targets = {}
    if args.onnx:
        from engine.export import onnx_model

        onnx_model.check_available()
        targets["onnx"] = atomic.writable_target(Path(args.onnx), "ONNX")
    if args.safetensors:
        from engine.export import safetensors_weights

        safetensors_weights.check_available()
        targets["safetensors"] = atomic.writable_target(Path(args.safetensors), "safetensors")
    if args.tensorboard:
        from engine.export.tensorboard import check_available

        check_available()
    if len(set(targets.values())) < len(targets):
        raise UserError("--onnx and --safetensors name the same file: give each its own")
    run_dir = runs.find_run(args.home_path, args.run)
    if targets:
        export_weights(args, run_dir, targets)
    if args.tensorboard:
        from rich.console import Console

        from engine.export.tensorboard import export

        with progress_bar(Console(stderr=True), "tensorboard") as bar:
            folder = export(args.home_path, run_dir, Path(args.tensorboard).expanduser().resolve(),
                            bar)  # fmt: skip
        print(f"TensorBoard logs of run {run_dir.name} written to {folder}; to see them:"
              f" tensorboard --logdir {folder.parent}")  # fmt: skip
    return 0


def export_weights(args: argparse.Namespace, run_dir: Path, targets: dict[str, Path]) -> None:
    """--onnx and --safetensors: the run's network at the moment asked for."""
    import json

    from rich.console import Console

    from engine.subject import load_subject
    from tui.cli.subject import moment_of

    moment = moment_of(args)
    subject = load_subject(args.home_path, run_dir, moment)
    config = runs.read_config(run_dir)
    metadata = {"run_id": run_dir.name, "moment": str(moment), "model": config.model,
                "model_args": config.model_args, "classes": json.dumps(subject.classes),
                "settings": json.dumps(config.to_dict())}  # fmt: skip
    if "safetensors" in targets:
        from engine.export.safetensors_weights import write_safetensors

        count = write_safetensors(subject.model, targets["safetensors"], metadata)
        print(f"wrote the weights of run {run_dir.name} ({moment.label}) to"
              f" {targets['safetensors']}: {count} tensors, the run's settings as metadata")  # fmt: skip
    if "onnx" in targets:
        from engine.export.onnx_model import export_onnx

        with progress_bar(Console(stderr=True), "onnx") as bar:
            done = export_onnx(subject, targets["onnx"], metadata, bar)
        print(f"wrote run {run_dir.name} ({moment.label}, test accuracy"
              f" {done.test_accuracy:.2%}) to {done.path} as ONNX: input 'pixels' float32"
              f" (N, 1, 28, 28) in [0, 1], output 'logits'; onnxruntime agrees with torch on"
              f" {done.agreed:,} of {done.checked:,} test images, largest logit difference"
              f" {done.max_logit_difference:.1e}")  # fmt: skip


def trust_command(args: argparse.Namespace) -> int:
    from engine.models import files as model_files

    run_dir = runs.find_run(args.home_path, args.run, needs="any")
    if not model_files.is_model_file(runs.read_config(run_dir).model):
        print(f"run {run_dir.name} trains a network of the zoo: it runs no code of its own")
        return 0
    copy = model_files.run_source_unchecked(run_dir)
    digest = model_files.trust(args.home_path, copy)
    lines = copy.read_text(encoding="utf-8", errors="replace").splitlines()
    print(f"trusted {copy} ({len(lines)} lines, sha256 {digest[:12]}): it runs when run"
          f" {run_dir.name} is analysed, resumed or reported; an edit makes it untrusted again")  # fmt: skip
    return 0


def import_command(args: argparse.Namespace) -> int:
    from pathlib import Path

    from engine import runs
    from engine.config import TrainConfig
    from engine.importing import import_weights, settings_in

    # A setting given wins; else what a safetensors file written by `export` says; else the
    # declared default.
    values = {**settings_in(Path(args.weights).expanduser()), **given_settings(args)}
    run_dir = import_weights(args.home_path, Path(args.weights), TrainConfig(**values))
    summary = runs.summarize(run_dir)
    if args.json:
        print_json(summary.__dict__)
        return 0
    print(f"imported {args.weights} as run {run_dir.name} ({summary.model}): validation"
          f" {summary.best_val_accuracy:.2%}, test {summary.test_accuracy:.2%}")  # fmt: skip
    return 0
