"""The CLI starts light: ``--help`` and plugin listing import no numpy/pyarrow/pandas, and the
command registry survives a command whose module is missing or broken."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from leadforge import cli

HEAVY = ("numpy", "pyarrow", "pandas", "duckdb", "distributed", "dask")

PROBE = """
import json, sys
heavy = json.loads(sys.argv[2])
sys.argv = ["leadforge", *json.loads(sys.argv[1])]
from leadforge.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy)), file=sys.stderr)
"""


def imported_by(*args: str) -> tuple[list[str], str]:
    """The heavy top-level modules a fresh ``leadforge ARGS`` process imported, and its stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args)), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    loaded: list[str] = json.loads(proc.stderr.strip().splitlines()[-1])
    return sorted({m.split(".")[0] for m in loaded}), proc.stdout


def test_help_imports_nothing_heavy() -> None:
    loaded, out = imported_by("--help")
    assert "Commands:" in out and "generate" in out and "validate" in out
    assert loaded == [], f"leadforge --help imported {loaded}"


def test_help_loads_no_plugin_and_no_pluggy() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv = ['leadforge', '--help']\n"
            "from leadforge.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m == 'pluggy' or m.endswith('.plugin')), file=sys.stderr)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stderr.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("args", [("generate", "--help"), ("plugins",), ("list-recipes",)])
def test_listing_plugins_imports_nothing_heavy(args: tuple[str, ...]) -> None:
    loaded, out = imported_by(*args)
    assert out.strip()
    assert loaded == [], f"leadforge {' '.join(args)} imported {loaded}"


@pytest.mark.parametrize(
    "module",
    [
        "leadforge_leadscoring.plugin",
        "leadforge_lifecycle.plugin",
        "leadforge_support.plugin",
        "leadforge_recipes.plugin",
    ],
)
def test_plugin_modules_keep_heavy_imports_inside_hooks(module: str) -> None:
    pytest.importorskip(module.split(".")[0])
    code = (
        f"import sys, {module} as p\n"
        "p.register_schemes() if hasattr(p, 'register_schemes') else None\n"
        "p.generate_options() if hasattr(p, 'generate_options') else None\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r})))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", f"{module} imported {proc.stdout.strip()}"


@pytest.mark.parametrize("package", ["leadforge_lifecycle", "leadforge_support"])
def test_the_scheme_name_a_plugin_repeats_is_its_worlds(package: str) -> None:
    pytest.importorskip(package)
    plugin = importlib.import_module(f"{package}.plugin")
    world = importlib.import_module(f"{package}.world")
    assert plugin.SCHEME == world.SCHEME
    assert [s.name for s in plugin.register_schemes()] == [world.SCHEME]


def test_a_lazy_contract_is_the_schemes_contract() -> None:
    pytest.importorskip("leadforge_lifecycle")
    from leadforge.api import Generator
    from leadforge_lifecycle.contract import contract

    gen = Generator.from_recipe("b2b_saas_ltv_v1", seed=1)
    assert gen.scheme.contract is not None
    assert gen.scheme.contract(gen.config) == contract(gen.config)


def test_max_workers_matches_the_engine() -> None:
    from leadforge.engine import MAX_WORKERS

    assert cli.MAX_WORKERS == MAX_WORKERS


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, cli.CommandRef]:
    commands = dict(cli.COMMANDS)
    monkeypatch.setattr(cli, "COMMANDS", commands)
    monkeypatch.setattr(cli, "_RESOLVED", {})
    return commands


def test_a_command_whose_module_is_missing_is_absent_not_fatal(registry: dict[str, cli.CommandRef]) -> None:
    registry["ghost"] = cli.CommandRef("leadforge.no_such_module.command:ghost_cmd")
    registry["shade"] = cli.CommandRef("leadforge.no_such_package:shade_cmd", "Summary given up front.")
    r = CliRunner().invoke(cli.main, ["--help"])
    assert r.exit_code == 0, r.output
    assert "generate" in r.stdout and "ghost" not in r.stdout and "shade" not in r.stdout
    r = CliRunner().invoke(cli.main, ["ghost"])
    assert r.exit_code == 2 and r.stderr.strip().startswith("Error: No such command 'ghost'")


def test_a_command_whose_dependency_is_missing_says_so_in_one_line(
    registry: dict[str, cli.CommandRef], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "leadforge_needy_cmds.py").write_text("import leadforge_absent_extra\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry["needy"] = cli.CommandRef("leadforge_needy_cmds:needy_cmd", "Needs an extra.")
    registry["needier"] = cli.CommandRef("leadforge_needy_cmds:needier_cmd")
    r = CliRunner().invoke(cli.main, ["--help"])
    assert r.exit_code == 0 and "Needs an extra." in r.stdout
    assert "needier" not in r.stdout, "without a summary the listing has nothing to show"
    for name in ("needy", "needier"):
        r = CliRunner().invoke(cli.main, [name])
        lines = r.stderr.strip().splitlines()
        assert r.exit_code == 2 and len(lines) == 1, r.stderr
        assert lines[0] == (
            f"Error: the {name} command is unavailable: "
            "ModuleNotFoundError: No module named 'leadforge_absent_extra'"
        )


def test_one_entry_adds_a_command(
    registry: dict[str, cli.CommandRef], monkeypatch: pytest.MonkeyPatch
) -> None:
    mod = type(sys)("leadforge_extra_cmds")

    @click.command("hello")
    def hello_cmd() -> None:
        """Say hello from a command registered by import path."""
        click.echo("hello")

    mod.hello_cmd = hello_cmd  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "leadforge_extra_cmds", mod)
    registry["hello"] = cli.CommandRef("leadforge_extra_cmds:hello_cmd")
    r = CliRunner().invoke(cli.main, ["--help"])
    assert "hello" in r.stdout and "Say hello from a command registered by import path." in r.stdout
    r = CliRunner().invoke(cli.main, ["hello"])
    assert r.exit_code == 0 and r.stdout == "hello\n"


def test_every_registered_command_resolves_to_a_click_command() -> None:
    for name, ref in cli.COMMANDS.items():
        found = cli._resolve(ref.target)
        if found == "":
            continue  # an optional part that is not installed here
        assert isinstance(found, click.Command), (name, found)
        assert found.name == name
