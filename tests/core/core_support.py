"""Helpers shared by the core tests (imported by name; conftest modules are not importable)."""

from __future__ import annotations

import hashlib
from pathlib import Path

PINNED = "2026-01-01T00:00:00+00:00"


def tree_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file below ``root``, by relative path."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def require_first_party() -> None:
    """Skip the calling module unless both first-party schemes and their recipes are installed
    (core's own run has core alone; the run with every package covers these tests)."""
    import pytest

    for module in ("leadforge_leadscoring", "leadforge_lifecycle", "leadforge_recipes"):
        pytest.importorskip(module, reason="needs the first-party schemes and recipes")
