"""The browser app's door: `mnist-tui serve` lets in only a browser that shows the token it
printed, as Jupyter does. The first visit brings the token in the address (``/?token=…``);
it is exchanged for a cookie (HttpOnly, SameSite=Strict) and the address is sent back without
it, so reloads work and the token stays out of the page's links. Every request — the page,
its static files, the websocket that drives the app (``/ws``) and downloads — is refused
without it: 401 with no token, 403 with a wrong one, and a short page saying where the token
is printed. The websocket is refused too when a page of another origin opens it.

Kept apart from the command so it is read without textual-serve; aiohttp (which textual-serve
brings) is imported only when a server is made."""

from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlsplit

TOKEN_ENV = "MNIST_TUI_TOKEN"  # the token from the environment: not in the process list
TOKEN_BYTES = 24  # 192 bits, as URL-safe text of 32 characters
WILDCARDS = ("", "*", "0.0.0.0", "::")  # every interface


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bound_host(host: str) -> str:
    """The address to bind: a blank or wildcard host is every IPv4 interface (0.0.0.0)."""
    return "0.0.0.0" if host.strip() in ("", "*") else host.strip()


def cookie_name(port: int) -> str:
    """Cookies ignore the port: two servers on one machine keep their tokens apart."""
    return f"mnist-tui-token-{port}"


def same(given: str, token: str) -> bool:
    return secrets.compare_digest(given.encode(), token.encode())


REFUSED = """<!doctype html><html><head><meta charset="utf-8"><title>mnist-tui: token needed</title>
</head><body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>mnist-tui: {title}</h1>
<p>This app opens only with the token that <code>mnist-tui serve</code> printed in the
terminal where it was started: open the address it printed, which ends in
<code>/?token=…</code>. (Over SSH: <code>ssh -L PORT:127.0.0.1:PORT HOST</code>, then that
address on your own machine.)</p></body></html>
"""


def gate(token: str, port: int, public_url: str):
    """aiohttp middleware that lets in only requests holding ``token`` (module docstring)."""
    from aiohttp import web

    cookie = cookie_name(port)
    public = urlsplit(public_url).netloc

    def refused(status: int, title: str) -> web.Response:
        return web.Response(status=status, text=REFUSED.format(title=title),
                            content_type="text/html")  # fmt: skip

    @web.middleware
    async def middleware(request, handler):
        given = request.query.get("token")
        if given is not None:
            if not same(given, token):
                return refused(403, "wrong token")
            if request.path == "/":  # the first visit: the token becomes a cookie
                kept = {k: v for k, v in request.query.items() if k != "token"}
                response = web.Response(status=302, headers={
                    "Location": str(request.rel_url.with_query(kept))})  # fmt: skip
                response.set_cookie(cookie, token, httponly=True, samesite="Strict", path="/")
                return response
            return await handler(request)
        held = request.cookies.get(cookie)
        if held is None:
            return refused(401, "token needed")
        if not same(held, token):
            return refused(403, "wrong token")
        origin = request.headers.get("Origin")
        if (
            request.path == "/ws"
            and origin
            and urlsplit(origin).netloc
            not in (
                request.host,
                public,
            )
        ):
            return refused(403, "another site's page may not drive the app")
        return await handler(request)

    return middleware


def token_server(command: str, host: str, port: int, public_url: str, token: str | None):
    """textual-serve's Server with the gate in front of every route (none with no token)."""
    from textual_serve.server import Server

    class GatedServer(Server):
        async def on_startup(self, app) -> None:
            pass  # its banner's address lacks the token: the command prints the one to open

        async def _make_app(self):
            app = await super()._make_app()
            if token is not None:
                app.middlewares.append(gate(token, port, public_url))
            return app

    return GatedServer(command, host=host, port=port, title="mnist-tui", public_url=public_url)
