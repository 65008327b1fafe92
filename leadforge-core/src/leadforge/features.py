"""The feature catalog of a task table and the ``feature_dictionary.csv`` rendered from it.

A scheme declares each task column once, as a :class:`FeatureSpec`; the catalog then drives
the dictionary, exposure redaction and difficulty distortions, so none of them can drift
from the others.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from leadforge.enums import ExposureMode
from leadforge.schema import Column, DType, TableSchema

DICTIONARY_HEADER = ("name", "dtype", "description", "category", "is_target", "leakage_risk")


@dataclass(frozen=True)
class FeatureSpec:
    """One task-table column and everything the envelope needs to know about it.

    ``redacted_in`` lists the exposure modes that must not see the column at all (it is
    dropped from every table, split and the dictionary). ``distort`` says whether difficulty
    distortions may touch it (ids, strings, targets and deliberate traps never are).
    ``non_negative`` and ``max_value`` bound the column's domain (e.g. a 30-day window), and
    distortions never push a value outside it. ``spread`` and ``center`` are a float feature's
    typical spread and typical value in its own units (about its standard deviation and median
    in the world the scheme builds): noise is measured in spreads, and an outlier lands five
    spreads either side of the centre. Declared, they make a cell's distortion depend on that
    row alone, so twin worlds agree on every row an intervention cannot reach; without them,
    core falls back to the column's spread and median over the shard.
    """

    name: str
    dtype: DType
    description: str
    category: str
    is_target: bool = False
    leakage_risk: bool = False
    non_negative: bool = False
    distort: bool = True
    redacted_in: frozenset[ExposureMode] = field(default_factory=frozenset)
    max_value: float | None = None
    spread: float | None = None
    center: float | None = None

    def __post_init__(self) -> None:
        spread, center = self.spread, self.center
        if spread is not None and (not _finite(spread) or spread <= 0):
            raise ValueError(f"feature {self.name}: spread must be a positive finite number, got {spread!r}")
        if center is not None and not _finite(center):
            raise ValueError(f"feature {self.name}: center must be a finite number, got {center!r}")
        if (spread is None) != (center is None):
            raise ValueError(f"feature {self.name}: declare spread and center together")
        if spread is not None and self.dtype != "Float64":
            raise ValueError(f"feature {self.name}: only Float64 features take a spread (noise acts on them)")
        bound = self.max_value
        if bound is None:
            return
        if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
            raise ValueError(f"feature {self.name}: max_value must be a finite number, got {bound!r}")
        if self.non_negative and bound < 0:
            raise ValueError(
                f"feature {self.name}: max_value {bound} is below 0 but the feature is non-negative"
            )

    @property
    def column(self) -> Column:
        return Column(self.name, self.dtype)

    @property
    def distortable(self) -> bool:
        return self.distort and not self.is_target and self.dtype in ("Int64", "Float64")


def _finite(x: object) -> bool:
    return not isinstance(x, bool) and isinstance(x, int | float) and math.isfinite(x)


def visible(catalog: Iterable[FeatureSpec], mode: ExposureMode) -> list[FeatureSpec]:
    return [f for f in catalog if mode not in f.redacted_in]


def redacted_names(catalog: Iterable[FeatureSpec], mode: ExposureMode) -> list[str]:
    return sorted(f.name for f in catalog if mode in f.redacted_in)


def catalog_schema(catalog: Sequence[FeatureSpec]) -> TableSchema:
    return TableSchema.of(f.column for f in catalog)


def render_dictionary(catalog: Iterable[FeatureSpec]) -> str:
    """CSV text with the fixed header, one row per feature, ``True``/``False`` booleans."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(DICTIONARY_HEADER)
    for f in catalog:
        out.writerow([f.name, f.dtype, f.description, f.category, f.is_target, f.leakage_risk])
    return buf.getvalue()


def parse_dictionary(text: str) -> list[dict[str, str]]:
    """Rows of a dictionary CSV; raises ``ValueError`` on a wrong header."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(rows[0]) != DICTIONARY_HEADER:
        raise ValueError(f"feature dictionary header must be {','.join(DICTIONARY_HEADER)}")
    return [dict(zip(DICTIONARY_HEADER, r, strict=False)) for r in rows[1:] if r]
