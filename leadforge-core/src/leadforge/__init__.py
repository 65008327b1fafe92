"""leadforge: simulate commercial worlds and render them as CRM datasets.

Users open a bundle with :func:`load`. Plugin authors need :data:`hookimpl` from here and the
types in :mod:`leadforge.schemes`, :mod:`leadforge.bundle` and :mod:`leadforge.features`; see
``docs/plugins.md``.

The names here are looked up on first use, so ``import leadforge.cli`` (and with it
``leadforge --help``) does not pay for pluggy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadforge.hookspecs import PLUGIN_API, hookimpl
    from leadforge.loaded import load

__all__ = ["PLUGIN_API", "__version__", "hookimpl", "load"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from leadforge.api import core_version

        return core_version()
    if name in ("PLUGIN_API", "hookimpl"):
        from leadforge import hookspecs

        value = getattr(hookspecs, name)
        globals()[name] = value
        return value
    if name == "load":
        from leadforge.loaded import load

        return load
    raise AttributeError(f"module 'leadforge' has no attribute {name!r}")
