"""Registers the recipe folders shipped in this distribution."""

from __future__ import annotations

from pathlib import Path

from leadforge import hookimpl

LEADFORGE_PLUGIN_API = (1, 2)
RECIPES = Path(__file__).parent / "recipes"


@hookimpl
def register_recipes() -> list[Path]:
    if not RECIPES.is_dir():
        return []
    return sorted(p for p in RECIPES.iterdir() if (p / "recipe.yaml").is_file())
