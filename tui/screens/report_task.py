"""Making a report from the app: the same engine call as `mnist-tui report`, in a worker
thread, with its progress in the screen's status line and the file's path at the end."""

from __future__ import annotations

from textual.screen import Screen

from engine import events as ev


def make_report(screen: Screen, run_ids: list[str] | None, study: str | None = None) -> None:
    """Write the report of ``run_ids`` (and ``study``) to the home's reports folder; c or
    Escape cancels it (nothing is written then)."""

    def work() -> None:
        from engine.report import build_report, default_output, write_report
        from tui.screens.base import WorkerCancel

        def emit(event: ev.Event) -> None:
            if isinstance(event, ev.ProgressMade):
                task = event.task.removeprefix("report: ")
                text = (f"making the report: {task} ({event.done}/{event.total})"
                        " ... (c cancels)")  # fmt: skip
                screen.app.call_from_thread(screen.set_status, text)

        home = screen.app.settings.home
        report = build_report(home, run_ids, study, emit, WorkerCancel())
        path = write_report(report, default_output(home, report.run_ids, "html", study), "html")
        message = f"report written to {path} ({report.figures} figures, {report.seconds:.0f} s)"
        # The status line only: a notification laid over it for 15 s hid half of both.
        screen.app.call_from_thread(screen.set_status, message)

    screen.set_status("making the report ... (c cancels)")
    screen.run_worker(work, thread=True, exit_on_error=False, group="report")
