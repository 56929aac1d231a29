"""The settings every input-optimising screen shares with its command (`--steps`,
`--step-size`, `--no-clamp`), as keys: + and - halve or double the steps, z and Z the step
size, k lets pixels leave [0, 1] or not."""

from __future__ import annotations

from textual.binding import Binding

STEP_KEYS = [
    Binding("plus", "steps(2)", "Steps x2", key_display="+"),
    Binding("minus", "steps(0.5)", "Steps ÷2", key_display="-"),
    Binding("z", "step_size(2)", "Step size x2"),
    Binding("Z", "step_size(0.5)", "Step size ÷2"),
]
CLAMP_KEY = Binding("k", "clamp", "Clamp on/off")


class StepSettings:
    """Mixed into a screen: ``steps``, ``step_size``, ``clamp`` and the actions that change
    them; the screen's ``restart()`` runs again with the new values."""

    steps: int  # both set by the screen from its analysis's values
    step_size: float
    clamp: bool = True

    def restart(self) -> None:
        raise NotImplementedError

    def step_text(self) -> str:
        clamp = "" if self.clamp else ", unclamped"
        return f"{self.steps:,} steps of {self.step_size:g}{clamp}"

    def action_steps(self, factor: float) -> None:
        self.steps = int(min(100_000, max(10, self.steps * factor)))
        self.restart()

    def action_step_size(self, factor: float) -> None:
        self.step_size = min(1.0, max(1e-4, self.step_size * factor))
        self.restart()

    def action_clamp(self) -> None:
        self.clamp = not self.clamp
        self.restart()
