"""What a channel responds to: the test images that excite one convolution channel most, the
part of each its strongest output sees outlined, beside the channel's filter. [ and ] step
through the channels, v through the convolutions; , and . through the run's moments."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal
from textual.widgets import Header, Static

from engine.analyses import ANALYSES
from tui.screens.base import LOADING, ExperimentScreen, WorkerCancel
from tui.widgets.array_view import ArrayView
from tui.widgets.keys_footer import KeysFooter

ANALYSIS = ANALYSES["top-images"]
SHOWN = ANALYSIS.default("count")  # nine images: a 3x3 gallery fits 80x24


class TopImagesScreen(ExperimentScreen):
    """[ / ] the previous or next channel, v the next convolution."""

    ANALYSIS = ANALYSIS

    STUDY_SECTION = ANALYSIS.study_section
    MOMENT_REDRAW = "compute"

    BINDINGS = [
        Binding("left_square_bracket", "channel(-1)", "Channel -", key_display="["),
        Binding("right_square_bracket", "channel(1)", "Channel +", key_display="]"),
        Binding("v", "next_layer", "Next layer"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.conv_name: str | None = None  # None: the first convolution
        self.channel = 0
        self.conv_names: list[str] = []
        self.channel_count = 1

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="top-title", classes="title")
        with Horizontal(classes="fill"):
            with Grid(id="top-grid"):
                for i in range(SHOWN):
                    yield ArrayView(id=f"top-{i}", classes="panel top-image", vmin=0, vmax=1,
                                    peers="top-image")  # fmt: skip
            yield ArrayView(id="top-filter", classes="panel", cmap="signed")
        yield Static(LOADING, classes="status")
        yield KeysFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.compute()

    def action_channel(self, step: int) -> None:
        self.channel = (self.channel + step) % max(self.channel_count, 1)
        self.compute()

    def action_next_layer(self) -> None:
        if self.conv_names:
            at = self.conv_names.index(self.conv_name) if self.conv_name in self.conv_names else 0
            self.conv_name, self.channel = self.conv_names[(at + 1) % len(self.conv_names)], 0
            self.compute()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "toggle_view":
            return False  # v is the next layer here
        return super().check_action(action, parameters)

    def refusal(self, action: str) -> str | None:
        return None if action == "toggle_view" else super().refusal(action)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def compute(self) -> None:
        from engine.inside.channels import field_picture
        from engine.models.layers import convolutions

        self.app.call_from_thread(self.set_status, "scanning the test set ... (c cancels)")
        subject = self.app.subject()
        self.conv_names = [name for name, _ in convolutions(subject.model)]
        found = ANALYSIS.run(subject, {"layer": self.conv_name, "channel": self.channel,
                                       "count": SHOWN}, cancel=WorkerCancel())  # fmt: skip
        self.conv_name, self.channel_count = found.layer, found.channels
        pictures = [field_picture(subject.test.images[i].numpy(), box)
                    for i, box in zip(found.indices, found.boxes, strict=True)]  # fmt: skip
        self.app.call_from_thread(self.show, subject, found, pictures)

    def show(self, subject, found, pictures) -> None:
        import numpy as np

        self.query_one("#top-title", Static).update(
            f"{self.moment_prefix()}{found.layer} channel {found.channel} of {found.channels}"
            f" — {'dead: never above 0 on the test set' if found.dead else f'sees {found.field}x{found.field} pixels, fires on {found.firing:.0%} of the test images'}"
        )  # fmt: skip
        for i in range(SHOWN):
            view = self.query_one(f"#top-{i}", ArrayView)
            if i < len(pictures) and not found.dead:
                view.caption = (f"#{found.indices[i]} a {subject.classes[found.labels[i]]}:"
                                f" {found.activations[i]:.3g}")  # fmt: skip
                view.array = pictures[i]
            else:
                view.caption, view.array = "", None
        weights = np.array(found.filter)
        limit = float(abs(weights).max()) or 1.0
        filter_view = self.query_one("#top-filter", ArrayView)
        filter_view.vmin, filter_view.vmax = -limit, limit
        depth = "" if found.input_depths == 1 else f", mean of {found.input_depths} depths"
        filter_view.caption = f"its filter{depth}"
        filter_view.array = weights
        self.set_status(f"[ ] channel, v layer ({', '.join(self.conv_names)}) — model"
                        f" {subject.run_id}")  # fmt: skip
