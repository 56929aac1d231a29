"""The runs as a table, newest first, in the columns that fit its width (status and test
accuracy before the id is cut; tui.draw.tables.run_columns): one widget for the home screen
and the Runs screen, which marks the runs picked for a comparison."""

from __future__ import annotations

from textual.widgets import DataTable

from tui.draw.tables import run_columns


class RunsTable(DataTable):
    """``show(summaries)`` lays the rows out (keyed by run id) and keeps the cursor's row."""

    def __init__(self, *, id: str, picks: bool = False, most: int | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.picks = picks  # a first column marks the picked runs
        self.most = most  # the newest this many (None: every run)

    def show(self, summaries: list, picked: tuple[str, ...] = (), width: int | None = None,
             force: bool = False) -> list:  # fmt: skip
        """Lay out ``summaries`` (oldest first, as engine.runs lists them) newest first; the
        ones shown."""
        cursor = self.cursor_row
        defended = any(s.defence != "none" for s in summaries)
        room = (width if width is not None else self.size.width) - (6 if self.picks else 0)
        columns = run_columns(max(room - 2, 20), defended)
        labels = (["pick"] if self.picks else []) + [c[0] for c in columns]
        if force or labels != [str(c.label) for c in self.columns.values()]:
            self.clear(columns=True)
            if self.picks:
                self.add_column("pick", width=4)
            for label, cells, _ in columns:
                self.add_column(label, width=cells)
        else:
            self.clear()
        shown = summaries[-self.most :] if self.most else summaries
        for s in reversed(shown):  # ids are folder names, so unique
            mark = ["●" if s.id in picked else "○"] if self.picks else []
            self.add_row(*mark, *[value(s) for _, _, value in columns], key=s.id)
        if shown:
            self.move_cursor(row=min(cursor, len(shown) - 1))
        return shown

    def run_under_cursor(self) -> str | None:
        if self.row_count == 0:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
