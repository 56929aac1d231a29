"""Sixel pictures that xterm draws in the right colours, in as many colours as the terminal
has registers. Imported only when the app draws sixels (it imports textual-image)."""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual_image.widget import SixelImage, SixelOptions
from textual_image.widget.sixel import _ImageSixelImpl, _NoopRenderable

_DEFINITION = re.compile(r"#(\d+);2;\d+;\d+;\d+")


def select_on_define(sixels: str) -> str:
    """Follow every colour definition (``#3;2;R;G;B``) with a selection of the same
    register (``#3``).

    textual-image draws right after defining a colour, which most terminals take as selecting
    it; xterm does not, and draws with the colour selected before — a band of the wrong
    colour at the top of every picture, and stripes where a new colour first appears."""
    return _DEFINITION.sub(lambda match: f"{match.group(0)}#{match.group(1)}", sixels)


class _Sixels(_ImageSixelImpl):
    def _image_to_sixels(self, image, sixel_options=None, background=None) -> str:
        return select_on_define(super()._image_to_sixels(image, sixel_options, background))


class SixelPicture(SixelImage, Renderable=_NoopRenderable):
    """textual-image's sixel widget, with colours every sixel terminal draws alike."""

    def __init__(self, *, colours: int, classes: str | None = None) -> None:
        super().__init__(classes=classes, sixel_options=SixelOptions(colors=colours))

    def compose(self) -> ComposeResult:
        yield _Sixels(self.image, self._sixel_options)
