"""Progress reporting for long runs: schemes report, the CLI decides how to show it."""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO


class Progress(Protocol):
    def update(self, stage: str, done: int, total: int) -> None:
        """``done`` of ``total`` units of ``stage`` are finished."""


class NullProgress:
    def update(self, stage: str, done: int, total: int) -> None:
        return None


class StderrProgress:
    """Prints ``stage: done/total`` lines, at most one per ``interval`` seconds per stage.

    Nothing is printed for work that finishes within ``delay`` seconds, so short runs stay quiet.
    """

    def __init__(self, stream: TextIO | None = None, *, delay: float = 1.0, interval: float = 1.0) -> None:
        self.stream = stream or sys.stderr
        self.delay = delay
        self.interval = interval
        self._start = time.monotonic()
        self._last: dict[str, float] = {}

    def update(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._start < self.delay:
            return
        final = done >= total
        if not final and now - self._last.get(stage, 0.0) < self.interval:
            return
        self._last[stage] = now
        pct = 100.0 * done / total if total else 100.0
        print(f"leadforge: {stage}: {done}/{total} ({pct:.0f}%)", file=self.stream, flush=True)
