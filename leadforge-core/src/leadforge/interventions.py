"""Interventions: the do-operations and policy changes a scheme lets a researcher apply.

A scheme lists its *levers* (``SchemeInfo.levers``): nodes of a hidden graph that can be set,
edges that can be scaled or cut, policies (follow-up speed, price, dunning) that can be
changed. A user names them on the command line (``--intervene 'policy:follow_up_days=2'``,
``--intervene 'edge:engagement->intent*0'``) or in the API; core parses and checks every spec
against the levers before anything runs, so an unknown or ill-typed one is one clear line that
lists what exists. The world receives the parsed :class:`Intervention` s on its config.

An empty list of interventions changes nothing: the config, its digest and every byte of the
bundle stay what they were.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from leadforge.errors import UsageError

__all__ = ["OPS", "Intervention", "Lever", "parse_intervention", "parse_interventions"]

#: ``LEVER=VALUE`` sets, ``LEVER*FACTOR`` scales (``*0`` cuts an edge).
OPS = ("set", "scale")
KINDS = ("node", "edge", "policy")
_LEVER = re.compile(r"^(node|edge|policy):[A-Za-z_][A-Za-z0-9_.>-]*$")
_SPEC = re.compile(r"^\s*(?P<lever>[^=*\s]+)\s*(?P<op>[=*])\s*(?P<value>\S+)\s*$")


@dataclass(frozen=True)
class Lever:
    """Something a researcher may intervene on, with the operations and values it accepts."""

    name: str
    description: str
    ops: tuple[str, ...] = OPS
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if not _LEVER.match(self.name):
            raise ValueError(f"lever name {self.name!r} must look like node:x, edge:a->b or policy:x")
        bad = [op for op in self.ops if op not in OPS]
        if bad or not self.ops:
            raise ValueError(f"lever {self.name}: ops must be a non-empty subset of {OPS}")

    @property
    def kind(self) -> str:
        return self.name.split(":", 1)[0]

    def describe(self) -> str:
        forms = "|".join({"set": "=VALUE", "scale": "*FACTOR"}[op] for op in self.ops)
        bounds = ""
        if self.low is not None or self.high is not None:
            lo = "" if self.low is None else f"{self.low:g}"
            hi = "" if self.high is None else f"{self.high:g}"
            bounds = f", values in [{lo}, {hi}]"
        return f"{self.name}{forms} ({self.description}{bounds})"


@dataclass(frozen=True)
class Intervention:
    """One parsed intervention: which lever, ``set`` or ``scale``, and the value or factor."""

    lever: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.lever}{'=' if self.op == 'set' else '*'}{self.value:g}"

    def apply(self, current: float) -> float:
        """The lever's new value given its factual one."""
        return self.value if self.op == "set" else current * self.value


def parse_intervention(spec: str, levers: Sequence[Lever]) -> Intervention:
    """``spec`` checked against ``levers``; any problem is one line naming what exists."""
    if not isinstance(spec, str):
        raise UsageError(f"an intervention is a string like 'policy:x=2', got {type(spec).__name__}")
    known = {lv.name: lv for lv in levers}
    listing = "; ".join(lv.describe() for lv in levers) or "none"
    m = _SPEC.match(spec)
    if m is None:
        form = "expected LEVER=VALUE or LEVER*FACTOR"
        raise UsageError(f"--intervene {spec!r}: {form}; this world has: {listing}")
    name, op = m["lever"], "set" if m["op"] == "=" else "scale"
    lever = known.get(name)
    if lever is None:
        raise UsageError(f"--intervene {spec!r}: unknown lever {name!r}; this world has: {listing}")
    if op not in lever.ops:
        allowed = " or ".join(lever.ops)
        raise UsageError(f"--intervene {spec!r}: {name} can only be {allowed}, not {op}")
    try:
        value = float(m["value"])
    except ValueError:
        raise UsageError(f"--intervene {spec!r}: {m['value']!r} is not a number") from None
    if not math.isfinite(value):
        raise UsageError(f"--intervene {spec!r}: the value must be finite")
    if op == "scale" and value < 0:
        raise UsageError(f"--intervene {spec!r}: a scale factor must be >= 0")
    if op == "set" and (
        (lever.low is not None and value < lever.low) or (lever.high is not None and value > lever.high)
    ):
        raise UsageError(f"--intervene {spec!r}: {lever.describe()}")
    return Intervention(name, op, value)


def parse_interventions(specs: Iterable[str], levers: Sequence[Lever]) -> tuple[Intervention, ...]:
    """Every spec parsed; one lever named twice is refused (which one would win is not obvious)."""
    parsed = tuple(parse_intervention(s, levers) for s in specs)
    seen: set[str] = set()
    for iv in parsed:
        if iv.lever in seen:
            raise UsageError(f"--intervene names {iv.lever} twice; give it once")
        seen.add(iv.lever)
    return parsed
