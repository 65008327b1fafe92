"""Realism metrics: bands judge values, and hidden metrics never reach a public bundle's list."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from core_support import PINNED
from leadforge import hookimpl
from leadforge.api import Generator
from leadforge.errors import UsageError
from leadforge.plugins import PluginHost
from leadforge.realism import RealismMetric
from leadforge.validation import measure_realism


def test_band_edges_and_open_ends() -> None:
    assert RealismMetric("a", "A", 0.6, 0.25, 0.6).ok
    assert not RealismMetric("a", "A", 0.61, 0.25, 0.6).ok
    assert RealismMetric("a", "A", 1e9, low=0.5).ok
    assert not RealismMetric("a", "A", -1.0, low=0.5).ok
    assert RealismMetric("a", "A", -1e9, high=0.12).ok
    assert not RealismMetric("a", "A", math.nan, 0.0, 1.0).ok
    assert RealismMetric("a", "A", 0.1, 0.0, 1.0, unit="share").band == "[0, 1] share"
    assert RealismMetric("a", "A", 0.1, high=1.0).band == "[, 1]"


def test_empty_band_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        RealismMetric("a", "A", 0.5, 0.9, 0.1)


def test_json_has_no_nan() -> None:
    out = RealismMetric("a", "A", math.nan, 0.0, 1.0).to_json()
    assert out["value"] is None and out["ok"] is False


class _Probe:
    """A plugin that answers every bundle with fixed metrics."""

    LEADFORGE_PLUGIN_API = (2, 2)

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    @hookimpl
    def realism_metrics(self, bundle: Any, manifest: Any) -> Any:
        return self.answer


def _host(answer: Any) -> PluginHost:
    import toyplugin

    return PluginHost.from_plugins([("toy", toyplugin), ("probe", _Probe(answer))])


@pytest.mark.parametrize("mode", ["student_public", "research_instructor"])
def test_hidden_metrics_only_in_instructor_bundles(tmp_path: Path, mode: str) -> None:
    shown = RealismMetric("shown", "public figure", 0.5, 0.0, 1.0)
    hidden = RealismMetric("hidden", "hidden figure", 0.5, 0.0, 1.0, hidden=True)
    host = _host([shown, hidden])
    root = (
        Generator.from_recipe("toy_v1", exposure_mode=mode, host=host)
        .generate()
        .save(tmp_path / "b", generation_timestamp=PINNED)
    )
    names = [m.name for m in measure_realism(root, host)]
    assert names == (["shown"] if mode == "student_public" else ["shown", "hidden"])


def test_a_hook_returning_garbage_is_one_clear_error(tmp_path: Path) -> None:
    host = _host(["not a metric"])
    root = (
        Generator.from_recipe("toy_v1", host=host)
        .generate()
        .save(tmp_path / "b", generation_timestamp=PINNED)
    )
    with pytest.raises(UsageError, match="RealismMetric"):
        measure_realism(root, host)
