"""Confusions as pictures: the test set's confusion matrix as a place to go — arrows move
over its cells, Enter shows the test images of that (true, predicted) pair, the most
confidently wrong first, with the probability of the wrong and of the right class."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Header, Static

from engine.analyses import ANALYSES
from tui.screens.base import LOADING, ExperimentScreen, WorkerCancel
from tui.widgets.array_view import ArrayView
from tui.widgets.keys_footer import KeysFooter

ANALYSIS = ANALYSES["confusions"]
SHOWN = 4  # a pair's images beside the matrix: four fit at 80x24


class ConfusionsScreen(ExperimentScreen):
    """Arrows move over the matrix (rows: the true digit, columns: the predicted one); Enter
    shows that pair's images; , and . step through the run's moments."""

    ANALYSIS = ANALYSIS

    STUDY_SECTION = ANALYSIS.study_section
    MOMENT_REDRAW = "compute"
    BINDINGS = [Binding("enter", "show_pair", "Images of the pair under the cursor")]

    def __init__(self) -> None:
        super().__init__()
        self.pair: tuple[int, int] | None = None  # None: the most confused pair

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="conf-title", classes="title")
        yield DataTable(id="conf-matrix", cursor_type="cell", zebra_stripes=False)
        with Horizontal(id="conf-gallery"):
            for i in range(SHOWN):
                yield ArrayView(id=f"conf-{i}", classes="panel")
        yield Static(LOADING, classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.compute()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def compute(self) -> None:
        subject = self.app.subject()
        found = ANALYSIS.run(subject, {"pair": self.pair, "count": SHOWN}, cancel=WorkerCancel())
        images = [subject.test.images[i].numpy() for i in found.indices]
        self.app.call_from_thread(self.show, subject, found, images)

    def show(self, subject, found, images) -> None:
        table = self.query_one("#conf-matrix", DataTable)
        first = table.row_count == 0
        if first:
            table.add_columns("true \\ pred", *[str(c) for c in subject.classes])
        else:
            table.clear()
        for t, row in enumerate(found.matrix):
            cells = [Text(str(n), style="bold red" if n and p != t else ("dim" if p == t else ""),
                          justify="right") for p, n in enumerate(row)]  # fmt: skip
            table.add_row(str(subject.classes[t]), *cells)
        if found.pair is not None and first:
            table.move_cursor(row=found.pair[0], column=found.pair[1] + 1)
        wrong = sum(n for _, _, n in found.pairs)
        title = f"{self.moment_prefix()}{wrong:,} of {found.test_images:,} test images wrong"
        if found.pair is not None:
            true, guess = found.pair
            title += (f"; shown: {subject.classes[true]} taken for {subject.classes[guess]}"
                      f" ({len(found.indices)} of {found.matrix[true][guess]})")  # fmt: skip
        self.query_one("#conf-title", Static).update(Text(title))
        for i in range(SHOWN):
            view = self.query_one(f"#conf-{i}", ArrayView)
            if i < len(images):
                guess_name = subject.classes[found.pair[1]]
                true_name = subject.classes[found.pair[0]]
                view.caption = (f"#{found.indices[i]}: {found.predicted_probability[i]:.0%} a"
                                f" {guess_name}, {found.true_probability[i]:.0%} a {true_name}")  # fmt: skip
                view.array = images[i]
            else:
                view.caption, view.array = "", None
        self.set_status("arrows move over the matrix (rows true, columns predicted); Enter"
                        f" shows that pair — model {subject.run_id}")  # fmt: skip

    def action_show_pair(self) -> None:
        """Enter where the matrix is not focused: the pair under its cursor."""
        self.show_cell(self.query_one("#conf-matrix", DataTable).cursor_coordinate)

    @on(DataTable.CellSelected, "#conf-matrix")
    def cell_selected(self, event: DataTable.CellSelected) -> None:
        self.show_cell(event.coordinate)

    def show_cell(self, coordinate) -> None:
        true, column = coordinate.row, coordinate.column - 1
        if column < 0:
            return
        if column == true:
            self.set_status(f"the diagonal is the {true}s called {true}: right answers")
            return
        self.pair = (true, column)
        self.compute()
