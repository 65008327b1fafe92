"""Core test fixtures: a host holding only the toy scheme, and a CLI runner bound to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import toyplugin
from click.testing import CliRunner, Result
from leadforge.cli import main
from leadforge.plugins import PluginHost, set_host


@pytest.fixture
def toy_host() -> PluginHost:
    return PluginHost.from_plugins([("toy", toyplugin)], distribution="leadforge-scheme-toy")


@pytest.fixture
def cli(toy_host: PluginHost, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """Run the CLI against the toy host; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    set_host(toy_host)
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(main, list(args), catch_exceptions=False)

    yield run
    set_host(None)
