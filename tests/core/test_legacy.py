"""Detection of leadforge 1.x files mixed into an install, and the launcher that reports them.

The fake site-packages here copy core's real package and add what a leadforge 1.0.0 install
leaves: subpackages with an ``__init__.py`` beside core's modules of the same name, and a
``leadforge-1.0.0.dist-info`` folder. The upgrade itself, with real wheels and 1.0.0 from
PyPI, is ``.ci/wheel-matrix.sh``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import leadforge
import pytest
from leadforge import legacy
from leadforge.legacy import (
    LEGACY_PACKAGES,
    REINSTALL_CORE,
    UNINSTALL_LEGACY,
    Leftovers,
    check,
    find_leftovers,
)

REPO = Path(__file__).resolve().parents[2]
CORE_SRC = REPO / "leadforge-core/src/leadforge"


def _site(tmp_path: Path) -> Path:
    """A site-packages holding a copy of core's ``leadforge`` package."""
    site = tmp_path / "site-packages"
    shutil.copytree(CORE_SRC, site / "leadforge", ignore=shutil.ignore_patterns("__pycache__"))
    return site


def _add_legacy(site: Path, *, metadata: bool = True) -> None:
    """What leadforge 1.0.0's wheel adds: its subpackages (``cli/main.py`` as in 1.0.0) and metadata."""
    pkg = site / "leadforge"
    for name in LEGACY_PACKAGES:
        (pkg / name).mkdir(exist_ok=True)
        (pkg / name / "__init__.py").write_text("")
    (pkg / "cli/main.py").write_text("app = None\n")
    (pkg / "version.py").write_text("__version__ = '1.0.0'\n")
    if metadata:
        (site / "leadforge-1.0.0.dist-info").mkdir()
        (site / "leadforge-1.0.0.dist-info/METADATA").write_text("Name: leadforge\nVersion: 1.0.0\n")


def _run(site: Path, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADFORGE_", "PYTHONPATH"))}
    env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=site.parent,
        check=False,
    )


LAUNCH = "import sys; from leadforge.legacy import main; sys.argv[0] = 'leadforge'; main()"
OLD_SCRIPT = "import sys; from leadforge.cli import main; sys.exit(main())"


def test_this_install_is_clean() -> None:
    assert check() is None
    assert find_leftovers().package_dir == Path(leadforge.__file__).resolve().parent


def test_a_copy_of_core_is_clean(tmp_path: Path) -> None:
    site = _site(tmp_path)
    found = find_leftovers(site / "leadforge")
    assert found == Leftovers(site / "leadforge") and not found.found and found.problem() is None


def test_core_ships_no_package_named_like_a_1x_subpackage() -> None:
    """Else a clean install would be reported as mixed, and 1.x would never be told apart."""
    shipped = {p.name for p in CORE_SRC.iterdir() if (p / "__init__.py").is_file()}
    assert shipped.isdisjoint(LEGACY_PACKAGES), shipped & set(LEGACY_PACKAGES)


def test_the_console_script_starts_outside_every_module_1x_can_shadow() -> None:
    project = tomllib.loads((REPO / "leadforge-core/pyproject.toml").read_text())["project"]
    target = project["scripts"]["leadforge"]
    module, _, func = target.partition(":")
    assert module == "leadforge.legacy" and func == "main", target
    assert module.split(".")[1] not in LEGACY_PACKAGES and not (CORE_SRC / "legacy").exists()


