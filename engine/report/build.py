"""Make a report: check the runs, build each section in turn (with progress, cancellable
between sections), then write HTML or Markdown in one go — a cancelled or failed report
leaves no file behind, and the same runs give the same bytes."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from engine import events as ev
from engine import runs
from engine.atomic import write_bytes
from engine.errors import UserFacing
from engine.report.context import Context, default_runs, report_run
from engine.report.document import Figure, Section, number_sections
from engine.report.html import render_html
from engine.report.markdown import render_markdown
from engine.report.sections import SECTIONS
from engine.runs.state import FINISHED

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
    latest finished run of each network, see default_runs) and of the study ``study``, if named."""
    start = time.perf_counter()
    study_object = None
    if study is not None:
        from engine.studies import load_study

        study_object = load_study(home, study)
    if names:
        run_dirs = [runs.find_run(home, name) for name in names]
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
        try:
            section = make(ctx)
        except UserFacing as error:  # e.g. a weak run gets no digit right to attack
            section = unmade_section(task, str(error).splitlines()[0])
        if isinstance(section, list):
            sections.extend(section)
        elif section is not None:
            sections.append(section)
    number_sections(sections)
    emit(ev.ProgressMade("report", len(SECTIONS), len(SECTIONS)))
    labels = ", ".join(f"{r.label} ({r.id})" if r.summary.name else r.id for r in ctx.runs)
    lines = [f"Runs: {labels}." + (f" Study: {study}." if study else ""),
             "Made by mnist-tui from the runs' own records; every number and picture is"
             " computed from them. The paragraphs are the study's (EE5179, \"CNN on MNIST\")."]  # fmt: skip
    title = "A CNN on MNIST: trained, looked into and broken"
    return Report(title, lines, sections, [r.id for r in ctx.runs], time.perf_counter() - start)


def unmade_section(task: str, reason: str) -> Section:
    """In place of a section its runs cannot give: what it would have shown, and why not."""
    from engine.report.document import Text

    return Section(task.replace(" ", "-"), f"{task[0].upper()}{task[1:]}: not made").add(
        Text(
            f"This section could not be made from these runs: {reason}. A longer run (more"
            " epochs, or the whole training set) usually gives it."
        )  # fmt: skip
    )


def _study_runs(home: Path, study) -> list[Path]:
    """The first finished run of each group of a study (its seed-0 run, usually)."""
    from engine.studies import entry_key, group_label

    chosen: dict[str, Path] = {}
    for group, seed in study.entries():
        run_id = study.runs.get(entry_key(group, seed))
        label = group_label(group)
        if label in chosen or not run_id:
            continue
        run_dir = runs.run_folder(home, run_id)
        if run_dir.is_dir() and runs.summarize(run_dir).status == FINISHED:
            chosen[label] = run_dir
    if not chosen:
        raise UserFacing(f"study {study.name} has no finished run yet to report on")
    return list(chosen.values())


SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}


def output_format(path: Path | None, fmt: str | None) -> str:
    """The format asked for, else the one the file name says, else HTML; a file name that
    says another format (``r.pdf``, ``r.md`` with ``--format html``) is refused."""
    if fmt is not None and fmt not in FORMATS:
        raise UserFacing(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    suffix = path.suffix.lower() if path is not None else ""
    if suffix and suffix not in SUFFIXES:
        raise UserFacing(f"{path.name}: a report is HTML (.html) or Markdown (.md), not"
                         f" {suffix}; for a PDF, open the HTML report and print it")  # fmt: skip
    if fmt is not None and suffix and SUFFIXES[suffix] != fmt:
        raise UserFacing(f"{path.name} says {SUFFIXES[suffix]} but --format says {fmt}")
    return fmt or SUFFIXES.get(suffix, "html")


def default_output(home: Path, report_runs: list[str], fmt: str, study: str | None = None) -> Path:
    """Where a report goes unless told: the home's reports folder, named after its study or
    its runs."""
    if study:
        return home / "reports" / f"report-study-{study}.{fmt}"
    stem = report_runs[0] + (f"+{len(report_runs) - 1}" if len(report_runs) > 1 else "")
    return home / "reports" / f"report-{stem}.{fmt}"


def figures_folder(path: Path) -> Path:
    """The folder of a Markdown report's PNGs, beside it."""
    return path.parent / f"{path.stem}_files"


def check_output(path: Path, fmt: str) -> bool:
    """Whether writing the report to ``path`` replaces an earlier file; UserFacing if it
    may not be written there: only a new path or a regular file is written (never a link, a
    FIFO or a device), and a Markdown report's figures folder is never a link."""
    targets = [path] + ([figures_folder(path)] if fmt == "md" else [])
    for target in targets:
        try:
            mode = target.lstat().st_mode
        except FileNotFoundError:
            continue
        except OSError as error:
            raise UserFacing(f"cannot write the report to {target}: {error.strerror}") from None
        if stat.S_ISLNK(mode):
            raise UserFacing(f"{target} is a symbolic link: a report is never written through"
                             " one; give a new path")  # fmt: skip
        wanted = stat.S_ISDIR if target != path else stat.S_ISREG
        if not wanted(mode):
            kind = "folder" if target != path else "regular file"
            raise UserFacing(f"{target} exists and is not a {kind}: give a new path")
    return path.exists()


def write_report(report: Report, path: Path, fmt: str) -> Path:
    """Write ``report`` to ``path`` (Markdown: with a ``<stem>_files`` folder of PNGs). The
    figures are written into a hidden folder first and moved into place with the page, so a
    killed writer leaves the old report whole (its leftovers are removed by the next one)."""
    check_output(path, fmt)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(path)
        if fmt == "html":
            write_bytes(path, render_html(report.title, report.lines, report.sections).encode())
            return path
        folder = figures_folder(path)
        text, files = render_markdown(report.title, report.lines, report.sections, folder.name)
        fresh = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{folder.name}."))
        try:
            for name, png in files.items():
                write_bytes(fresh / name, png)
            old = None
            if folder.exists():
                old = path.parent / f".{folder.name}.old-{os.getpid()}"
                folder.rename(old)
            fresh.rename(folder)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        write_bytes(path, text.encode())
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return path
    except OSError as error:
        raise UserFacing(f"cannot write the report to {path}: {error.strerror}") from None


def _remove_leftovers(path: Path) -> None:
    """Hidden temporaries of an earlier writer of this report that was killed."""
    for pattern in (f".{path.name}.*", f".{figures_folder(path).name}.*"):
        for leftover in path.parent.glob(pattern):
            if leftover.is_symlink() or not leftover.is_dir():
                leftover.unlink(missing_ok=True)
            else:
                shutil.rmtree(leftover, ignore_errors=True)
