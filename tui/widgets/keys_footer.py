"""The footer every screen shows: Textual's Footer, compact, with the screen's own keys first
(then those of the widget with the focus) and `?` (every key of this screen) and `q` (quit)
always in sight. Textual lists the focused
widget's keys, then the screen's, then the app's, and cuts what does not fit: at 80 columns
`?` and `q` were cut on most screens. Here the screen's class's own keys come first, then
the keys every screen of its kind has (Esc, i), then the focused widget's; a key that does
not fit is left out (it stays in `?`) and shorter ones after it still shown, never `?` or
`q`; the command palette's key is left to `?` as well."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

ALWAYS = ("help", "quit")  # the app's actions whose keys are always shown, last
GAP = 1  # cells between two keys in the compact footer


def key_width(key_display: str, description: str) -> int:
    """Cells one key takes in the compact footer: ' key description '."""
    return len(key_display) + len(description) + 2 + GAP


def own_actions(screen) -> set[str]:
    """The actions the screen's own class binds (not those every screen of its kind has):
    the footer and `?` list them first."""
    return {b.action for b in type(screen).__dict__.get("BINDINGS", []) if hasattr(b, "action")}


class KeysFooter(Footer):
    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)

    def shown(self, width: int) -> list:
        """(binding, enabled, tooltip) of the keys to show in ``width`` cells, in order."""
        bindings, widgets = [], []  # the screen's own, then the focused widget's
        seen_actions = set()
        for node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show and binding.description and binding.action not in seen_actions:
                seen_actions.add(binding.action)
                (bindings if node is self.screen or node is self.app else widgets).append(
                    (binding, enabled, tooltip))  # fmt: skip
        last = [b for b in bindings if b[0].action in ALWAYS]
        # The screen's own class's keys first (Runs' R Report before the Esc and i every
        # experiment screen has), then the inherited ones, then the focused widget's.
        mine = own_actions(self.screen)
        rest = [b for b in bindings if b[0].action not in ALWAYS]
        own = ([b for b in rest if b[0].action in mine]
               + [b for b in rest if b[0].action not in mine] + widgets)  # fmt: skip

        def cells(items) -> int:
            return sum(key_width(self.app.get_key_display(b), b.description) for b, _, _ in items)

        room = width - cells(last)
        kept = []
        for item in own:
            if cells([*kept, item]) <= room:  # one too long is left out, not all after it
                kept.append(item)
        return kept + last

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        shown = self.shown(self.size.width or self.app.size.width)
        self.styles.grid_size_columns = len(shown)
        for binding, enabled, tooltip in shown:
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)

    async def on_resize(self) -> None:
        await self.recompose()
