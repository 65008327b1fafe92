"""Rendering the scheme template: validated names in, a complete plugin distribution out.

Template files live in ``template/`` with a ``.tmpl`` suffix (so tools never mistake them for
the package's own modules); ``__NAME__``-style tokens in their paths and text are replaced.
Everything is rendered in memory first, so a bad template never leaves a half-written project.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from leadforge.errors import UsageError
from leadforge.hookspecs import PLUGIN_API

SUFFIX = ".tmpl"
#: Schemes, distributions and import packages the leadforge project ships or reserves: a new
#: scheme must not take them even where they are not installed.
FIRST_PARTY_SCHEMES = ("lead_scoring", "lifecycle", "support")
FIRST_PARTY_DISTRIBUTIONS = (
    "leadforge",
    "leadforge-core",
    "leadforge-platform",
    "leadforge-recipes",
    "leadforge-scheme-leadscoring",
    "leadforge-scheme-lifecycle",
    "leadforge-scheme-support",
)
FIRST_PARTY_PACKAGES = (
    "leadforge",
    "leadforge_leadscoring",
    "leadforge_lifecycle",
    "leadforge_recipes",
    "leadforge_support",
)
_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
MAX_NAME = 40


@dataclass(frozen=True)
class SchemeNames:
    """Every name the template derives from the scheme name ``demo_crm``."""

    scheme: str  # demo_crm: the scheme name in SchemeInfo and manifests
    package: str  # leadforge_demo_crm: the import package
    distribution: str  # leadforge-scheme-demo-crm: the name on PyPI
    recipe: str  # demo_crm_v1: the bundled recipe id
    title: str  # Demo crm: for prose
    camel: str  # DemoCrm: prefix of class names
    core_range: str  # leadforge-core>=2.0,<3

    @classmethod
    def of(cls, name: str, core_version: str) -> SchemeNames:
        check_name(name)
        major, minor = _major_minor(core_version)
        return cls(
            scheme=name,
            package=f"leadforge_{name}",
            distribution=f"leadforge-scheme-{name.replace('_', '-')}",
            recipe=f"{name}_v1",
            title=name.replace("_", " ").capitalize(),
            camel="".join(part.capitalize() for part in name.split("_")),
            core_range=f"leadforge-core>={major}.{minor},<{major + 1}",
        )

    def tokens(self) -> dict[str, str]:
        return {
            "__SCHEME__": self.scheme,
            "__PACKAGE__": self.package,
            "__DIST__": self.distribution,
            "__RECIPE__": self.recipe,
            "__TITLE__": self.title,
            "__CAMEL__": self.camel,
            "__CORE_RANGE__": self.core_range,
            "__PLUGIN_API__": f"({PLUGIN_API}, {PLUGIN_API})",
        }


def check_name(name: str) -> None:
    """Raise a one-line :class:`UsageError` unless ``name`` can name a scheme and a package."""
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise UsageError(f"scheme name {name!r} is a Python keyword; choose another (e.g. 'ticket_triage')")
    if not _NAME.match(name) or len(name) > MAX_NAME:
        raise UsageError(
            f"scheme name {name!r} is not valid: use lowercase letters, digits and single underscores, "
            f"starting with a letter, at most {MAX_NAME} characters (e.g. 'ticket_triage')"
        )


def check_free(names: SchemeNames, installed: Iterable[str] = ()) -> None:
    """Raise a one-line :class:`UsageError` if a name the project would use is already taken.

    ``installed`` holds the scheme and plugin names the running host knows; the distribution
    and the import package are looked up in this environment too, and first-party names are
    refused even where they are not installed.
    """
    scheme, dist, package = names.scheme, names.distribution, names.package
    why = None
    if scheme in FIRST_PARTY_SCHEMES:
        why = f"scheme {scheme!r} is a first-party leadforge scheme"
    elif dist in FIRST_PARTY_DISTRIBUTIONS:
        why = f"its distribution {dist} is a first-party leadforge distribution"
    elif package in FIRST_PARTY_PACKAGES:
        why = f"its import package {package} is a first-party leadforge package"
    elif scheme in set(installed):
        why = f"a scheme or plugin named {scheme!r} is installed"
    elif _distribution_installed(dist):
        why = f"the distribution {dist} is installed"
    elif _package_found(package):
        why = f"the import package {package} is installed"
    if why is not None:
        raise UsageError(f"scheme name {scheme!r} is taken: {why}; choose another (e.g. 'ticket_triage')")


def _distribution_installed(name: str) -> bool:
    try:
        distribution(name)
    except PackageNotFoundError:
        return False
    return True


def _package_found(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def default_target(name: str) -> Path:
    """``leadforge-scheme-<name>``, relative to the current directory."""
    return Path(f"leadforge-scheme-{name.replace('_', '-')}")


def render(names: SchemeNames) -> dict[str, str]:
    """Relative path → file text for the whole project."""
    out: dict[str, str] = {}
    root = files("leadforge.scaffold") / "template"
    for rel, item in _walk(root, ""):
        if not rel.endswith(SUFFIX):
            continue
        path = _substitute(rel[: -len(SUFFIX)], names)
        out[path] = _substitute(item.read_text(encoding="utf-8"), names)
    if not out:
        raise UsageError("the scheme template is missing from this leadforge-core installation")
    return dict(sorted(out.items()))


def write_project(names: SchemeNames, target: Path) -> list[Path]:
    """Render into ``target`` (created; must not exist or be empty); return the files written."""
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()):
        raise UsageError(f"{target} is not empty; refusing to overwrite it (choose another --dir)")
    rendered = render(names)
    written = []
    for rel, text in rendered.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _walk(node: Traversable, prefix: str) -> list[tuple[str, Traversable]]:
    out: list[tuple[str, Traversable]] = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name == "__pycache__":
            continue
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            out.extend(_walk(child, rel + "/"))
        else:
            out.append((rel, child))
    return out


def _substitute(text: str, names: SchemeNames) -> str:
    for token, value in names.tokens().items():
        text = text.replace(token, value)
    return text


def _major_minor(version: str) -> tuple[int, int]:
    parts = re.findall(r"\d+", version)
    if len(parts) < 2:
        return (2, 0)
    return int(parts[0]), int(parts[1])
