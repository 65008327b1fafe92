"""Installability, proven: every wheel of the workspace, installed in combinations into fresh venvs.

One ``uv build --all-packages`` per module; each combination gets its own virtual environment
holding only the wheels under test and their declared dependencies. The CLI is driven as a user
would (``plugins --json``, ``list-recipes --json``, ``generate``, ``validate``), and every command
with its output goes to a transcript (printed with ``-s``; its path is in the test output).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from leadforge.hookspecs import PLUGIN_API

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CORE, RECIPES = "leadforge-core", "leadforge-recipes"
FIRST_PARTY = "pip install leadforge-scheme-leadscoring leadforge-scheme-lifecycle leadforge-recipes"


def _members() -> dict[str, Path]:
    root = tomllib.loads((REPO / "pyproject.toml").read_text())
    out = {}
    for member in root["tool"]["uv"]["workspace"]["members"]:
        project = tomllib.loads((REPO / member / "pyproject.toml").read_text())["project"]
        out[project["name"]] = REPO / member
    return out


def _plugin_distributions() -> list[str]:
    """Workspace distributions that register a ``leadforge`` entry point, other than recipe packs."""
    out = []
    for name, folder in _members().items():
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        if "leadforge" in project.get("entry-points", {}) and name != RECIPES:
            out.append(name)
    return sorted(out)


def _uv() -> str:
    found = shutil.which("uv") or (str(REPO / ".tools/bin/uv") if (REPO / ".tools/bin/uv").exists() else None)
    if found is None:
        pytest.skip("uv is not available (make bootstraps it into .tools/bin/uv)")
    return found


@dataclass
class Transcript:
    path: Path
    lines: list[str] = field(default_factory=list)

    def add(self, title: str, text: str) -> None:
        self.lines += [title, text.rstrip(), ""]
        self.path.write_text("\n".join(self.lines))


@dataclass
class Venv:
    """A fresh virtual environment; ``leadforge`` runs from it with a clean environment."""

    name: str
    root: Path
    uv: str
    wheels: Path
    transcript: Transcript

    @classmethod
    def create(cls, name: str, base: Path, uv: str, wheels: Path, transcript: Transcript) -> Venv:
        venv = cls(name, base / name, uv, wheels, transcript)
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv.root)], check=True, env=_env())
        return venv

    def install(self, *dists: str) -> None:
        paths = [str(_wheel(self.wheels, d)) for d in dists]
        cmd = [self.uv, "pip", "install", "-q", "--python", str(self.root / "bin/python")]
        subprocess.run([*cmd, "--find-links", str(self.wheels), *paths], check=True, env=_env())
        self.transcript.add(f"## {self.name}: installed {', '.join(dists)}", "")

    def run(self, *args: str, expect: int = 0, show: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(self.root / "bin/leadforge"), *args], capture_output=True, text=True, env=_env(), check=False
        )
        if show:
            self.transcript.add(
                f"$ leadforge {' '.join(args)}   [exit {proc.returncode}]", proc.stdout + proc.stderr
            )
        assert proc.returncode == expect, (args, proc.returncode, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, show=False).stdout)

    def listings(self) -> tuple[str, str]:
        """What ``leadforge plugins`` and ``leadforge list-recipes`` print (into the transcript)."""
        return self.run("plugins").stdout, self.run("list-recipes").stdout

    def python(self, code: str) -> str:
        proc = subprocess.run(
            [str(self.root / "bin/python"), "-c", code],
            capture_output=True,
            text=True,
            env=_env(),
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def sample_params(self) -> dict[str, dict[str, Any]]:
        code = (
            "import json\nfrom leadforge.plugins import PluginHost\nh = PluginHost.discover(report=False)\n"
            "print(json.dumps({n: dict(s.sample_params) for n, s in h.schemes.items()}))"
        )
        return dict(json.loads(self.python(code)))


def _env() -> dict[str, str]:
    drop = ("VIRTUAL_ENV", "LEADFORGE_", "PYTHONPATH", "SOURCE_DATE_EPOCH", "UV_PROJECT_ENVIRONMENT")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def _wheel(folder: Path, dist: str) -> Path:
    stem = dist.replace("-", "_")
    found = sorted(folder.glob(f"{stem}-*.whl"))
    assert len(found) == 1, f"expected one wheel for {dist} in {folder}: {found}"
    return found[0]


BROKEN_PYPROJECT = """
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "leadforge-plugin-broken"
version = "0.0.1"
requires-python = ">=3.11"
dependencies = ["leadforge-core>=2.0,<3"]

[project.entry-points.leadforge]
broken = "leadforge_broken.plugin"
future = "leadforge_broken.future"

