"""A section for each declared analysis (engine.analyses) that no section here draws by hand:
run with its defaults on the report's first run, its summary and its plain values."""

from __future__ import annotations

from engine.analyses import ANALYSES, flat_items
from engine.errors import UserFacing
from engine.report.context import Context
from engine.report.document import Section, Table, Text


def sections(ctx: Context, drawn: frozenset[str]) -> list[Section]:
    made = []
    for analysis in ANALYSES.values():
        if not analysis.in_report or analysis.name in drawn:
            continue
        ctx.check_cancel()
        section = Section(analysis.name, analysis.title).add(Text(f"{analysis.about[0].upper()}"
                                                                  f"{analysis.about[1:]}."))  # fmt: skip
        try:
            result = analysis.run(ctx.subject(), cancel=ctx.cancel)
        except UserFacing as error:
            made.append(section.add(Text(f"Not made from these runs: {error}.")))
            continue
        settings = ", ".join(f"{spec.label} {spec.show(spec.default)}"
                             for spec in analysis.parameters if spec.default is not None)  # fmt: skip
        section.add(
            Text(f"{result.summary()} (run {ctx.subject_run.id}; {settings or 'no settings'}).")
        )
        items = flat_items(result)
        if items:
            section.add(
                Table(["value", ""], [[name.replace("_", " "), shown] for name, shown in items])
            )
        made.append(section)
    return made
