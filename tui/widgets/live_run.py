"""A run followed through its log (engine.runs.RunFollower): its bars and figures, the loss
and accuracy charts, the epoch table and, at the end, its results. The screen that holds it
polls it and says what it means (its title, status and keys)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from engine import events as ev
from engine.columns import EPOCH_COLUMNS, cells
from tui.draw.tables import bar_line, clock
from tui.widgets.chart_view import ChartView


class LiveRun(Vertical):
    """The run in ``run_dir``, from the start of its log; ``poll()`` reads what is new."""

    def __init__(self, run_dir: Path, live_chart_seconds: float, id: str = "live-run") -> None:
        from engine import runs

        super().__init__(id=id)
        self.run_dir = run_dir
        self.follower = runs.RunFollower(run_dir)
        self.live_chart_seconds = live_chart_seconds
        self.best_shown = -1.0  # the best validation accuracy in the epoch table so far
        self._live_lines = 0  # show_live's: the lines it showed last

    def compose(self) -> ComposeResult:
        with Vertical(id="train-progress"):
            yield Static("", id="live")
        with Horizontal(id="charts"):
            yield ChartView("loss (training smoothed, validation)", "step", id="loss-chart",
                            classes="chart", ylim=(0, None), integer_x=True,
                            seconds=self.live_chart_seconds)  # fmt: skip
            yield ChartView("validation accuracy (%)", "epoch", id="acc-chart", classes="chart",
                            ylim=(0, 100), integer_x=True)  # fmt: skip
        yield DataTable(id="epoch-table", zebra_stripes=True)
        yield Static("", id="results")

    def on_mount(self) -> None:
        self.query_one("#epoch-table", DataTable).add_columns(*(c.label for c in EPOCH_COLUMNS))

    def show_view(self, short: bool, tables: bool) -> None:
        """On a short terminal, the charts or (``tables``) the epoch table and the results:
        both at once would leave the charts a few rows tall."""
        charts = not short or not tables
        self.query_one("#charts").display = charts
        self.query_one("#epoch-table").display = not short or not charts
        self.query_one("#results").display = not short or not charts

    def poll(self) -> str:
        """Read what the run logged since the last look, and show it; what happened to the
        run: 'resumed', 'ended' or ''."""
        follower = self.follower
        was_over = follower.over
        new = follower.poll()
        happened = ""
        if was_over and not follower.over:  # resumed (here or elsewhere): follow it as new
            self.query_one("#results", Static).update("")
            happened = "resumed"
        if not new and not (follower.over and not was_over):
            if not follower.over and follower.state.started is not None:
                self.show_live()
            return happened
        for event in new:
            if isinstance(event, ev.RunStarted):
                self.reserve_epoch_rows(event.epochs)
            elif isinstance(event, ev.EpochEvaluated):
                self.add_epoch_row(event)
            elif isinstance(event, ev.RobustnessCollapsed):
                from tui.draw.tables import collapse_line

                self.notify(collapse_line(event).strip(), severity="warning", timeout=10)
            elif isinstance(event, ev.RunStuckAtChance):
                from tui.draw.tables import stuck_line

                self.notify(stuck_line(event).strip(), severity="warning", timeout=15)
        self.show_live()
        self.show_charts()
        if follower.over:
            self.show_results()
            happened = happened or "ended"
        return happened

    def reserve_epoch_rows(self, epochs: int) -> None:
        """Give the epoch table the room of the epochs the run will have (as many as its
        most rows): a table that grew a row an epoch laid the screen out again and redrew
        both charts at their new height each time."""
        table = self.query_one("#epoch-table", DataTable)
        rows = epochs + 1  # and the header; no taller than the stylesheet's max-height
        most = table.styles.max_height
        table.styles.min_height = rows if most is None else min(rows, int(most.value))

    def add_epoch_row(self, e: ev.EpochEvaluated) -> None:
        table = self.query_one("#epoch-table", DataTable)
        # the epoch whose weights became best.pt (a tie does not replace it); an adversarial
        # run keeps its most robust epoch
        score = e.val_accuracy if e.robust_val_accuracy is None else e.robust_val_accuracy
        best = "*" if score > self.best_shown else ""
        self.best_shown = max(self.best_shown, score)
        epoch, *rest = cells(EPOCH_COLUMNS, [e])[0]
        table.add_row(epoch.strip() + best, *rest)
        table.move_cursor(row=table.row_count - 1)  # the newest epoch stays in view

    def show_live(self) -> None:
        """The bars and figures, as one Static: one widget to repaint at each poll
        (Textual's repaint is most of what a followed run costs the app)."""
        state = self.follower.state
        if state.started is None:
            return
        # Two lines of Text drawn as Rich's bars: cheaper to redraw than ProgressBar widgets
        # with their timers, and no Table to lay out
        colour = self.app.settings.colour
        # epochs done (the batch line and the figures say which epoch is under way)
        live = bar_line("epochs", state.epoch, state.started.epochs, colour=colour)
        if state.last_batch is not None:
            b = state.last_batch
            live.append("\n").append_text(bar_line("batch", b.batch, b.batches, colour=colour))
        live.append("\n").append_text(self.stats_text())
        widget = self.query_one("#live", Static)
        lines = len(live.wrap(self.app.console, max(widget.size.width or self.size.width, 10)))
        # laid out again only when the height changes (laying it out at every update was
        # most of what following a run cost)
        widget.update(live, layout=lines != self._live_lines)
        self._live_lines = lines

    def stats_text(self) -> Text:
        """The run's figures in short lines that fit 80 columns: what it is and its best,
        where it is now, its layers' gradients, any warning."""
        state = self.follower.state
        started = state.started
        about = f"{started.model} on {started.dataset}, {started.device}"
        if state.best is not None:
            about += f"   best: epoch {state.best.epoch}, val acc {state.best.val_accuracy:.2%}"
        stats = Text(about)
        if state.last_batch is not None:
            b = state.last_batch
            now = (f"epoch {b.epoch} batch {b.batch}/{b.batches}  loss {state.smoothed_loss:.4f}"
                   f"  {b.images_per_s:,.0f} img/s  lr {b.lr:.4f}")  # fmt: skip
            eta = state.eta_seconds()
            if eta is not None and not self.follower.over:
                now += f"  ETA {clock(eta)}"
            stats.append("\n" + now)
        if state.gradients is not None:
            g = state.gradients
            sizes = "  ".join(f"{name} {grad / weight if weight else 0:.1e}"
                              for name, grad, weight in zip(g.layers, g.gradient_norms,
                                                            g.weight_norms, strict=True))  # fmt: skip
            stats.append(f"\ngradient/weight: {sizes}", "dim")
        for warning in state.gradient_warnings.values():
            stats.append(f"\n{warning}", "bold yellow")
        return stats

    def show_charts(self) -> None:
        state = self.follower.state
        series = {"train (smoothed)": (state.steps, state.smoothed)}
        if state.epochs and state.started is not None:
            per = state.started.batches_per_epoch
            series["validation"] = (
                [e.epoch * per for e in state.epochs],
                [e.val_loss for e in state.epochs],
            )
        self.query_one("#loss-chart", ChartView).set_data(series)
        if state.epochs:
            epochs = [e.epoch for e in state.epochs]
            series = {"validation": (epochs, [100 * e.val_accuracy for e in state.epochs])}
            if state.epochs[-1].robust_val_accuracy is not None:
                series["robust (PGD)"] = (
                    epochs, [100 * (e.robust_val_accuracy or 0) for e in state.epochs]
                )  # fmt: skip
            self.query_one("#acc-chart", ChartView).set_data(series)

    def show_results(self) -> None:
        from tui.draw.tables import finish_lines, per_class_table

        end = self.follower.state.end
        if isinstance(end, ev.RunFinished):
            parts = [Text("\n".join(finish_lines(end)), style="bold green")]
            if self.follower.state.test is not None:
                parts.append(per_class_table(self.follower.state.test))
            self.query_one("#results", Static).update(Group(*parts))

    def end_words(self, run_id: str) -> tuple[str, bool]:
        """What the end of the run means, for the status line: (words, is an error)."""
        from tui.draw.tables import stopped_line

        end = self.follower.state.end
        if isinstance(end, ev.RunFinished):
            return f"finished: test accuracy {end.test_accuracy:.2%}", False
        if isinstance(end, ev.RunStopped):
            return stopped_line(end, run_id).split(" — ")[0] + " — r resumes it", False
        # failed: by its own account, or its process died without one
        return f"run {self.follower.status}: {self.follower.error}", True

    def resumed(self) -> None:
        """The same run goes on (resumed from here)."""
        self.follower.follow_again()
        self.query_one("#results", Static).update("")

    def toggle_log(self) -> None:
        self.query_one("#loss-chart", ChartView).toggle_log()
