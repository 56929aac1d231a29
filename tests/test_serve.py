"""`mnist-tui serve`: the app in a browser. A real Chromium opens the served page, keys go
from the home screen to a picture screen and back, and what the app draws is read from the
terminal stream the page receives (xterm.js draws on a canvas, not in the page's text)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.optional import needs
from tui.cli.main import main
from tui.serve_gate import TOKEN_ENV

ESCAPES = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-B]|.)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def chromium_or_skip() -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        assert not os.environ.get("MNIST_TUI_STRICT"), ".ci/run installs Debian's chromium"
        pytest.skip("no chromium here (.ci/run installs Debian's)")
    return chromium


class Screen:
    """What the served app has drawn so far: the text of the terminal stream, escapes out."""

    def __init__(self) -> None:
        self.raw = bytearray()

    def received(self, payload) -> None:
        self.raw += payload if isinstance(payload, bytes) else payload.encode()

    def mark(self) -> int:
        return len(self.raw)

    def text(self, since: int = 0) -> str:
        return ESCAPES.sub("", self.raw[since:].decode("utf-8", errors="ignore"))

    def wait_for(self, page, words: str, since: int = 0, seconds: float = 60) -> bool:
        """Whether ``words`` are drawn (after ``since``) within ``seconds``."""
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            if words in self.text(since):
                return True
            page.wait_for_timeout(200)
        return False


def launch(p, chromium: str):
    return p.chromium.launch(executable_path=chromium, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"])  # fmt: skip


@pytest.fixture()
def served(trained_home, tiny_folder, tmp_path):
    """The app served on a free port; (the address it printed to open, with its token, the
    address without it, a folder for pictures)."""
    needs("textual_serve")
    port = free_port()
    log_path = tmp_path / "serve.log"
    log = open(log_path, "w")  # noqa: SIM115
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    server = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--home", str(trained_home), "serve", "--port",
         str(port), "--data", str(tiny_folder)],
        stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parent.parent, env=env,
    )  # fmt: skip
    try:
        printed = None
        for _ in range(300):
            printed = re.search(r"serving mnist-tui at (\S+)", log_path.read_text())
            if printed:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    pass
            time.sleep(0.1)
        assert printed, log_path.read_text()
        yield printed.group(1), f"http://127.0.0.1:{port}/", tmp_path
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def test_the_app_is_driven_from_a_browser_with_the_printed_token(served):
    sync_api = needs("playwright.sync_api")
    chromium = chromium_or_skip()
    url, plain, folder = served
    assert "?token=" in url
    screen = Screen()
    with sync_api.sync_playwright() as p:
        browser = launch(p, chromium)
        page = browser.new_page(viewport={"width": 1100, "height": 700})
        page.on("websocket", lambda ws: ws.on("framereceived", screen.received))
        page.goto(url)
        assert "token" not in page.url  # exchanged for a cookie, out of the address bar
        assert screen.wait_for(page, "analyses use:"), screen.text()[-2000:]
        page.mouse.click(500, 300)  # focus the terminal
        mark = screen.mark()
        page.keyboard.press("5")  # predictions: test digits drawn as half-blocks
        assert screen.wait_for(page, "Predictions on the test set", mark), screen.text(mark)
        assert screen.wait_for(page, "#0 ", mark), screen.text(mark)  # a digit's caption
        assert "▀" in screen.text(mark) or "▄" in screen.text(mark)  # half-blocks, not pixels
        page.screenshot(path=str(folder / "predictions.png"))
        mark = screen.mark()
        page.keyboard.press("Escape")  # back home: its list of experiments again
        assert screen.wait_for(page, "Predictions", mark), screen.text(mark)
        assert screen.wait_for(page, "Occlusion", mark), screen.text(mark)
        mark = screen.mark()
        page.goto(plain)  # a reload without the token: the cookie lets it in
        assert screen.wait_for(page, "analyses use:", mark), screen.text(mark)
        browser.close()
    assert (folder / "predictions.png").stat().st_size > 10_000


@pytest.mark.parametrize("token", [None, "wrong-token-123"], ids=["no token", "wrong token"])
def test_without_the_token_the_page_is_refused_and_the_app_never_starts(served, token):
    sync_api = needs("playwright.sync_api")
    chromium = chromium_or_skip()
    _, plain, _ = served
    with sync_api.sync_playwright() as p:
        browser = launch(p, chromium)
        page = browser.new_page()
        sockets = []
        page.on("websocket", lambda ws: sockets.append(ws))
        response = page.goto(plain + (f"?token={token}" if token else ""))
        assert response.status == (401 if token is None else 403)
        assert "printed" in page.inner_text("body")  # says where the token is
        for path in ("static/js/textual.js", "ws"):
            assert page.request.get(plain + path).status in (401, 403)
        opened = page.evaluate(
            """url => new Promise(done => { const ws = new WebSocket(url);
                 ws.onopen = () => done(true); ws.onerror = () => done(false); })""",
            plain.replace("http", "ws") + "ws",
        )  # fmt: skip
        page.wait_for_timeout(500)
        browser.close()
    assert opened is False and not [ws for ws in sockets if "/ws" in ws.url and not ws.is_closed()]


class Recorder:
    """textual-serve's server, recorded instead of started."""

    started: list = []

    def __init__(self, command, host, port, public_url, token) -> None:
        Recorder.started.append({"command": command, "host": host, "port": port,
                                 "public": public_url, "token": token})  # fmt: skip

    def serve(self) -> None:
        pass


