"""Pictures of the real app drawing real pixels: `mnist-tui` (default --graphics auto) in
xterm as a VT340 (sixel) on a virtual X screen, driven by xdotool, each screen saved as a
PNG to look at. Needs Debian's xvfb, xterm, xdotool and imagemagick.

    python bench/pixel_shots.py [--out /tmp/mnist-tui-shots] [--terminal "xterm -ti vt340"]

Any terminal that takes ``-T title -e command`` can stand in for xterm (kitty: ``kitty``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DISPLAY = ":77"
ENV = {**os.environ, "DISPLAY": DISPLAY}
TITLE = "mnist-tui-shots"
TOUR = [  # (keys, seconds to wait, name of the picture)
    (["5"], 6, "predictions"),
    (["Escape", "7"], 6, "occlusion"),
    (["Right", "Down", "plus"], 4, "occlusion-moved"),
    (["Escape", "0"], 8, "noise"),
    (["Escape", "9"], 10, "targeted"),
    (["Escape", "8"], 8, "synthesis"),
]


def keys(window: str, names: list[str]) -> None:
    for name in names:
        subprocess.run(["xdotool", "key", "--window", window, name], env=ENV, check=False)
        time.sleep(0.4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/mnist-tui-shots")
    parser.add_argument("--terminal", default="xterm -ti vt340 -xrm 'XTerm*allowSendEvents: true'")
    args = parser.parse_args()
    missing = [t for t in ("Xvfb", "xdotool", "import") if not shutil.which(t)]
    if missing:
        print(f"missing: {', '.join(missing)} (apt-get install xvfb xterm xdotool imagemagick)")
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    screen = subprocess.Popen(["Xvfb", DISPLAY, "-screen", "0", "1400x1000x24"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    time.sleep(1)
    app = f"cd {shlex.quote(str(ROOT))} && {shlex.quote(sys.executable)} -m tui.cli"
    terminal = subprocess.Popen([*shlex.split(args.terminal), "-T", TITLE, "-e", "bash", "-c", app],
                                env=ENV)  # fmt: skip
    try:
        time.sleep(8)
        found = subprocess.run(["xdotool", "search", "--name", TITLE], env=ENV,
                               capture_output=True, text=True, check=False)  # fmt: skip
        window = found.stdout.split()[0] if found.stdout.split() else ""
        for names, seconds, name in TOUR:
            keys(window, names)
            time.sleep(seconds)
            path = out / f"{name}.png"
            subprocess.run(
                ["import", "-display", DISPLAY, "-window", "root", str(path)], check=True
            )
            print(path)
        keys(window, ["q"])
    finally:
        terminal.terminate()
        screen.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
