"""A report to hand in: the study's experiments on the user's own runs, as one
self-contained HTML page or as Markdown with PNG figures (see ``build``)."""

from engine.report.build import (
    FORMATS,
    build_report,
    check_output,
    default_output,
    output_format,
    write_report,
)

__all__ = [
    "FORMATS",
    "build_report",
    "check_output",
    "default_output",
    "output_format",
    "write_report",
]
