"""Leftovers of leadforge 1.x, the single distribution that shipped the same import package.

Installers do not track which distribution owns a file, so the two layouts can mix in one
site-packages. 1.x's subpackages (``leadforge/cli/``, ``leadforge/api/`` …) then win over core's
modules of the same name (``cli.py``, ``api.py`` …): a package directory shadows a module beside
it. Removing 1.x also deletes the files both distributions list, ``leadforge/__init__.py`` and
the ``leadforge`` script, which leaves core half-installed.

The console script starts in :func:`main`, not in :mod:`leadforge.cli`, because a leftover
``leadforge/cli/`` package would shadow that module before any check could run. The check costs
a few ``stat`` calls and imports nothing.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from importlib.machinery import all_suffixes
from pathlib import Path

LEGACY_PACKAGES = (
    "api",
    "cli",
    "core",
    "exposure",
    "mechanisms",
    "narrative",
    "pipelines",
    "recipes",
    "render",
    "schema",
    "simulation",
    "structure",
    "validation",
)
"""The subpackages of ``leadforge`` 1.x; core ships none of them as a package."""

REINSTALL_CORE = "pip install --force-reinstall --no-deps leadforge-core"
UNINSTALL_LEGACY = "pip uninstall -y leadforge"
LEGACY_MAJOR = 2
"""A ``leadforge`` distribution below this major version is 1.x; from it on, the umbrella."""


@dataclass(frozen=True)
class Leftovers:
    """What of leadforge 1.x is mixed into the folder the ``leadforge`` package is imported from."""

    package_dir: Path
    packages: tuple[str, ...] = ()
    init_missing: bool = False
    legacy_version: str | None = None

    @property
    def found(self) -> bool:
        return bool(self.packages) or self.init_missing

    def problem(self) -> str | None:
        """One line that says what is wrong and the command that repairs it; ``None`` if clean."""
        if self.legacy_version is not None:
            return (
                f"leadforge {self.legacy_version} files are mixed into this install ({self.package_dir}); "
                f"run: {UNINSTALL_LEGACY} && {REINSTALL_CORE}"
            )
        if self.packages:
            paths = " ".join(shlex.quote(str(self.package_dir / p)) for p in self.packages)
            return (
                f"leadforge 1.x files are left in {self.package_dir} "
                f"({', '.join(p + '/' for p in self.packages)}); run: rm -r {paths} && {REINSTALL_CORE}"
            )
        if self.init_missing:
            return (
                f"leadforge-core is missing files in {self.package_dir} (removing leadforge 1.x deleted "
                f"the ones both list); run: {REINSTALL_CORE}"
            )
        return None


def find_leftovers(package_dir: Path | None = None) -> Leftovers:
    """Inspect ``package_dir`` (default: where ``leadforge`` is imported from) for 1.x files."""
    folder = Path(__file__).resolve().parent if package_dir is None else package_dir
    packages = tuple(p for p in LEGACY_PACKAGES if _is_package(folder / p))
    init_missing = not (folder / "__init__.py").is_file()
    if not packages:
        return Leftovers(folder, init_missing=init_missing)
    return Leftovers(folder, packages, init_missing, _legacy_version(folder.parent))


def check(package_dir: Path | None = None) -> str | None:
    """The one-line problem with this install, or ``None`` when no 1.x file is mixed in."""
    return find_leftovers(package_dir).problem()


def main() -> None:
    """The ``leadforge`` console script: refuse a mixed install in one line, else run the CLI."""
    problem = check()
    if problem is not None:
        print(f"Error: {problem}", file=sys.stderr)
        sys.exit(2)
    from leadforge.cli import main as cli

    cli()


def _is_package(path: Path) -> bool:
    """A folder shadows the module beside it only when it holds an ``__init__`` Python can import."""
    try:
        names = set(os.listdir(path))
    except OSError:
        return False
    return any(f"__init__{suffix}" in names for suffix in all_suffixes())


def _legacy_version(site: Path) -> str | None:
    """The version of a ``leadforge`` 1.x distribution recorded in ``site``, if one is."""
    try:
        names = os.listdir(site)
    except OSError:
        return None
    for name in sorted(names):
        stem, dot, kind = name.rpartition(".")
        if not dot or kind not in ("dist-info", "egg-info"):
            continue
        dist, _, version = stem.partition("-")
        if dist.lower() != "leadforge" or not version:
            continue
        major = version.split(".", 1)[0]
        if major.isdigit() and int(major) < LEGACY_MAJOR:
            return version.split("-", 1)[0]
    return None
