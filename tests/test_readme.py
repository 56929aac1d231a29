"""The README's sketch of the app is the app: the home screen at 80x24 with no runs yet, as
a person sees it (the drawn cells, not the widget tree). When the home changes, this fails
and prints the screen to paste in."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from tests.app_setup import screen_lines, tiny_app

README = Path(__file__).resolve().parent.parent / "README.md"


def sketch() -> list[str]:
    """The code block of the home at 80x24."""
    text = README.read_text()
    block = re.search(r"to the real screen\):\n\n```\n(.*?)\n```", text, re.S)
    assert block, "the README lost its sketch of the home"
    return [line.rstrip() for line in block.group(1).splitlines()]


def test_the_readme_sketch_is_the_home_at_80x24(tmp_path, tiny_folder):
    async def drawn() -> list[str]:
        app = tiny_app(tmp_path / "home", tiny_folder)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(0.5)
            return screen_lines(app)

    screen = asyncio.run(drawn())
    assert sketch() == screen, "the home at 80x24 is now:\n" + "\n".join(screen)