[tool.hatch.build.targets.wheel]
packages = ["src/leadforge_broken"]
"""


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, Transcript]]:
    """All workspace wheels plus a deliberately broken plugin wheel, built once for the module."""
    uv = _uv()
    base = tmp_path_factory.mktemp("wheel-matrix")
    wheels = base / "wheels"
    env = {k: v for k, v in _env().items()}
    subprocess.run(
        [uv, "build", "--all-packages", "--wheel", "-q", "-o", str(wheels)], cwd=REPO, check=True, env=env
    )
    broken = base / "broken"
    (broken / "src/leadforge_broken").mkdir(parents=True)
    (broken / "pyproject.toml").write_text(BROKEN_PYPROJECT)
    (broken / "src/leadforge_broken/__init__.py").write_text("")
    (broken / "src/leadforge_broken/plugin.py").write_text(
        'raise RuntimeError("this plugin is broken on purpose")\n'
    )
    (broken / "src/leadforge_broken/future.py").write_text("LEADFORGE_PLUGIN_API = (7, 9)\n")
    subprocess.run([uv, "build", "--wheel", "-q", "-o", str(wheels), str(broken)], check=True, env=env)
    transcript = Transcript(base / "transcript.md")
    yield wheels, uv, transcript
    print(f"\n--- wheel matrix transcript ({transcript.path}) ---\n" + "\n".join(transcript.lines))


def new_venv(matrix: tuple[Path, str, Transcript], name: str, tmp_path: Path) -> Venv:
    wheels, uv, transcript = matrix
    return Venv.create(name, tmp_path, uv, wheels, transcript)


def test_every_distribution_built_one_wheel(matrix: tuple[Path, str, Transcript]) -> None:
    wheels, _, _ = matrix
    for dist in [*_members(), "leadforge-plugin-broken"]:
        assert _wheel(wheels, dist).stat().st_size > 0


def test_core_alone_works_lists_nothing_and_says_how_to_get_a_scheme(
    matrix: tuple[Path, str, Transcript], tmp_path: Path
) -> None:
    venv = new_venv(matrix, "core alone", tmp_path)
    venv.install(CORE)
    plugins = venv.json("plugins", "--json")
    assert (
        plugins["plugins"] == [] and plugins["schemes"] == [] and plugins["core"]["plugin_api"] == PLUGIN_API
    )
    plugins_text, recipes_text = venv.listings()
    assert "No leadforge plugins installed" in plugins_text and FIRST_PARTY in plugins_text
    assert venv.json("list-recipes", "--json") == {"recipes": []}
    assert "pip install leadforge-recipes" in recipes_text
    err = venv.run(
        "generate", "--recipe", "b2b_saas_procurement_v1", "--out", str(tmp_path / "b"), expect=2
    ).stderr
    assert err.strip().splitlines() == [
        "Error: unknown recipe 'b2b_saas_procurement_v1'; available recipes: none installed "
        "(pip install leadforge-recipes)"
    ]
    assert venv.run("--version").stdout.strip() == "leadforge 2.0.0"
    assert not (tmp_path / "b").exists()


def test_core_with_recipes_lists_each_recipe_as_unavailable_with_its_fix(
    matrix: tuple[Path, str, Transcript], tmp_path: Path
) -> None:
    venv = new_venv(matrix, "core + recipes", tmp_path)
    venv.install(CORE, RECIPES)
    plugins = venv.json("plugins", "--json")
    (record,) = plugins["plugins"]
    assert record["distribution"] == RECIPES and record["status"] == "ok" and plugins["schemes"] == []
    recipes = venv.json("list-recipes", "--json")["recipes"]
    _, text = venv.listings()
    built = set(_members())
    for r in recipes:
        assert r["status"] == "unavailable" and r["provider"] == RECIPES, r
        requirement = r["install"].removeprefix("pip install '").removesuffix("'")
        assert r["install"] == f"pip install '{requirement}'", r
        assert re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0] in built, r
        assert f"{r['id']}: needs the {r['scheme']} scheme; run: {r['install']}" in text
        err = venv.run("generate", "--recipe", r["id"], "--out", str(tmp_path / r["id"]), expect=2).stderr
        assert err.strip().splitlines() == [
            f"Error: recipe {r['id']!r} needs the {r['scheme']!r} scheme, which is not installed; "
            f"run: {r['install']}"
        ]
    with_recipes = [r["id"] for r in recipes]
    print(f"leadforge-recipes ships: {with_recipes or 'no recipe yet'}")


@pytest.mark.parametrize("dist", _plugin_distributions())
def test_core_with_one_scheme_distribution(
    dist: str, matrix: tuple[Path, str, Transcript], tmp_path: Path
) -> None:
    venv = new_venv(matrix, f"core + {dist}", tmp_path)
    venv.install(CORE, dist)
    plugins = venv.json("plugins", "--json")
    (record,) = plugins["plugins"]
    assert record["distribution"] == dist and record["status"] == "ok", record
    schemes = set(record["schemes"])
    assert set(plugins["schemes"]) == schemes
    venv.listings()
    own = venv.json("list-recipes", "--json")["recipes"]
    assert all(r["provider"] == dist and r["status"] == "available" for r in own), own

    venv.install(RECIPES)
    venv.listings()
    recipes = venv.json("list-recipes", "--json")["recipes"]
    for r in recipes:
        assert r["status"] == ("available" if r["scheme"] in schemes else "unavailable"), r
    hints = json.loads(
        venv.python(
            "import json\nfrom leadforge.plugins import PluginHost\nh = PluginHost.discover(report=False)\n"
            "print(json.dumps({i: e.recipe.install_hint for i, e in h.recipes.items() if e.recipe}))"
        )
    )
    for r in recipes:
        if r["status"] == "available" and r["provider"] == RECIPES:
            # the hint core+recipes printed for this recipe names the distribution that fixed it
            requirement = hints[r["id"]].removeprefix("pip install '").removesuffix("'")
            assert re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0] == dist, (r["id"], hints[r["id"]])
    samples = venv.sample_params()
    for r in (r for r in recipes if r["status"] == "available"):
        _generate_and_validate(venv, r, samples[r["scheme"]], tmp_path)
    print(
        f"{dist}: schemes {sorted(schemes) or 'none yet'}, recipes available: "
        f"{[r['id'] for r in recipes if r['status'] == 'available']}"
    )


def _generate_and_validate(
    venv: Venv, recipe: dict[str, Any], sample: dict[str, Any], tmp_path: Path
) -> None:
    override = tmp_path / f"{recipe['id']}.json"
    override.write_text(json.dumps(sample))
    for mode in recipe["modes"]:
        out = tmp_path / f"{recipe['id']}-{mode}"
        args = (
            "generate",
            "--recipe",
            recipe["id"],
            "--seed",
            "3",
            "--mode",
            mode,
            "--override",
            str(override),
        )
        gen = venv.run(*args, "--out", str(out))
        assert f"OK: bundle at {out} passed all checks." in gen.stdout
        report = json.loads(venv.run("validate", str(out), "--json", show=False).stdout)
        assert report["ok"] is True and report["scheme"] == recipe["scheme"], report
        assert (out / "metadata").is_dir() is (mode == "research_instructor")


def test_a_broken_plugin_beside_working_ones(matrix: tuple[Path, str, Transcript], tmp_path: Path) -> None:
    venv = new_venv(matrix, "core + support + broken plugin", tmp_path)
    venv.install(CORE, "leadforge-scheme-support", "leadforge-plugin-broken")
    proc = venv.run("plugins", "--json", show=False)
    records = {r["name"]: r for r in json.loads(proc.stdout)["plugins"]}
    assert records["broken"]["status"] == "broken"
    assert records["broken"]["reason"] == "import failed: RuntimeError: this plugin is broken on purpose"
    assert (
        records["future"]["status"] == "incompatible"
        and "supports plugin API (7, 9)" in records["future"]["reason"]
    )
    assert records["support"]["status"] == "ok" and records["support"]["schemes"] == ["support"]
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("leadforge: warning:")]
    assert len(warnings) == 2, proc.stderr
    text, _ = venv.listings()
    assert "broken: broken: import failed: RuntimeError: this plugin is broken on purpose" in text
    (recipe,) = venv.json("list-recipes", "--json")["recipes"]
    assert recipe["id"] == "helpdesk_sla_v1" and recipe["status"] == "available"
    _generate_and_validate(venv, recipe, venv.sample_params()["support"], tmp_path)


def test_everything_together_and_the_kit_from_the_installed_wheels(
    matrix: tuple[Path, str, Transcript], tmp_path: Path
) -> None:
    venv = new_venv(matrix, "all distributions", tmp_path)
    venv.install(*_members())
    venv.listings()
    plugins = venv.json("plugins", "--json")
    assert all(r["status"] == "ok" for r in plugins["plugins"]) and plugins["conflicts"] == {}
    recipes = venv.json("list-recipes", "--json")["recipes"]
    available = [r["id"] for r in recipes if r["status"] == "available"]
    assert "helpdesk_sla_v1" in available
    code = (
        "import sys\nfrom leadforge.testing import check_scheme\nfailed = 0\n"
        "for rid in sys.argv[1:]:\n"
        "    try:\n        print(check_scheme(rid).summary())\n"
        "    except AssertionError as exc:\n        print(exc)\n        failed += 1\n"
        "sys.exit(failed)\n"
    )
    proc = subprocess.run(
        [str(venv.root / "bin/python"), "-c", code, *available],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    venv.transcript.add(
        f"$ python -c 'check_scheme(...)' {' '.join(available)}   [exit {proc.returncode}]",
        proc.stdout + proc.stderr[-3000:],
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
