"""The lifecycle scheme's leadforge plugin (hooks arrive with the simulation)."""

from __future__ import annotations

LEADFORGE_PLUGIN_API = (1, 1)