def test_1x_installed_beside_core_names_its_version_and_the_two_step_fix(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _add_legacy(site)
    found = find_leftovers(site / "leadforge")
    assert found.packages == LEGACY_PACKAGES and found.legacy_version == "1.0.0" and not found.init_missing
    problem = found.problem()
    assert problem is not None and "\n" not in problem
    assert problem.startswith("leadforge 1.0.0 files are mixed into this install")
    assert problem.endswith(f"run: {UNINSTALL_LEGACY} && {REINSTALL_CORE}")


def test_only_the_folders_that_shadow_count(tmp_path: Path) -> None:
    """A folder without ``__init__`` (say, a stray ``__pycache__``) does not hide the module beside it."""
    site = _site(tmp_path)
    (site / "leadforge/cli/__pycache__").mkdir(parents=True)
    (site / "leadforge/api").mkdir()
    (site / "leadforge/schema").write_text("")  # a file named like a 1.x package is no package
    (site / "leadforge/core").mkdir()
    (site / "leadforge/core/__init__.cpython-311.pyc").write_bytes(b"")  # only __pycache__ names it so
    (site / "leadforge/render").mkdir()
    (site / "leadforge/render/__init__.pyc").write_bytes(b"")  # a sourceless package imports
    found = find_leftovers(site / "leadforge")
    assert found.packages == ("render",)
    assert _run(site, "import leadforge.cli as c; print(c.__file__)").stdout.strip().endswith("cli.py")


def test_leftover_folders_without_1x_metadata_get_their_own_removal(tmp_path: Path) -> None:
    site = tmp_path / "site packages"  # a space, so the paths must be quoted
    shutil.copytree(CORE_SRC, site / "leadforge", ignore=shutil.ignore_patterns("__pycache__"))
    _add_legacy(site, metadata=False)
    (site / "leadforge-2.0.0.dist-info").mkdir()  # the umbrella is not 1.x
    (site / "leadforge_core-1.5.0.dist-info").mkdir()  # nor is another distribution
    found = find_leftovers(site / "leadforge")
    assert found.legacy_version is None and found.packages == LEGACY_PACKAGES
    problem = found.problem()
    assert problem is not None
    command = problem.split("; run: ", 1)[1]
    removal, reinstall = command.split(" && ")
    assert reinstall == REINSTALL_CORE
    argv = shlex.split(removal)
    assert argv[:2] == ["rm", "-r"] and argv[2:] == [str(site / "leadforge" / p) for p in LEGACY_PACKAGES]
    subprocess.run(argv, check=True)
    assert check(site / "leadforge") is None


def test_core_half_removed_with_1x_says_reinstall_core(tmp_path: Path) -> None:
    """What ``pip install -U leadforge`` (or ``pip uninstall leadforge``) leaves after 1.x and core mixed."""
    site = _site(tmp_path)
    (site / "leadforge/__init__.py").unlink()
    found = find_leftovers(site / "leadforge")
    assert found.init_missing and found.packages == ()
    assert found.problem() == (
        f"leadforge-core is missing files in {site / 'leadforge'} (removing leadforge 1.x deleted the ones "
        f"both list); run: {REINSTALL_CORE}"
    )


def test_an_egg_info_1x_is_recognised_and_its_version_trimmed(tmp_path: Path) -> None:
    site = _site(tmp_path)
    _add_legacy(site, metadata=False)
    (site / "leadforge-1.0.0-py3.11.egg-info").mkdir()
    assert find_leftovers(site / "leadforge").legacy_version == "1.0.0"


def test_the_old_entry_point_fails_with_a_traceback_and_the_launcher_with_one_line(tmp_path: Path) -> None:
    """Why the script moved: ``leadforge.cli`` resolves to 1.x's package, whose ``main`` is a module."""
    site = _site(tmp_path)
    _add_legacy(site)
    old = _run(site, OLD_SCRIPT, "--version")
    assert old.returncode == 1 and "TypeError: 'module' object is not callable" in old.stderr
    new = _run(site, LAUNCH, "--version")
    assert new.returncode == 2 and new.stdout == ""
    (line,) = new.stderr.splitlines()
    assert line == f"Error: {check(site / 'leadforge')}"


def test_the_launcher_runs_the_cli_on_a_clean_install(tmp_path: Path) -> None:
    site = _site(tmp_path)
    proc = _run(site, LAUNCH, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage: leadforge" in proc.stdout


@pytest.mark.parametrize("missing", ["package", "listing"])
def test_unreadable_places_count_as_absent(tmp_path: Path, missing: str) -> None:
    if missing == "package":
        assert legacy._is_package(tmp_path / "nowhere") is False
    else:
        assert legacy._legacy_version(tmp_path / "nowhere") is None
