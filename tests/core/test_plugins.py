from __future__ import annotations

import re
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import toyplugin
from leadforge import plugins
from leadforge.errors import InvalidRecipeError, PluginError, UnknownSchemeError, UsageError
from leadforge.plugins import PluginHost


def make_module(tmp_path: Path, name: str, body: str) -> str:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    return name


@pytest.fixture
def fake_eps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Install entry points for modules written into tmp_path; returns a registrar."""
    monkeypatch.syspath_prepend(str(tmp_path))
    eps: list[EntryPoint] = []
    monkeypatch.setattr(plugins, "entry_points", lambda group: [e for e in eps if e.group == group])

    def add(name: str, module: str, body: str | None = None) -> None:
        if body is not None:
            make_module(tmp_path, module, body)
            sys.modules.pop(module, None)
        eps.append(EntryPoint(name, module, "leadforge"))

    return add


GOOD = """
from leadforge import hookimpl
from leadforge.schemes import SchemeInfo
from toyplugin import ToyParams
LEADFORGE_PLUGIN_API = (2, 2)

@hookimpl
def register_schemes():
    return [SchemeInfo(name="{scheme}", title="t", version="1", params_type=ToyParams, narrative_type=None)]
"""


def test_broken_plugin_is_reported_and_others_keep_working(fake_eps, capsys) -> None:  # type: ignore[no-untyped-def]
    fake_eps("good", "good_plugin", GOOD.format(scheme="alpha"))
    fake_eps("broken", "broken_plugin", "raise RuntimeError('boom at import')\n")
    fake_eps("toy", "toyplugin")
    host = PluginHost.discover(env={})
    status = {r.name: r.status for r in host.records}
    assert status == {"broken": "broken", "good": "ok", "toy": "ok"}
    broken = next(r for r in host.records if r.name == "broken")
    assert "RuntimeError: boom at import" in (broken.reason or "")
    assert set(host.schemes) == {"alpha", "toy"}
    assert host.recipe("toy_v1").scheme == "toy"
    err = capsys.readouterr().err
    assert err.count("boom at import") == 1 and err.startswith("leadforge: warning: plugin 'broken'")


def test_strict_mode_reraises(fake_eps) -> None:  # type: ignore[no-untyped-def]
    fake_eps("broken", "broken_plugin2", "raise RuntimeError('boom')\n")
    with pytest.raises(PluginError, match="import failed: RuntimeError: boom"):
        PluginHost.discover(env={"LEADFORGE_STRICT_PLUGINS": "1"}, report=False)


def test_load_and_disable_filters(fake_eps) -> None:  # type: ignore[no-untyped-def]
    fake_eps("good", "good_plugin3", GOOD.format(scheme="alpha"))
    fake_eps("toy", "toyplugin")
    only_toy = PluginHost.discover(env={"LEADFORGE_LOAD_PLUGINS": "toy"}, report=False)
    assert set(only_toy.schemes) == {"toy"}
    assert {r.name: r.status for r in only_toy.records}["good"] == "disabled"
    none = PluginHost.discover(env={"LEADFORGE_LOAD_PLUGINS": ""}, report=False)
    assert none.schemes == {} and all(r.status == "disabled" for r in none.records)
    blocked = PluginHost.discover(env={"LEADFORGE_DISABLE_PLUGINS": "good"}, report=False)
    assert set(blocked.schemes) == {"toy"}


def test_incompatible_api_is_refused_readably(fake_eps) -> None:  # type: ignore[no-untyped-def]
    fake_eps("future", "future_plugin", GOOD.format(scheme="beta").replace("(2, 2)", "(3, 4)"))
    fake_eps("undeclared", "undeclared_plugin", "x = 1\n")
    fake_eps("garbled", "garbled_plugin", GOOD.format(scheme="eps").replace("(2, 2)", '"2"'))
    host = PluginHost.discover(env={}, report=False)
    rec = {r.name: r for r in host.records}
    assert rec["future"].status == "incompatible" and "supports plugin API (3, 4)" in (
        rec["future"].reason or ""
    )
    assert rec["undeclared"].status == "incompatible" and "no LEADFORGE_PLUGIN_API" in (
        rec["undeclared"].reason or ""
    )
    assert rec["garbled"].status == "incompatible" and "supports plugin API '2'" in (
        rec["garbled"].reason or ""
    )
    assert host.schemes == {}


# A plugin written for plugin API 1: its write_metadata hook has no ``written`` argument.
API_1 = """
from leadforge import hookimpl
from leadforge.schemes import SchemeInfo
from toyplugin import ToyParams
LEADFORGE_PLUGIN_API = (1, 1)

@hookimpl
def register_schemes():
    return [SchemeInfo(name="old", title="t", version="1", params_type=ToyParams, narrative_type=None)]

@hookimpl
def write_metadata(world, writer):
    return True
