"""leadforge: simulate commercial worlds and render them as CRM datasets.

Plugin authors need :data:`hookimpl` from here and the types in :mod:`leadforge.schemes`,
:mod:`leadforge.bundle` and :mod:`leadforge.features`; see ``docs/plugins.md``.
"""

from leadforge.hookspecs import PLUGIN_API, hookimpl

__all__ = ["PLUGIN_API", "__version__", "hookimpl"]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from leadforge.api import core_version

        return core_version()
    raise AttributeError(name)
