"""What the terminal says it can draw, asked in one round trip before Textual owns it.

The queries go out together, Primary Device Attributes (DA1) last: every terminal answers
DA1 and answers in order, so its reply ends the wait — no time-outs for the queries a
terminal ignores (tmux ignores the kitty one, for instance).
"""

from __future__ import annotations

import os
import re
import select
import sys
import time
from dataclasses import dataclass

KITTY_QUERY = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"  # a 1x1 picture, checked, not kept
XTVERSION = "\x1b[>0q"  # the terminal's name and version
COLOUR_REGISTERS = "\x1b[?1;1;0S"  # XTSMGRAPHICS: how many sixel colour registers
DA1 = "\x1b[c"  # device attributes; 4 among them: sixel

_DA1_REPLY = re.compile(r"\x1b\[\?([\d;]*)c")
_KITTY_REPLY = re.compile(r"\x1b_Gi=31;([^\x1b]*)\x1b\\")
_VERSION_REPLY = re.compile(r"\x1bP>\|([^\x1b]*)\x1b\\")
_REGISTERS_REPLY = re.compile(r"\x1b\[\?1;(\d+);(\d+)S")


@dataclass(frozen=True)
class Answers:
    """The terminal's replies, parsed (all empty when it answered nothing)."""

    sixel: bool = False
    kitty_graphics: bool = False
    version: str | None = None
    colour_registers: int | None = None

    @classmethod
    def parse(cls, reply: str) -> Answers:
        da1 = _DA1_REPLY.search(reply)
        kitty = _KITTY_REPLY.search(reply)
        version = _VERSION_REPLY.search(reply)
        registers = _REGISTERS_REPLY.search(reply)
        return cls(
            sixel=da1 is not None and "4" in da1[1].split(";"),
            kitty_graphics=kitty is not None and kitty[1] == "OK",
            version=version[1] if version else None,
            colour_registers=int(registers[2]) if registers and registers[1] == "0" else None,
        )


def ask(queries: str = KITTY_QUERY + XTVERSION + COLOUR_REGISTERS, wait: float = 0.5) -> Answers:
    """Send ``queries`` and DA1 to the terminal on stdin/stdout and parse what comes back
    up to DA1's reply (or ``wait`` seconds, for a terminal that does not answer at all)."""
    import termios
    import tty

    stdin = sys.__stdin__.fileno()
    saved = termios.tcgetattr(stdin)
    reply = ""
    try:
        tty.setcbreak(stdin, termios.TCSANOW)  # replies come byte by byte, not echoed
        sys.__stdout__.write(queries + DA1)
        sys.__stdout__.flush()
        deadline = time.monotonic() + wait
        while not _DA1_REPLY.search(reply):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([stdin], [], [], left)[0]:
                break
            reply += os.read(stdin, 1024).decode(errors="replace")
    finally:
        termios.tcsetattr(stdin, termios.TCSANOW, saved)
    return Answers.parse(reply)
