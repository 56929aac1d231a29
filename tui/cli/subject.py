"""The subject of an analysis command: the run named on the command line (or the latest
one with a best checkpoint), said on stderr so the user knows which model answered."""

from __future__ import annotations

import argparse
import sys


def moment_of(args: argparse.Namespace):
    """The weights asked for (engine.runs.snapshots.Moment): --at, --epoch N, else
    --checkpoint (best where the command has no --checkpoint)."""
    from engine.runs.snapshots import BEST, Moment

    return Moment.asked(getattr(args, "epoch", None), getattr(args, "at", None),
                        getattr(args, "checkpoint", BEST))  # fmt: skip


def subject_of_args(args: argparse.Namespace):
    """The engine's Subject for ``args.run`` and ``args.checkpoint``, on ``args.device``
    where the command has that option (the CPU otherwise)."""
    from engine import runs
    from engine.subject import load_subject as load
    from engine.training.device import resolve_device

    run_dir = runs.find_run(args.home_path, args.run)
    moment = moment_of(args)
    say_run(args, run_dir, moment)
    device = resolve_device(getattr(args, "device", "cpu"))
    subject = load(args.home_path, run_dir, moment, str(device))
    say_notice(subject.notice)
    return subject


def say_run(args: argparse.Namespace, run_dir, moment) -> None:
    """On stderr, the run a short name or `latest` picked, and its moment."""
    if args.run != run_dir.name:
        print(f"using run {run_dir.name} ({moment.label})", file=sys.stderr)


def say_notice(notice: str | None) -> None:
    """On stderr, what the user should know of the run (its model file changed ...)."""
    if notice:
        print(f"note: {notice}", file=sys.stderr)
