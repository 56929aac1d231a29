"""`serve`: the same app in a browser, through textual-serve (the ``serve`` extra): each
browser tab that opens the page starts its own app process on this machine, drawn by
xterm.js. For a class on a projector, or a machine reached only through a web port."""

from __future__ import annotations

import argparse
import shlex
import sys

from engine.errors import UserFacing
from tui.cli.options import add_shared_options, number_type

EXTRA = "pip install 'mnist-tui[serve]'"
LOOPBACK = ("127.0.0.1", "localhost", "::1")

port_number = number_type(int, "a port number", lambda v: 1 <= v <= 65535, "must be 1-65535")


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve", help="the app in a browser (textual-serve): every key, the form, live runs",
        description="Serve the terminal app as a web page: each tab that opens it runs its own"
        " app on this machine (the same home and runs). Pictures are colour half-blocks: sixel"
        " and kitty pixels do not reach a browser. Bound to 127.0.0.1 unless --host says"
        " otherwise; there is no password, so anyone who reaches the port drives the app"
        " (and trains on this machine). Ctrl-C stops it.",
    )  # fmt: skip
    serve.add_argument("--host", default="127.0.0.1",
                       help="the address to listen on (default 127.0.0.1: this machine only;"
                       " 0.0.0.0: every network it is on)")  # fmt: skip
    serve.add_argument("--port", type=port_number, default=8000, help="the port (default 8000)")
    serve.add_argument("--public-url", metavar="URL",
                       help="the address browsers reach it at, which the page's links use"
                       " (default: http://HOST:PORT, with this machine's name for 0.0.0.0)")  # fmt: skip
    serve.add_argument("--data", metavar="DIR", dest="serve_data",
                       help="the app trains and analyses on this MNIST-format folder")  # fmt: skip
    add_shared_options(serve)
    serve.set_defaults(handler=serve_command)


def app_command(home, data: str | None) -> str:
    """The command textual-serve runs for each browser tab: this Python, this package, never
    the folder the server was started in (-I), the same home."""
    from pathlib import Path

    argv = [
        sys.executable,
        "-I",
        "-m",
        "tui.cli",
        "--home",
        str(Path(home).resolve()),
        "--graphics",
        "auto",
    ]
    if data:
        argv += ["--data", str(Path(data).expanduser().resolve())]
    return shlex.join(argv)


def serve_command(args: argparse.Namespace) -> int:
    try:
        from textual_serve.server import Server
    except ImportError:
        raise UserFacing(f"serving the app in a browser needs textual-serve: {EXTRA}") from None
    import socket

    try:  # a port in use or an address not on this machine: one line, before the server
        with socket.create_server((args.host, args.port)):
            pass
    except OSError as error:
        raise UserFacing(f"cannot listen on {args.host}:{args.port}:"
                         f" {error.strerror or error}") from None  # fmt: skip
    if args.host not in LOOPBACK:
        print(f"warning: listening on {args.host}: anyone who reaches port {args.port} can drive"
              " the app, with no password", file=sys.stderr)  # fmt: skip
    host = socket.gethostname() if args.host in ("0.0.0.0", "::") else args.host
    public = (args.public_url or f"http://{host}:{args.port}").rstrip("/")
    print(f"serving mnist-tui at {public} (pictures as colour half-blocks; Ctrl-C stops)",
          flush=True)  # fmt: skip
    server = Server(app_command(args.home_path, args.serve_data), host=args.host, port=args.port,
                    title="mnist-tui", public_url=public)  # fmt: skip
    server.serve()
    return 0
