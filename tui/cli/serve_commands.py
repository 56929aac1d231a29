"""`serve`: the same app in a browser, through textual-serve (the ``serve`` extra): each
browser tab that opens the page starts its own app process on this machine, drawn by
xterm.js. For a class on a projector, or a machine reached only through a web port."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from engine.errors import UserFacing
from tui.cli.options import add_shared_options, number_type
from tui.serve_gate import TOKEN_ENV, WILDCARDS, bound_host, is_loopback, new_token, token_server

EXTRA = "pip install 'mnist-tui[serve]'"

port_number = number_type(int, "a port number", lambda v: 1 <= v <= 65535, "must be 1-65535")

OVER_SSH = ("Over SSH, keep the default address and tunnel the port: `ssh -L 8000:127.0.0.1:8000"
            " HOST` on your own machine, then open the printed address there.")  # fmt: skip


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve", help="the app in a browser (textual-serve): every key, the form, live runs",
        description="Serve the terminal app as a web page: each tab that opens it runs its own"
        " app on this machine (the same home and runs). Pictures are colour half-blocks: sixel"
        " and kitty pixels do not reach a browser. Whoever opens it can train, delete runs and"
        " read everything as you, so it lets in only a browser holding a token: a new random"
        f" one is printed in the address to open (or --token, or ${TOKEN_ENV}), kept in a cookie"
        " after the first visit. Bound to 127.0.0.1 (this machine) unless --host says"
        f" otherwise. {OVER_SSH} Ctrl-C stops it.",
    )  # fmt: skip
    serve.add_argument("--host", default="127.0.0.1",
                       help="the address to listen on (default 127.0.0.1: this machine only;"
                       " 0.0.0.0, '*' or '': every interface, i.e. every network it is on)")  # fmt: skip
    serve.add_argument("--port", type=port_number, default=8000,
                       help="the port, 1-65535 (default 8000)")  # fmt: skip
    serve.add_argument("--public-url", metavar="URL",
                       help="the address browsers reach it at, which the page's links use"
                       " (default: http://HOST:PORT, with this machine's name for 0.0.0.0)")  # fmt: skip
    serve.add_argument("--data", metavar="DIR", dest="serve_data",
                       help="the app trains and analyses on this MNIST-format folder")  # fmt: skip
    door = serve.add_mutually_exclusive_group()
    door.add_argument("--token", metavar="TOKEN",
                      help="the token browsers must show (default: a new random one each start;"
                      f" also read from ${TOKEN_ENV}, which keeps it out of the process list)")  # fmt: skip
    door.add_argument("--no-token", action="store_true",
                      help="let in every browser that reaches the port: only on a loopback"
                      " address, where every account on this machine can then drive the app")  # fmt: skip
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


def chosen_token(args: argparse.Namespace) -> str | None:
    """The token to ask for (None: --no-token), UserFacing for one that cannot work."""
    if args.no_token:
        return None
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV)
    if token is None:
        return new_token()
    where = "--token" if args.token is not None else f"${TOKEN_ENV}"
    if not token.strip():
        raise UserFacing(f"{where} is empty: give a token, or leave it out for a random one")
    if len(token) < 8 or not all(c.isascii() and c.isprintable() and not c.isspace()
                                 for c in token):  # fmt: skip
        raise UserFacing(f"{where}: a token is at least 8 printable ASCII characters without"
                         " spaces (it travels in an address)")  # fmt: skip
    return token


def serve_command(args: argparse.Namespace) -> int:
    import socket
    from urllib.parse import quote

    host = bound_host(args.host)
    everywhere = host in WILDCARDS
    token = chosen_token(args)
    if token is None and not is_loopback(host):
        raise UserFacing(f"--no-token is refused on {args.host or repr(args.host)}: anyone who"
                         " reaches the port could drive the app; keep the token, or listen on"
                         " 127.0.0.1 and tunnel over SSH")  # fmt: skip
    try:
        import textual_serve.server  # noqa: F401
    except ImportError:
        raise UserFacing(f"serving the app in a browser needs textual-serve: {EXTRA}") from None
    try:  # a port in use or an address not on this machine: one line, before the server
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.create_server((host, args.port), family=family):
            pass
    except (OSError, OverflowError) as error:
        reason = getattr(error, "strerror", None) or error
        raise UserFacing(f"cannot listen on {host}:{args.port}: {reason}") from None
    if token is None:
        print("warning: no token: every account on this machine can drive the app (train, delete"
              " runs, read them) as you", file=sys.stderr)  # fmt: skip
    elif everywhere:
        print(f"warning: listening on every interface ({host}): anyone who reaches port"
              f" {args.port} with the token can drive the app, and plain http carries the token"
              " unencrypted; an SSH tunnel to 127.0.0.1 is safer", file=sys.stderr)  # fmt: skip
    elif not is_loopback(host):
        print(f"warning: listening on {host}: anyone who reaches port {args.port} with the token"
              " can drive the app, and plain http carries the token unencrypted",
              file=sys.stderr)  # fmt: skip
    shown_host = socket.gethostname() if everywhere else host
    public = (args.public_url or f"http://{shown_host}:{args.port}").rstrip("/")
    address = f"{public}/" + (f"?token={quote(token)}" if token else "")
    print(f"serving mnist-tui at {address} (open it to drive the app; pictures as colour"
          " half-blocks; Ctrl-C stops)", flush=True)  # fmt: skip
    server = token_server(app_command(args.home_path, args.serve_data), host, args.port, public,
                          token)  # fmt: skip
    server.serve()
    return 0
