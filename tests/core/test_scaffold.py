"""``leadforge new-scheme``: the rendered distribution is a working, installable, tested scheme."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from leadforge.api import core_version
from leadforge.cli import main
from leadforge.errors import UsageError
from leadforge.plugins import PluginHost
from leadforge.scaffold.render import SchemeNames, check_free, check_name, render, write_project

REPO = Path(__file__).resolve().parents[2]


def new_scheme(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["new-scheme", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def rendered_plugin(tmp_path: Path) -> Iterator[tuple[Path, object]]:
    """The rendered ``probe_members`` scheme, imported from its source tree."""
    root = tmp_path / "leadforge-scheme-probe-members"
    write_project(SchemeNames.of("probe_members", core_version()), root)
    sys.path.insert(0, str(root / "src"))
    try:
        yield root, importlib.import_module("leadforge_probe_members.plugin")
    finally:
        sys.path.remove(str(root / "src"))
        for name in [m for m in sys.modules if m.startswith("leadforge_probe_members")]:
            del sys.modules[name]


def test_the_rendered_scheme_passes_the_conformance_kit(
    rendered_plugin: tuple[Path, object], tmp_path: Path
) -> None:
    from leadforge.testing import CHECKS, check_scheme

    _, plugin = rendered_plugin
    host = PluginHost.from_plugins([("probe_members", plugin)], distribution="leadforge-scheme-probe-members")
    assert host.schemes["probe_members"].sample_params == {"n_members": 300}
    assert sorted(host.recipes) == ["probe_members_v1"]
    report = check_scheme("probe_members_v1", host=host, workdir=tmp_path / "kit")
    assert [r.name for r in report.results] == [c.name for c in CHECKS] and report.ok


def test_the_rendered_pyproject_declares_the_plugin(rendered_plugin: tuple[Path, object]) -> None:
    root, _ = rendered_plugin
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["name"] == "leadforge-scheme-probe-members"
    assert project["entry-points"]["leadforge"] == {"probe_members": "leadforge_probe_members.plugin"}
    major, minor = (int(x) for x in core_version().split(".")[:2])
    assert f"leadforge-core>={major}.{minor},<{major + 1}" in project["dependencies"]
    assert "pytest>=8" in project["optional-dependencies"]["test"]
    recipe = (root / "src/leadforge_probe_members/recipes/probe_members_v1/recipe.yaml").read_text()
    assert "scheme: probe_members" in recipe and "requires: leadforge-scheme-probe-members" in recipe
    tests = sorted(p.name for p in (root / "tests").iterdir())
    assert tests == ["test_probe_members_conformance.py", "test_probe_members_scheme.py"]
    assert "class TestProbeMembersConformance(SchemeConformance):" in (root / "tests" / tests[0]).read_text()


def test_the_rendered_scheme_declares_a_complete_contract(rendered_plugin: tuple[Path, object]) -> None:
    from leadforge.api import Generator
    from leadforge.hookspecs import PLUGIN_API

    _, plugin = rendered_plugin
    assert plugin.LEADFORGE_PLUGIN_API == (PLUGIN_API, PLUGIN_API)  # type: ignore[attr-defined]
    host = PluginHost.from_plugins([("probe_members", plugin)])
    info = host.schemes["probe_members"]
    assert info.contract is not None
    contract = info.contract(Generator.from_recipe("probe_members_v1", host=host).config)
    assert len(contract.tables) >= 2
    assert any(fk.parent in contract for t in contract for fk in t.foreign_keys)
    assert any(t.public.drop for t in contract) and any(t.public.cut for t in contract)


def test_the_template_and_the_example_share_module_names() -> None:
    example = REPO / "examples/leadforge-scheme-support/src/leadforge_support"
    template = REPO / "leadforge-core/src/leadforge/scaffold/template/src/__PACKAGE__"
    assert {p.name for p in example.glob("*.py")} == {
        p.name.removesuffix(".tmpl") for p in template.glob("*.py.tmpl")
    }


@pytest.mark.parametrize("name", ["demo", "abcdefghij_klmnopqrst_uvwxyzabcd_efghijk"])
def test_the_rendered_code_is_lint_clean(name: str, tmp_path: Path) -> None:
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed next to this interpreter")
    write_project(SchemeNames.of(name, core_version()), tmp_path)
    for cmd in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        proc = subprocess.run([str(ruff), *cmd], cwd=tmp_path, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_template_token_survives_rendering() -> None:
    for rel, text in render(SchemeNames.of("demo", core_version())).items():
        for token in (
            "__SCHEME__",
            "__PACKAGE__",
            "__DIST__",
            "__RECIPE__",
            "__TITLE__",
            "__CAMEL__",
            "__CORE",
        ):
            assert token not in rel and token not in text, (rel, token)


def test_new_scheme_writes_the_project_and_says_what_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = new_scheme("ticket_triage")
    root = tmp_path / "leadforge-scheme-ticket-triage"
    assert code == 0, err
    assert (root / "src/leadforge_ticket_triage/plugin.py").is_file()
    count = len(render(SchemeNames.of("ticket_triage", core_version())))
    assert f"Created leadforge-scheme-ticket-triage in {root.relative_to(tmp_path)} ({count} files):" in out
    assert count == len([p for p in root.rglob("*") if p.is_file()])
    assert "pip install -e '.[test]'" in out and "--recipe ticket_triage_v1" in out

    code, out, err = new_scheme("other", "--dir", str(tmp_path / "elsewhere"))
    assert code == 0 and (tmp_path / "elsewhere/src/leadforge_other/world.py").is_file()


def test_new_scheme_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    code, _, err = new_scheme("demo", "--dir", str(target))
    assert code == 2 and err.strip().splitlines() == [
        f"Error: {target} is not empty; refusing to overwrite it (choose another --dir)"
    ]
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    (tmp_path / "file").write_text("x")
    code, _, err = new_scheme("demo", "--dir", str(tmp_path / "file"))
    assert code == 2 and "exists and is not a directory" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert new_scheme("demo", "--dir", str(empty))[0] == 0


@pytest.mark.parametrize(
    "name", ["Demo", "ticket-triage", "9lives", "a__b", "trailing_", "_x", "x" * 41, "é"]
)
def test_bad_names_get_one_clear_line(name: str, tmp_path: Path) -> None:
    code, out, err = new_scheme(name, "--dir", str(tmp_path / "x"))
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"Error: scheme name {name!r} is not valid: use lowercase letters, digits and single underscores, "
        "starting with a letter, at most 40 characters (e.g. 'ticket_triage')"
    ]
    assert not (tmp_path / "x").exists()


def test_keywords_are_refused() -> None:
    for name in ("class", "match"):
        with pytest.raises(UsageError, match="is a Python keyword"):
            check_name(name)
    check_name("ticket_triage2")


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("lead_scoring", "scheme 'lead_scoring' is a first-party leadforge scheme"),
        ("lifecycle", "scheme 'lifecycle' is a first-party leadforge scheme"),
        ("support", "scheme 'support' is a first-party leadforge scheme"),
        (
            "leadscoring",
            "its distribution leadforge-scheme-leadscoring is a first-party leadforge distribution",
        ),
        ("recipes", "its import package leadforge_recipes is a first-party leadforge package"),
    ],
)
def test_new_scheme_refuses_first_party_names(name: str, why: str, tmp_path: Path) -> None:
    code, out, err = new_scheme(name, "--dir", str(tmp_path / "x"))
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"Error: scheme name {name!r} is taken: {why}; choose another (e.g. 'ticket_triage')"
    ]
    assert not (tmp_path / "x").exists()


def test_new_scheme_refuses_installed_schemes_distributions_and_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(UsageError, match="a scheme or plugin named 'toy' is installed"):
        check_free(SchemeNames.of("toy", core_version()), ["toy"])
    monkeypatch.setattr(
        "leadforge.scaffold.render._distribution_installed", lambda d: d == "leadforge-scheme-taken"
    )
    with pytest.raises(UsageError, match="the distribution leadforge-scheme-taken is installed"):
        check_free(SchemeNames.of("taken", core_version()))
    (tmp_path / "leadforge_mine").mkdir()
    (tmp_path / "leadforge_mine" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UsageError, match="the import package leadforge_mine is installed"):
        check_free(SchemeNames.of("mine", core_version()))
    check_free(SchemeNames.of("ticket_triage", core_version()), ["toy"])


def test_new_scheme_json_says_what_was_created(tmp_path: Path) -> None:
    target = tmp_path / "proj"
    code, out, err = new_scheme("ticket_triage", "--dir", str(target), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["files"] == sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert (data["scheme"], data["package"], data["distribution"], data["recipe"]) == (
        "ticket_triage",
        "leadforge_ticket_triage",
        "leadforge-scheme-ticket-triage",
        "ticket_triage_v1",
    )
    assert Path(data["directory"]) == target and Path(data["path"]) == target.resolve()


def _uv() -> str | None:
    found = shutil.which("uv")
    local = REPO / ".tools" / "bin" / "uv"
    return found or (str(local) if local.exists() else None)


@pytest.mark.slow
def test_rendered_project_installs_and_its_tests_pass(tmp_path: Path) -> None:
    """Install core (from this repo) into a fresh venv, scaffold with *that* CLI, install, run pytest."""
    from leadforge.testing import CHECKS

    uv = _uv()
    if uv is None:
        pytest.skip("uv is not available")
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "LEADFORGE_", "PYTEST"))}
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
    py, bindir = str(venv / "bin" / "python"), venv / "bin"

    def install(*args: str) -> None:
        subprocess.run([uv, "pip", "install", "-q", "--python", py, *args], check=True, env=env)

    def run(*args: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, env=env)

    install(str(REPO / "leadforge-core"))
    made = run(str(bindir / "leadforge"), "new-scheme", "demo", "--dir", str(tmp_path / "demo"))
    assert made.returncode == 0, made.stderr
    install(f"{tmp_path / 'demo'}[test]")

    listed = run(str(bindir / "leadforge"), "plugins", "--json")
    plugins = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    assert plugins["demo"]["status"] == "ok" and plugins["demo"]["distribution"] == "leadforge-scheme-demo"
    assert plugins["demo"]["schemes"] == ["demo"] and plugins["demo"]["recipes"] == ["demo_v1"]

    tests = run(str(bindir / "pytest"), "-q", "-p", "no:cacheprovider", cwd=tmp_path / "demo")
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    own = (tmp_path / "demo/tests/test_demo_scheme.py").read_text().count("\ndef test_")
    assert f"{len(CHECKS) + own} passed" in tests.stdout.splitlines()[-1], tests.stdout[-500:]

    out = tmp_path / "bundle"
    gen = run(
        str(bindir / "leadforge"), "generate", "--recipe", "demo_v1", "--out", str(out), "--n-members", "500"
    )
    assert gen.returncode == 0 and "passed all checks" in gen.stdout, gen.stdout + gen.stderr
