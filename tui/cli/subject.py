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
    if args.run != run_dir.name:
        print(f"using run {run_dir.name} ({moment.label})", file=sys.stderr)
    device = resolve_device(getattr(args, "device", "cpu"))
    subject = load(args.home_path, run_dir, moment, str(device))
    if subject.notice:
        print(f"note: {subject.notice}", file=sys.stderr)
    return subject
