"""What a report is made of: sections of figures, each the data behind one picture.

A figure carries its data, not its drawing: the HTML page draws it (:mod:`.plots`) and the JSON
output is the same data, so a reader can check any picture against numbers. A figure that
cannot be made from this bundle (a column a scheme version lacks, a hidden file a public bundle
does not ship) says why in ``unavailable`` instead of failing the report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

#: How a figure is drawn. ``table`` is an HTML table, ``text`` a paragraph; the rest are plots.
Kind = Literal["bars", "lines", "histogram", "waterfall", "er", "graph", "table", "text"]
KINDS: tuple[str, ...] = ("bars", "lines", "histogram", "waterfall", "er", "graph", "table", "text")


@dataclass(frozen=True)
class Figure:
    """One picture or table and the data behind it.

    ``data`` depends on ``kind``:

    * ``bars``: ``labels`` and ``series`` (name -> values, one per label); ``horizontal``,
      ``stacked``, ``xlabel``, ``ylabel``, ``percent`` optional.
    * ``lines``: ``x`` and ``series`` (name -> values, one per x; ``None`` is a gap);
      ``xlabel``, ``ylabel``, ``percent`` optional.
    * ``histogram``: ``edges`` (n+1) and ``counts`` (n); ``xlabel``, ``log_x`` optional.
    * ``waterfall``: ``labels`` and ``deltas``; the last bar shows the running total.
    * ``er``: ``tables`` (``name``, ``rows``, ``columns``, ``key``) and ``links``
      (``child``, ``column``, ``parent``).
    * ``graph``: ``nodes`` (``id``, ``label``) and ``edges`` (``source``, ``target``, ``weight``).
    * ``table``: ``columns`` and ``rows`` (lists of cells).
    * ``text``: ``text``.
    """

    id: str
    title: str
    kind: Kind
    data: Mapping[str, Any] = field(default_factory=dict)
    caption: str = ""
    unavailable: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"figure {self.id}: kind must be one of {KINDS}, got {self.kind!r}")
        if not self.id or not all(c.isalnum() or c in "-_" for c in self.id):
            raise ValueError(f"figure id {self.id!r} must be letters, digits, '-' or '_'")

    @property
    def available(self) -> bool:
        return not self.unavailable

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "caption": self.caption,
            "available": self.available,
            "unavailable": self.unavailable,
            "data": clean(self.data) if self.available else {},
        }


def missing(id: str, title: str, kind: Kind, why: str) -> Figure:
    """A figure this bundle cannot supply, saying why ("not available: ...")."""
    return Figure(id, title, kind, unavailable=why)


@dataclass(frozen=True)
class Section:
    """A titled group of figures; ``scheme`` is empty for core's own sections."""

    id: str
    title: str
    figures: tuple[Figure, ...]
    intro: str = ""
    scheme: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "intro": self.intro,
            "scheme": self.scheme,
            "figures": [f.to_json() for f in self.figures],
        }


@dataclass(frozen=True)
class Report:
    """Every section of one bundle's report, in page order."""

    title: str
    bundle: Mapping[str, Any]
    sections: tuple[Section, ...]

    @property
    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]

    def to_json(self) -> dict[str, Any]:
        return {
            "report_version": 1,
            "title": self.title,
            "bundle": clean(self.bundle),
            "sections": [s.to_json() for s in self.sections],
        }


def clean(value: Any) -> Any:
    """``value`` as plain JSON: numpy scalars unwrapped, tuples as lists, NaN and inf as ``None``,
    floats rounded to 6 significant digits so the JSON is short and byte-stable."""
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, str | bytes):
        return value if isinstance(value, str) else value.decode("utf-8", "replace")
    if isinstance(value, Sequence) or hasattr(value, "tolist"):
        raw = value.tolist() if hasattr(value, "tolist") else value
        return [clean(v) for v in raw] if isinstance(raw, list | tuple) else clean(raw)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.6g}")
    if hasattr(value, "item"):
        return clean(value.item())
    return str(value)
