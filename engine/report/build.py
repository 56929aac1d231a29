"""Make a report: check the runs, build each section in turn (with progress, cancellable
between sections), then write HTML or Markdown in one go — a cancelled or failed report
leaves no file behind, and the same runs give the same bytes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from engine import events as ev
from engine import runs
from engine.atomic import write_bytes
from engine.errors import UserFacing
from engine.report.context import Context, default_runs, report_run
from engine.report.document import Figure, Section
from engine.report.html import render_html
from engine.report.markdown import render_markdown
from engine.report.sections import SECTIONS

FORMATS = ("html", "md")


@dataclass
class Report:
    title: str
    lines: list[str]
    sections: list[Section]
    run_ids: list[str]
    seconds: float = 0.0

    @property
    def figures(self) -> int:
        return sum(isinstance(b, Figure) for s in self.sections for b in s.blocks)


def build_report(home: Path, names: list[str] | None = None, study: str | None = None,
                 emit: ev.Emit = ev.ignore, cancel=None) -> Report:  # fmt: skip
    """The report of the runs ``names`` (ids, prefixes, names or 'latest'; default: the
    latest finished convnet and convnet-bn) and of the study ``study``, if named."""
    start = time.perf_counter()
    study_object = None
    if study is not None:
        from engine.studies import load_study

        study_object = load_study(home, study)
    if names:
        run_dirs = [runs.find_run(home, name, needs="best") for name in names]
    elif study_object is not None:
        run_dirs = _study_runs(home, study_object)
    else:
        run_dirs = default_runs(home)
    unique = list(dict.fromkeys(run_dirs))
    ctx = Context(home, [report_run(d) for d in unique], study_object, emit, cancel)
    sections = []
    for done, (task, make) in enumerate(SECTIONS):
        ctx.check_cancel()
        emit(ev.ProgressMade(f"report: {task}", done, len(SECTIONS)))
        section = make(ctx)
        if section is not None:
            sections.append(section)
    emit(ev.ProgressMade("report", len(SECTIONS), len(SECTIONS)))
    labels = ", ".join(f"{r.label} ({r.id})" if r.summary.name else r.id for r in ctx.runs)
    lines = [f"Runs: {labels}." + (f" Study: {study}." if study else ""),
             "Made by mnist-tui from the runs' own records; every number and picture is"
             " computed from them. The paragraphs are the study's (EE5179, \"CNN on MNIST\")."]  # fmt: skip
    title = "A CNN on MNIST: trained, looked into and broken"
    return Report(title, lines, sections, [r.id for r in ctx.runs], time.perf_counter() - start)


def _study_runs(home: Path, study) -> list[Path]:
    """The first finished run of each group of a study (its seed-0 run, usually)."""
    from engine.studies import entry_key, group_label

    chosen: dict[str, Path] = {}
    for group, seed in study.entries():
        run_id = study.runs.get(entry_key(group, seed))
        label = group_label(group)
        if label in chosen or not run_id:
            continue
        run_dir = runs.runs_folder(home) / run_id
        if run_dir.is_dir() and runs.summarize(run_dir).status == "finished":
            chosen[label] = run_dir
    if not chosen:
        raise UserFacing(f"study {study.name} has no finished run yet to report on")
    return list(chosen.values())


def output_format(path: Path | None, fmt: str | None) -> str:
    """The format asked for, else the one the file name says, else HTML."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise UserFacing(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        return fmt
    return "md" if path is not None and path.suffix.lower() in (".md", ".markdown") else "html"


def default_output(home: Path, report_runs: list[str], fmt: str) -> Path:
    """Where a report goes unless told: the home's reports folder, named after its runs."""
    stem = report_runs[0] + (f"+{len(report_runs) - 1}" if len(report_runs) > 1 else "")
    return home / "reports" / f"report-{stem}.{fmt}"


def write_report(report: Report, path: Path, fmt: str) -> Path:
    """Write ``report`` to ``path`` (Markdown: with a ``<stem>_files`` folder of PNGs)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "html":
            write_bytes(path, render_html(report.title, report.lines, report.sections).encode())
            return path
        folder = path.parent / f"{path.stem}_files"
        text, files = render_markdown(report.title, report.lines, report.sections, folder.name)
        folder.mkdir(exist_ok=True)
        for name, png in files.items():
            write_bytes(folder / name, png)
        write_bytes(path, text.encode())
        return path
    except OSError as error:
        raise UserFacing(f"cannot write the report to {path}: {error.strerror}") from None
