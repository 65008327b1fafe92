"""Progress reporting for long runs: schemes and core report, the CLI decides how to show it.

Work spread over workers is aggregated by the driver: it calls ``update(stage, done, total)``
as results arrive, so a reporter only ever sees one stream of monotone counts per stage.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO


class Progress(Protocol):
    def update(self, stage: str, done: int, total: int) -> None:
        """``done`` of ``total`` units of ``stage`` are finished."""


class NullProgress:
    def update(self, stage: str, done: int, total: int) -> None:
        return None

    def close(self) -> None:
        return None


class StderrProgress:
    """Shows each stage's progress with its rate and time left.

    On a terminal one line per stage is redrawn in place (at most every ``refresh`` seconds);
    otherwise (a log, a CI job) a stage prints one line when it finishes and, while it runs
    longer, at most one line every ``interval`` seconds; there a stage done in under
    ``quiet_under`` seconds prints nothing, so a small run's log holds only its result.
    ``update`` returns after a clock read and two comparisons unless something is due, so it
    may be called once per unit of work.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        interval: float = 10.0,
        refresh: float = 0.1,
        quiet_under: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = _isatty(self.stream) if tty is None else tty
        self.interval = interval
        self.refresh = refresh
        self.quiet_under = quiet_under
        self.clock = clock
        self._stage: str | None = None
        self._start = clock()
        self._last_event = self._start
        self._due = 0.0
        self._open = 0
        self._finished: str | None = None

    def update(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        if stage == self._stage and done < total and now < self._due:
            self._last_event = now
            return
        if done >= total and stage == self._finished:
            return  # a repeated final count: the stage's line is already out
        if stage != self._stage:
            self._begin(stage)
        self._last_event = now
        if done >= total:
            self._finish(stage, done, total, now)
            self._stage, self._finished = None, stage
            return
        self._due = now + (self.refresh if self.tty else self.interval)
        if self.tty:
            self._draw(_bar_line(stage, done, total, now - self._start))
        elif now - self._start >= self.interval:
            self._line(f"leadforge: {stage}: {_counts(done, total)}{_speed(done, total, now - self._start)}")

    def close(self) -> None:
        """End a bar left open by a stage that never finished (an error, an interrupt)."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = 0
        self._stage = None

    def _begin(self, stage: str) -> None:
        self.close()
        self._stage, self._finished = stage, None
        self._start = self._last_event  # stages run one after another: this one began when the last ended
        self._due = 0.0

    def _finish(self, stage: str, done: int, total: int, now: float) -> None:
        elapsed = now - self._start
        rate = f", {_rate(done / elapsed)}" if elapsed > 0 and done else ""
        if self.tty:
            self._draw(_bar_line(stage, done, total, elapsed, final=True))
            self.close()
        elif elapsed >= self.quiet_under:
            self._line(f"leadforge: {stage}: {_counts(done, total)} in {_duration(elapsed)}{rate}")

    def _draw(self, text: str) -> None:
        pad = " " * max(0, self._open - len(text))
        self.stream.write(f"\r{text}{pad}")
        self.stream.flush()
        self._open = len(text)

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


WIDTH = 24


def _bar_line(stage: str, done: int, total: int, elapsed: float, *, final: bool = False) -> str:
    frac = min(1.0, done / total) if total else 1.0
    filled = int(frac * WIDTH)
    bar = "#" * filled + "-" * (WIDTH - filled)
    if final:
        tail = f" in {_duration(elapsed)}"
        if elapsed > 0 and done:
            tail += f", {_rate(done / elapsed)}"
    else:
        tail = _speed(done, total, elapsed)
    return f"leadforge: {stage} [{bar}] {_counts(done, total)}{tail}"


def _counts(done: int, total: int) -> str:
    pct = 100.0 * done / total if total else 100.0
    return f"{done}/{total} ({pct:.0f}%)"


def _speed(done: int, total: int, elapsed: float) -> str:
    """``, 3.2/s, ETA 0:09`` once a rate is known, else nothing."""
    if elapsed <= 0 or done <= 0:
        return ""
    rate = done / elapsed
    return f", {_rate(rate)}, ETA {_duration((total - done) / rate)}"


def _rate(per_second: float) -> str:
    if per_second >= 100:
        return f"{per_second:.0f}/s"
    if per_second >= 10:
        return f"{per_second:.1f}/s"
    return f"{per_second:.2f}/s"


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
