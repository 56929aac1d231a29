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
from tui.cli import main

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


@pytest.fixture()
def served(trained_home, tiny_folder, tmp_path):
    needs("textual_serve")
    port = free_port()
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "--home", str(trained_home), "serve", "--port",
         str(port), "--data", str(tiny_folder)],
        stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        server.terminate()
        server.wait(10)
        log.close()


def test_the_app_is_driven_from_a_browser(served):
    sync_api = needs("playwright.sync_api")
    chromium = chromium_or_skip()
    url, folder = served
    screen = Screen()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])  # fmt: skip
        page = browser.new_page(viewport={"width": 1100, "height": 700})
        page.on("websocket", lambda ws: ws.on("framereceived", screen.received))
        page.goto(url)
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
        browser.close()
    assert (folder / "predictions.png").stat().st_size > 10_000


def test_serve_says_what_it_does_and_refuses_a_busy_port(monkeypatch, tmp_path, capsys):
    needs("textual_serve")
    import textual_serve.server

    started = []

    class Recorder:
        def __init__(self, command, host, port, title, public_url) -> None:
            started.append((command, host, port, public_url))

        def serve(self) -> None:
            pass

    monkeypatch.setattr(textual_serve.server, "Server", Recorder)
    home = tmp_path / "home"
    port = free_port()
    assert main(["--home", str(home), "serve", "--port", str(port)]) == 0
    captured = capsys.readouterr()
    assert f"http://127.0.0.1:{port}" in captured.out and "half-blocks" in captured.out
    assert "anyone" not in captured.err  # loopback: no warning
    command, host, _, _ = started[-1]
    assert host == "127.0.0.1" and "-I" in command and str(home.resolve()) in command
    assert main(["--home", str(home), "serve", "--host", "0.0.0.0", "--port", str(port)]) == 0
    assert "anyone who reaches port" in capsys.readouterr().err
    with socket.create_server(("127.0.0.1", 0)) as busy:
        taken = busy.getsockname()[1]
        assert main(["--home", str(home), "serve", "--port", str(taken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cannot listen on 127.0.0.1:{taken}" in err[0]
    with pytest.raises(SystemExit):
        main(["--home", str(home), "serve", "--port", "70000"])
    assert "--port" in capsys.readouterr().err