@pytest.fixture()
def recorded(monkeypatch, tmp_path):
    needs("textual_serve")
    import tui.cli.serve_commands

    monkeypatch.setattr(tui.cli.serve_commands, "token_server", Recorder)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    Recorder.started.clear()
    return tmp_path / "home"


def test_serve_prints_an_address_with_a_new_token_and_refuses_a_busy_port(recorded, capsys):
    home = recorded
    port = free_port()
    assert main(["--home", str(home), "serve", "--port", str(port)]) == 0
    captured = capsys.readouterr()
    token = Recorder.started[-1]["token"]
    assert len(token) >= 32
    assert f"http://127.0.0.1:{port}/?token={token}" in captured.out
    assert "half-blocks" in captured.out and captured.err == ""  # loopback: no warning
    started = Recorder.started[-1]
    assert started["host"] == "127.0.0.1" and "-I" in started["command"]
    assert str(home.resolve()) in started["command"]
    assert main(["--home", str(home), "serve", "--port", str(port)]) == 0
    assert Recorder.started[-1]["token"] != token  # a new one at each start
    with socket.create_server(("127.0.0.1", 0)) as busy:
        taken = busy.getsockname()[1]
        capsys.readouterr()
        assert main(["--home", str(home), "serve", "--port", str(taken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cannot listen on 127.0.0.1:{taken}" in err[0]


@pytest.mark.parametrize("host", ["0.0.0.0", "", "*", " "])
def test_every_interface_is_said_plainly_and_still_needs_the_token(recorded, capsys, host):
    port = free_port()
    assert main(["--home", str(recorded), "serve", "--host", host, "--port", str(port)]) == 0
    captured = capsys.readouterr()
    assert Recorder.started[-1]["host"] == "0.0.0.0"
    assert "every interface (0.0.0.0)" in captured.err and "token" in captured.err
    assert f"?token={Recorder.started[-1]['token']}" in captured.out


def test_a_token_from_the_option_or_the_environment(recorded, capsys, monkeypatch):
    port = free_port()
    assert main(["--home", str(recorded), "serve", "--port", str(port), "--token",
                 "my-own-token"]) == 0  # fmt: skip
    assert Recorder.started[-1]["token"] == "my-own-token"
    assert "?token=my-own-token" in capsys.readouterr().out
    monkeypatch.setenv(TOKEN_ENV, "from-the-environment")
    assert main(["--home", str(recorded), "serve", "--port", str(port)]) == 0
    assert Recorder.started[-1]["token"] == "from-the-environment"


def test_no_token_only_on_loopback_and_with_a_warning(recorded, capsys):
    port = free_port()
    assert main(["--home", str(recorded), "serve", "--port", str(port), "--no-token"]) == 0
    captured = capsys.readouterr()
    assert Recorder.started[-1]["token"] is None and "token=" not in captured.out
    assert "every account on this machine" in captured.err


SERVE_BAD = [
    (["--no-token", "--host", "0.0.0.0"], "--no-token is refused on 0.0.0.0"),
    (["--no-token", "--host", ""], "--no-token is refused on ''"),
    (["--no-token", "--host", "192.0.2.7"], "--no-token is refused on 192.0.2.7"),
    (["--token", ""], "--token is empty"),
    (["--token", "   "], "--token is empty"),
    (["--token", "short"], "at least 8 printable ASCII"),
    (["--token", "with space in it"], "without spaces"),
    (["--token", "tökén-with-accents"], "ASCII"),
    (["--token", "abcdefgh", "--no-token"], "not allowed with argument"),
    (["--host", "192.0.2.7"], "cannot listen on 192.0.2.7"),
    (["--host", "no-such-host.invalid"], "cannot listen on no-such-host.invalid"),
    (["--port", "0"], "--port"),
    (["--port", "70000"], "--port"),
    (["--port", "eighty"], "--port"),
    (["--port", "-1"], "--port"),
    (["--port"], "--port"),
]


@pytest.mark.parametrize(("argv", "said"), SERVE_BAD, ids=[" ".join(a) for a, _ in SERVE_BAD])
def test_a_bad_serve_option_is_one_line_and_serves_nothing(recorded, capsys, argv, said):
    main(["--home", str(recorded), "runs"])  # the home as a user has it
    before = sorted(recorded.rglob("*"))
    capsys.readouterr()
    code = exit_code(lambda: main(["--home", str(recorded), "serve", *argv]))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and said in err[-1], err
    assert len([line for line in err if not line.startswith("usage:")]) == 1
    assert not Recorder.started and sorted(recorded.rglob("*")) == before


def test_an_empty_token_in_the_environment_is_refused(recorded, capsys, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "")
    assert main(["--home", str(recorded), "serve", "--port", str(free_port())]) == 2
    assert f"${TOKEN_ENV} is empty" in capsys.readouterr().err
    assert not Recorder.started


def exit_code(call) -> int:
    try:
        return call()
    except SystemExit as stop:
        return stop.code
