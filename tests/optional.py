"""Tests that need an optional program or package."""

from __future__ import annotations

import importlib
import os

import pytest


def needs(module: str):
    """``module`` imported; where it is missing the test is skipped, except under .ci/run
    (MNIST_TUI_STRICT=1), which installs everything and must not skip silently."""
    if os.environ.get("MNIST_TUI_STRICT"):
        return importlib.import_module(module)
    return pytest.importorskip(module)
