"""Render-time difficulty distortions of a task table: noise, missingness, outliers.

Eligibility comes from the feature catalog, never from runtime dtypes: only numeric
features with ``distort=True`` that are not targets are touched. Integer columns only ever
lose cells (they stay ``Int64``); noise and outliers act on float columns. Every value stays
in its feature's domain: clipped at 0 for ``non_negative`` features and at ``max_value``
when one is declared, after all steps, so counts and amounts never go negative and a
30-day recency never reads 42 days.

Noise and outliers are measured in the feature's declared ``spread`` about its ``center``: noise
is a normal draw of ``noise_scale`` spreads, an outlier replaces the value with the centre plus or
minus five spreads. A cell's distortion then depends on its row's draws alone, never on the
other rows of the shard, so an intervention moves no cell of a row it cannot reach. A feature
that declares neither falls back to the column's standard deviation and median over the shard.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from leadforge.features import FeatureSpec


@dataclass(frozen=True)
class DistortionKnobs:
    """Per-tier strengths: noise sd in spreads of the feature, null rate, outlier rate."""

    noise_scale: float = 0.0
    missing_rate: float = 0.0
    outlier_rate: float = 0.0

    @classmethod
    def of(cls, profile: object) -> DistortionKnobs:
        """The knobs of a difficulty profile that declares ``noise_scale``, ``missing_rate`` and
        ``outlier_rate`` (built once per world, not once per shard)."""
        return cls(
            float(getattr(profile, "noise_scale", 0.0)),
            float(getattr(profile, "missing_rate", 0.0)),
            float(getattr(profile, "outlier_rate", 0.0)),
        )


def distort(
    table: pa.Table,
    catalog: Sequence[FeatureSpec],
    knobs: DistortionKnobs,
    rng: np.random.Generator,
) -> pa.Table:
    """Return a distorted copy of ``table``; the draws depend only on ``rng`` and row count."""
    n = table.num_rows
    out = table
    for spec in catalog:
        if not spec.distortable or spec.name not in table.column_names:
            continue
        col = out.column(spec.name)
        values = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
        null = (
            np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            if col.null_count
            else np.zeros(n, dtype=bool)
        )
        values = np.where(null, np.nan, values)
        is_float = spec.dtype == "Float64"
        if is_float and knobs.noise_scale > 0:
            sd = _sd(values) if spec.spread is None else spec.spread
            noise = rng.normal(0.0, 1.0, n)
            if sd > 0:
                values = values + noise * knobs.noise_scale * sd
        if knobs.missing_rate > 0:
            null = null | (rng.random(n) < knobs.missing_rate)
        if is_float and knobs.outlier_rate > 0:
            pick = rng.random(n) < knobs.outlier_rate
            sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
            if spec.spread is not None and spec.center is not None:
                values = np.where(pick, spec.center + sign * 5.0 * spec.spread, values)
            else:
                live = values[~null]
                sd = _sd(live)
                if sd > 0:
                    values = np.where(pick, float(np.median(live)) + sign * 5.0 * sd, values)
        if spec.non_negative:
            values = np.maximum(values, 0.0)
        if spec.max_value is not None:
            values = np.minimum(values, spec.max_value if is_float else math.floor(spec.max_value))
        values = np.where(null, 0.0, values)
        if is_float:
            arr = pa.array(values, type=pa.float64(), mask=null)
        else:
            arr = pa.array(np.rint(values).astype(np.int64), type=pa.int64(), mask=null)
        out = out.set_column(out.column_names.index(spec.name), spec.name, arr)
    return out


def _sd(values: np.ndarray) -> float:
    live = values[~np.isnan(values)]
    if live.size < 2:
        return 0.0
    sd = float(np.std(live, ddof=1))
    return sd if np.isfinite(sd) else 0.0
