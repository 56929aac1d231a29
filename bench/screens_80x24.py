"""Write docs/screens-80x24.md: each screen of the app at 80x24 as text, as a person over SSH
sees it (the drawn cells), on a tiny run trained here on synthetic digits. Refreshed by
running this, never typed:

    python bench/screens_80x24.py [--out docs/screens-80x24.md]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.app_setup import screen_lines, tiny_app  # noqa: E402
from tests.conftest import synthetic_arrays, write_idx_folder  # noqa: E402
from tui.cli.main import main as cli  # noqa: E402
from tui.screens.catalogue import experiments  # noqa: E402

SIZE = (80, 24)
SETTLE = 3.0  # seconds a screen is given to draw its first result


async def capture(home: Path, data: Path) -> list[tuple[str, list[str]]]:
    shots = []
    app = tiny_app(home, data)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(1.0)
        shots.append(("Home", screen_lines(app)))
        for entry in experiments():
            await pilot.press(entry.key)
            await pilot.pause(SETTLE)
            shots.append((f"{entry.key}  {entry.title}", screen_lines(app)))
            await pilot.press("question_mark")
            await pilot.pause(0.3)
            shots.append((f"{entry.key}  {entry.title}: ? (its keys first)", screen_lines(app)))
            await pilot.press("escape", "escape")
            await pilot.pause(0.3)
    return shots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screens-80x24.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = write_idx_folder(Path(folder) / "data", synthetic_arrays())
        home = Path(folder) / "home"
        with contextlib.redirect_stdout(io.StringIO()):  # the run's JSON is not the point
            cli(["--home", str(home), "train", "--data", str(data), "--epochs", "3",
                 "--batch-size", "20", "--lr", "0.05", "--device", "cpu", "--json"])  # fmt: skip
        shots = asyncio.run(capture(home, data))
    lines = ["# The app at 80x24", "",
             "Each screen as it is drawn at 80 columns and 24 rows, on a tiny run of synthetic",
             "digits (three epochs, 400 images), written by `python bench/screens_80x24.py` —",
             "refreshed by running it, never typed. Pictures are colour half-blocks, shown here",
             "as their characters.", ""]  # fmt: skip
    for title, screen in shots:
        lines += [f"## {title}", "", "```", *screen, "```", ""]
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}: {len(shots)} screens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
