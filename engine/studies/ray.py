"""A study's runs as Ray tasks, on a Ray cluster (`ray start --head` on one machine, `ray
start --address ...` on the others, or inside a Slurm allocation as Ray documents) or on a
Ray instance started here. Ray schedules; nothing here is a scheduler of its own.

Each run is still an ordinary run folder under the home, so the home must be a filesystem
every node sees (NFS, a cluster filesystem): that is checked before any run starts, by a
task that looks for a file the driver has just written. The engine must be installed on
every node (`pip install mnist-tui[cluster]`).
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

from engine import runs
from engine.errors import UserFacing
from engine.studies import Progress, Study, lock_study, pending, progress, record_run

EXTRA = "pip install 'mnist-tui[cluster]'"


def _node_sees(home: str, marker: str) -> str:
    """On a worker: '' if the marker is visible there, else the node's name."""
    import socket

    return "" if Path(home, marker).exists() else socket.gethostname()


def _train(home: str, run_dir: str, resume: bool, threads: int) -> str:
    """On a worker: carry out one run (holding its lock) and return its status."""
    import os

    from engine import launch
    from engine.runs import process as run_process

    lock = run_process.take_lock(Path(run_dir))
    try:
        summary = launch.execute(Path(run_dir), Path(home), resume=resume, threads=max(1, threads))
    finally:
        os.close(lock)
    return summary.status


def run_study_on_ray(
    home: Path, study: Study, address: str | None, cpus_per_run: int = 1, say=lambda text: None
) -> Progress:
    """The study's pending runs on Ray at ``address`` (None: a local instance), holding the
    study's lock meanwhile."""
    import os

    lock = lock_study(home, study.name)
    try:
        run_on_ray(home, study, address, cpus_per_run, say)
    finally:
        os.close(lock)
    return progress(home, study)


@contextlib.contextmanager
def connected(address: str | None):
    """Ray, joined at ``address`` (None: a new local instance) unless this process has it
    already; left again at the end if it was joined here. UserFacing without Ray or where
    nothing answers."""
    try:
        import ray
    except ImportError:
        raise UserFacing(f"--executor ray needs Ray: {EXTRA}") from None
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     logging_level="ERROR")  # fmt: skip
        except Exception as error:  # a wrong address, a cluster that is gone
            raise UserFacing(
                f"cannot reach Ray at {address or 'a new local instance'}: {error}"
            ) from None
    try:
        yield ray
    finally:
        if started_here:
            ray.shutdown()


def run_on_ray(home: Path, study: Study, address: str | None, cpus_per_run: int, say) -> None:
    """Every pending run of the study as a Ray task with its CPU (or GPU) request."""
    with connected(address) as ray:
        check_shared_home(ray, home, Path("studies") / study.name)
        work = []
        for key, group, seed, action in pending(home, study):
            config = study.config(group, seed)
            if action == "resume":
                run_dir = runs.run_folder(home, study.runs[key])
            else:
                run_dir = runs.create_run(home, config)
                record_run(home, study, key, run_dir)
            gpus = 1 if config.device == "cuda" else 0
            task = ray.remote(num_cpus=cpus_per_run, num_gpus=gpus)(_train)
            say(
                f"{key}: {'resuming' if action == 'resume' else 'training'} {run_dir.name} as a Ray task"
            )
            work.append(
                (key, task.remote(str(home), str(run_dir), action == "resume", cpus_per_run))
            )
        for key, ref in work:
            try:
                say(f"{key}: {ray.get(ref)}")
            except Exception as error:  # the run's own log says why, RunFailed included
                say(f"{key}: failed ({str(error).splitlines()[0]})")


def check_shared_home(ray, home: Path, folder: Path) -> None:
    """UserFacing unless every live node sees a file written now in ``home/folder``: a
    task pinned to each node looks for it."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    marker = folder / f".node-check-{secrets.token_hex(4)}"
    (home / marker).write_text("")
    try:
        refs = [
            ray.remote(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(
                node["NodeID"], soft=False))(_node_sees).remote(str(home), str(marker))
            for node in ray.nodes()
            if node.get("Alive")
        ]  # fmt: skip
        missing = [name for name in ray.get(refs) if name]
    finally:
        (home / marker).unlink(missing_ok=True)
    if missing:
        raise UserFacing(
            f"the home {home} is not visible on {', '.join(missing)}: on a cluster it must be a"
            " filesystem every node sees (give --home a shared folder)"
        )