"""


def test_a_plugin_for_api_1_is_incompatible_and_the_others_keep_working(fake_eps, capsys) -> None:  # type: ignore[no-untyped-def]
    fake_eps("old", "old_api_plugin", API_1)
    fake_eps("toy", "toyplugin")
    host = PluginHost.discover(env={})
    rec = {r.name: r for r in host.records}
    assert rec["old"].status == "incompatible" and rec["old"].schemes == ()
    assert rec["old"].reason == "supports plugin API (1, 1); this leadforge-core implements API 2"
    assert rec["toy"].status == "ok" and set(host.schemes) == {"toy"}
    assert "plugin 'old' is incompatible: supports plugin API (1, 1)" in capsys.readouterr().err
    from click.testing import CliRunner
    from leadforge.cli import main

    plugins.set_host(host)
    try:
        listed = CliRunner().invoke(main, ["plugins"])
    finally:
        plugins.set_host(None)
    assert listed.exit_code == 0
    assert (
        "old: incompatible: supports plugin API (1, 1); this leadforge-core implements API 2" in listed.stdout
    )
    with pytest.raises(
        PluginError, match=r"supports plugin API \(1, 1\); this leadforge-core implements API 2"
    ):
        PluginHost.discover(env={"LEADFORGE_STRICT_PLUGINS": "1"}, report=False)


def test_a_range_that_spans_api_2_is_accepted(fake_eps) -> None:  # type: ignore[no-untyped-def]
    fake_eps("wide", "wide_plugin", GOOD.format(scheme="zeta").replace("(2, 2)", "(1, 3)"))
    host = PluginHost.discover(env={}, report=False)
    assert [(r.name, r.status) for r in host.records] == [("wide", "ok")] and "zeta" in host.schemes


def test_unknown_hook_implementation_is_rejected(fake_eps) -> None:  # type: ignore[no-untyped-def]
    fake_eps(
        "typo",
        "typo_plugin",
        GOOD.format(scheme="gamma") + "\n@hookimpl\ndef build_wrld():\n    return None\n",
    )
    host = PluginHost.discover(env={}, report=False)
    rec = host.records[0]
    assert rec.status == "broken" and "unknown hook(s): build_wrld" in (rec.reason or "")
    assert "gamma" not in host.schemes


def test_raising_registration_hook_marks_plugin_broken(fake_eps) -> None:  # type: ignore[no-untyped-def]
    body = GOOD.format(scheme="delta").replace(
        "return [SchemeInfo", 'raise ValueError("bad table"); return [SchemeInfo'
    )
    fake_eps("raiser", "raiser_plugin", body)
    host = PluginHost.discover(env={}, report=False)
    assert host.records[0].status == "broken" and "ValueError: bad table" in (host.records[0].reason or "")


def test_same_scheme_from_two_distributions_names_both(fake_eps, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fake_eps("one", "one_plugin", GOOD.format(scheme="dup"))
    fake_eps("two", "two_plugin", GOOD.format(scheme="dup"))
    host = PluginHost.discover(env={}, report=False)
    with pytest.raises(UsageError, match="scheme 'dup' is registered by both one and two"):
        host.scheme("dup")
    with pytest.raises(PluginError, match="registered by both"):
        PluginHost.discover(env={"LEADFORGE_STRICT_PLUGINS": "1"}, report=False)


def test_trace_prints_hook_calls(fake_eps, capsys) -> None:  # type: ignore[no-untyped-def]
    fake_eps("toy", "toyplugin")
    host = PluginHost.discover(env={"LEADFORGE_TRACE_PLUGINS": "1"}, report=False)
    host.hook.generate_options()
    err = capsys.readouterr().err
    assert "leadforge: trace: generate_options() -> 1 implementation(s)" in err
    assert "leadforge: trace: generate_options -> [[GenerateOption(" in err


def test_recipe_lookup_errors(toy_host: PluginHost, tmp_path: Path) -> None:
    with pytest.raises(InvalidRecipeError, match="unknown recipe 'nope'; available recipes: toy_v1"):
        toy_host.recipe("nope")
    with pytest.raises(UnknownSchemeError, match="unknown generation scheme 'zzz'; installed schemes: toy"):
        toy_host.scheme("zzz")


def test_malformed_recipe_is_reported_and_does_not_hide_others(tmp_path: Path) -> None:
    bad = tmp_path / "broken_recipe"
    bad.mkdir()
    (bad / "recipe.yaml").write_text("id: broken\ntitle: [unclosed\n")
    missing = tmp_path / "missing_keys"
    missing.mkdir()
    (missing / "recipe.yaml").write_text("id: missing\ntitle: t\n")
    orphan = tmp_path / "needs_scheme"
    orphan.mkdir()
    (orphan / "recipe.yaml").write_text(
        "id: orphan\ntitle: t\ndescription: d\nscheme: lead_scoring\nrequires: leadforge-scheme-leadscoring>=2.0,<3\n"
        "supported_modes: [student_public]\nsupported_difficulty: [intro]\n"
    )

    class Extra:
        LEADFORGE_PLUGIN_API = (2, 2)

        @staticmethod
        @__import__("leadforge").hookimpl
        def register_recipes() -> list[Path]:
            return [bad, missing, orphan]

    host = PluginHost.from_plugins([("toy", toyplugin), ("extra", Extra())], strict=False)
    assert set(host.recipes) == {"toy_v1", "orphan"}
    errors = {e.id: e.error for e in host.invalid_recipes}
    assert re.search(r"broken_recipe/recipe\.yaml: line \d+ invalid YAML", errors["broken_recipe"] or "")
    assert "missing required key(s): description, supported_difficulty, supported_modes" in (
        errors["missing_keys"] or ""
    )
    with pytest.raises(UnknownSchemeError) as err:
        host.scheme_for(host.recipe("orphan"))
    assert "run: pip install 'leadforge-scheme-leadscoring>=2.0,<3'" in str(err.value)


def test_unknown_plugin_names_in_the_filters_are_one_warning_line_each(fake_eps, capsys) -> None:  # type: ignore[no-untyped-def]
    fake_eps("toy", "toyplugin")
    PluginHost.discover(env={"LEADFORGE_LOAD_PLUGINS": "toy,tyo,nope", "LEADFORGE_DISABLE_PLUGINS": "gone"})
    lines = [line for line in capsys.readouterr().err.splitlines() if "not an installed plugin" in line]
    assert sorted(lines) == sorted(
        [
            "leadforge: warning: LEADFORGE_LOAD_PLUGINS names 'nope', which is not an installed plugin; installed: toy",
            "leadforge: warning: LEADFORGE_LOAD_PLUGINS names 'tyo', which is not an installed plugin; installed: toy",
            "leadforge: warning: LEADFORGE_DISABLE_PLUGINS names 'gone', which is not an installed plugin; installed: toy",
        ]
    )
    PluginHost.discover(env={"LEADFORGE_LOAD_PLUGINS": "toy"})
    assert "not an installed plugin" not in capsys.readouterr().err


RECIPE_ONLY = """
from pathlib import Path
from leadforge import hookimpl
import toyplugin
LEADFORGE_PLUGIN_API = (2, 2)

