"""Predictions: a gallery of test digits with true and predicted labels."""

from __future__ import annotations

import random

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import Header, Static

from engine.analyses import ANALYSES
from tui.screens.base import LOADING, ExperimentScreen
from tui.widgets.array_view import ArrayView
from tui.widgets.keys_footer import KeysFooter

PAGE = 8


ANALYSIS = ANALYSES["predict"]  # what it draws (its entry in catalogue.py says the same)


class PredictionsScreen(ExperimentScreen):
    """n/p page through the test set, r shows random digits, w toggles misclassified only."""

    ANALYSIS = ANALYSIS

    RETRY = "show_page"

    STUDY_SECTION = ANALYSIS.study_section

    BINDINGS = [
        Binding("n", "page(1)", "Next"),
        Binding("p", "page(-1)", "Previous"),
        Binding("r", "random", "Random"),
        Binding("w", "toggle_wrong", "Wrong only"),
        Binding("g", "go_to", "Go to image"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.start = 0
        self.wrong_only = False
        self.pool: list[int] | None = None  # indices shown, in order
        self.pool_source: tuple | None = None  # (run, checkpoint version) the pool was made with
        self.indices: list[int] = list(range(PAGE))

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Predictions on the test set", id="pred-title", classes="title")
        with Grid(id="gallery", classes="grid"):
            for i in range(PAGE):
                yield ArrayView(id=f"digit-{i}", classes="panel")
        yield Static(LOADING, classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.show_page()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def show_page(self) -> None:
        from engine.inside.network import misclassified

        subject = self.app.subject()
        # a new checkpoint (the run trained on) or another run: the misclassified change too
        if self.pool is None or self.pool_source != (subject.run_id, subject.version):
            self.pool_source = (subject.run_id, subject.version)
            everything = list(range(len(subject.test)))
            self.pool = (
                misclassified(subject.model, subject.test) if self.wrong_only else everything
            )
        if not self.pool:
            self.app.call_from_thread(
                self.set_status, "no misclassified images: every test image is right"
            )
            return
        self.start %= len(self.pool)
        indices = [self.pool[(self.start + i) % len(self.pool)] for i in range(PAGE)]
        found = ANALYSIS.run(subject, {"image": tuple(indices)}).predictions
        images = [subject.test.images[i].numpy() for i in indices]
        self.app.call_from_thread(self.show, subject, found, images)

    def show(self, subject, found, images) -> None:
        for i, (p, image) in enumerate(zip(found, images, strict=True)):
            view = self.query_one(f"#digit-{i}", ArrayView)
            mark = "ok" if p.predicted == p.label else "WRONG"
            view.caption = f"#{p.index} {mark}: {subject.classes[p.label]} -> {subject.classes[p.predicted]} {p.probability:.0%}"
            view.array = image
        right = sum(p.predicted == p.label for p in found)
        what = "misclassified images" if self.wrong_only else "test images"
        self.set_status(
            f"{right}/{len(found)} right on this page; {len(self.pool):,} {what}; model {subject.run_id}"
        )

    def action_page(self, step: int) -> None:
        self.start += step * PAGE
        self.show_page()

    def action_random(self) -> None:
        if self.pool:
            self.start = random.randrange(len(self.pool))
        self.show_page()

    def action_toggle_wrong(self) -> None:
        self.wrong_only = not self.wrong_only
        self.pool = None
        self.start = 0
        if self.wrong_only:
            self.set_status("finding the misclassified images: scoring the whole test set ...")
        else:
            self.set_status("loading all test images ...")
        self.show_page()

    def action_go_to(self) -> None:
        """Ask for a test image number and page to it (as `predict --index I`)."""
        from tui.screens.ask import AskText

        def chosen(text: str | None) -> None:
            if text is None:
                return
            if not text.strip().isdigit():
                self.set_status(f"{text!r} is not an image number", error=True)
                return
            self.wrong_only, self.pool = False, None
            self.start = int(text)
            self.show_page()

        self.app.push_screen(AskText("Go to test image number"), chosen)
