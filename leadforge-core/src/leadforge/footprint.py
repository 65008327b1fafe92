"""What a run will need, checked before it starts: a run that cannot fit is refused up front.

A scheme estimates its own peak memory and bundle size from the config
(``SchemeInfo.footprint``); core compares them with what this machine has (available memory,
free disk beside ``--out``) and refuses, in one line that says what would fit, instead of
simulating for minutes and then dying. ``LEADFORGE_SKIP_SIZE_CHECK=1`` lets a user who knows
better try anyway.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from leadforge.errors import UsageError

SKIP = "LEADFORGE_SKIP_SIZE_CHECK"


@dataclass(frozen=True)
class Footprint:
    """A run's estimated peak memory and bundle size, in bytes; ``unit`` names what it scales with
    (e.g. ``"leads"``) and ``units`` how many the config asks for, so a refusal can say what fits."""

    memory_bytes: int
    disk_bytes: int
    unit: str = "entities"
    units: int = 0
    #: what to change so that the run fits (e.g. spread it over more shards)
    hint: str = ""


def available_memory() -> int | None:
    """Bytes of memory available to a new process (``MemAvailable``), or ``None`` if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def _fits(fp: Footprint, have: int, need: int) -> str:
    if fp.units <= 0 or need <= 0:
        return ""
    return f"; about {max(int(fp.units * have / need), 0):,} {fp.unit} would fit"


def check_memory(fp: Footprint) -> None:
    if os.environ.get(SKIP, "") not in ("", "0"):
        return
    have = available_memory()
    if have is not None and fp.memory_bytes > have:
        raise UsageError(
            f"this run needs about {_gb(fp.memory_bytes)} of memory and {_gb(have)} is available"
            f"{_fits(fp, have, fp.memory_bytes)}{'; ' + fp.hint if fp.hint else ''} "
            f"(set {SKIP}=1 to try anyway)"
        )


def check_disk(fp: Footprint, out: Path) -> None:
    if os.environ.get(SKIP, "") not in ("", "0"):
        return
    folder = next((p for p in (out.parent, *out.parents) if p.exists()), None)
    if folder is None:
        return
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if fp.disk_bytes > free:
        raise UsageError(
            f"this bundle needs about {_gb(fp.disk_bytes)} of disk and {folder} has {_gb(free)} free"
            f"{_fits(fp, free, fp.disk_bytes)} (set {SKIP}=1 to try anyway)"
        )