@hookimpl
def register_recipes():
    return [toyplugin.RECIPES / "toy_v1"]
"""


def test_a_disabled_scheme_is_reported_as_disabled_not_missing(fake_eps, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner
    from leadforge.cli import main

    fake_eps("toy", "toyplugin")
    fake_eps("pack", "toy_recipe_pack", RECIPE_ONLY)
    host = PluginHost.discover(env={"LEADFORGE_DISABLE_PLUGINS": "toy"}, report=False)
    recipe = next(e.recipe for e in host.recipes.values() if e.recipe and e.recipe.scheme == "toy")
    with pytest.raises(UnknownSchemeError) as err:
        host.scheme_for(recipe)
    text = str(err.value)
    assert (
        "installed but disabled" in text and "LEADFORGE_DISABLE_PLUGINS" in text and "pip install" not in text
    )
    with pytest.raises(UnknownSchemeError, match="'toy' is installed but disabled"):
        host.scheme("toy")
    plugins.set_host(host)
    try:
        r = CliRunner().invoke(main, ["list-recipes", "--json"])
        (item,) = [i for i in __import__("json").loads(r.stdout)["recipes"] if i["scheme"] == "toy"]
        assert item["status"] == "disabled" and item["install"] is None
        assert item["disabled_by"] == "disabled by LEADFORGE_DISABLE_PLUGINS"
        r = CliRunner().invoke(main, ["list-recipes"])
        assert "the toy scheme is installed but disabled by LEADFORGE_DISABLE_PLUGINS" in r.stdout
        assert "pip install" not in r.stdout
    finally:
        plugins.set_host(None)
    only = PluginHost.discover(env={"LEADFORGE_LOAD_PLUGINS": "pack"}, report=False)
    with pytest.raises(UnknownSchemeError, match="disabled by LEADFORGE_LOAD_PLUGINS"):
        only.scheme_for(recipe)


def test_trace_shows_the_registration_hooks_of_each_plugin(fake_eps, capsys) -> None:  # type: ignore[no-untyped-def]
    fake_eps("toy", "toyplugin")
    fake_eps("good", "good_plugin_traced", GOOD.format(scheme="alpha"))
    PluginHost.discover(env={"LEADFORGE_TRACE_PLUGINS": "1"}, report=False)
    err = capsys.readouterr().err
    assert "leadforge: trace: register_schemes() [good]" in err
    assert "leadforge: trace: register_schemes [good] -> [SchemeInfo(name='alpha'" in err
    assert "leadforge: trace: register_schemes() [toy]" in err
    assert "leadforge: trace: register_recipes [toy] -> [" in err
    PluginHost.discover(env={}, report=False)
    assert "trace" not in capsys.readouterr().err
