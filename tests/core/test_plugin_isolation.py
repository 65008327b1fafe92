"""A broken plugin never takes down a scheme it does not own, at any hook; its failure names it."""

from __future__ import annotations

import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from leadforge import plugins
from leadforge.api import Generator
from leadforge.errors import PluginError, UnknownSchemeError
from leadforge.plugins import PluginHost
from leadforge.validation import validate_bundle

HOOKS = """
import sys
from leadforge import hookimpl
from leadforge.schemes import GenerateOption, SchemeInfo
from toyplugin import ToyParams
LEADFORGE_PLUGIN_API = (2, 2)

@hookimpl
def register_schemes():
    return [SchemeInfo(name="bad", title="t", version="1", params_type=ToyParams, narrative_type=None)]

@hookimpl
def generate_options():
    {options}

@hookimpl
def build_world(scheme, config, narrative, rng):
    raise RuntimeError("bad build_world")

@hookimpl
def write_bundle(world, writer):
    raise RuntimeError("bad write_bundle")

@hookimpl
def validate(bundle, manifest):
    return {validate}
"""


@pytest.fixture
def with_bad_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(options: str = "return []", validate: str = "None") -> PluginHost:
        name = f"bad_plugin_{abs(hash((options, validate)))}"
        (tmp_path / f"{name}.py").write_text(
            textwrap.dedent(HOOKS.format(options=options, validate=validate))
        )
        sys.modules.pop(name, None)
        eps = [EntryPoint("bad", name, "leadforge"), EntryPoint("toy", "toyplugin", "leadforge")]
        monkeypatch.setattr(plugins, "entry_points", lambda group: [e for e in eps if e.group == group])
        return PluginHost.discover(env={}, report=False)

    return install


def test_a_raising_build_world_elsewhere_does_not_touch_the_toy_scheme(
    with_bad_plugin, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    host = with_bad_plugin()
    bundle = Generator.from_recipe("toy_v1", host=host).generate()
    out = bundle.save(tmp_path / "b", generation_timestamp="2026-01-01T00:00:00+00:00")
    assert validate_bundle(out, host).ok


def test_the_owner_failing_is_a_plugin_error_naming_it(with_bad_plugin) -> None:  # type: ignore[no-untyped-def]
    host = with_bad_plugin()
    with pytest.raises(
        PluginError, match=r"plugin 'bad' .* failed in build_world: RuntimeError: bad build_world"
    ):
        host.call_scheme("bad", "build_world", scheme="bad", config=None, narrative=None, rng=None)


def test_a_raising_generate_options_marks_its_plugin_broken_only(with_bad_plugin, capsys) -> None:  # type: ignore[no-untyped-def]
    host = with_bad_plugin(options="raise ValueError('no options today')")
    assert all(o.scheme != "bad" for o in host.options())
    record = next(r for r in host.records if r.name == "bad")
    assert record.status == "broken" and "no options today" in (record.reason or "")
    assert "toy" in host.schemes and "bad" not in host.schemes
    assert "plugin 'bad' failed" in capsys.readouterr().err


def test_a_validate_hook_returning_a_non_list_is_a_finding(with_bad_plugin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    host = with_bad_plugin(validate="'not a list'")
    out = Generator.from_recipe("toy_v1", host=host).generate().save(tmp_path / "b")
    report = validate_bundle(out, host)
    assert any("did not return a list of Findings" in f.message for f in report.errors)
    assert not any(f.check.startswith("core") for f in report.errors)


def test_unknown_names_in_the_plugin_filters_are_warned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugins, "entry_points", lambda group: [EntryPoint("toy", "toyplugin", "leadforge")])
    host = PluginHost.discover(
        env={"LEADFORGE_LOAD_PLUGINS": "toy,tyop", "LEADFORGE_DISABLE_PLUGINS": "nope"}, report=False
    )
    text = " ".join(host.warnings)
    assert "LEADFORGE_LOAD_PLUGINS names 'tyop', which is not an installed plugin; installed: toy" in text
    assert "LEADFORGE_DISABLE_PLUGINS names 'nope', which is not an installed plugin; installed: toy" in text


def test_a_filtered_out_scheme_says_so_instead_of_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [EntryPoint("toy", "toyplugin", "leadforge")]
    monkeypatch.setattr(plugins, "entry_points", lambda group: eps)
    host = PluginHost.discover(env={}, report=False)
    recipe = host.recipe("toy_v1")
    off = PluginHost.discover(env={"LEADFORGE_DISABLE_PLUGINS": "toy"}, report=False)
    with pytest.raises(
        UnknownSchemeError,
        match="installed but disabled: plugin 'toy' is disabled by LEADFORGE_DISABLE_PLUGINS",
    ) as caught:
        off.scheme_for(recipe)
    assert "pip install" not in str(caught.value)
