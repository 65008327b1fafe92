"""Helpers shared by the lifecycle tests: reading bundles the way a notebook would."""

from __future__ import annotations

import hashlib
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from leadforge import hookimpl
from leadforge.plugins import PluginHost

RECIPE = "b2b_saas_ltv_v1"
PINNED = "2026-01-01T00:00:00+00:00"
SPLITS = ("train", "valid", "test")
#: In declaration order: the calendar churn task comes first, it decides every task's split.
CALENDAR_TASKS = ("churned_within_180d", "pltv_revenue_90d", "pltv_revenue_365d", "pltv_revenue_730d")
EARLY_TASKS = tuple(f"early_{t}" for t in CALENDAR_TASKS)
TARGETS = ("churned_within_180d", "ltv_revenue_90d", "ltv_revenue_365d", "ltv_revenue_730d")
TRAPS = ("mrr_change_full_period", "last_health_signal_post_obs")
IDS = ("customer_id", "account_id")
#: the tasks' time column (the out-of-time split's clock, not a feature)
TIME_COLUMN = "customer_start_at"
#: The small world shared by the contract tests: three shards of up to 150 customers.
SMALL = {"seed": 7, "n_customers": 400, "shard_size": 150}
#: Worlds large enough for rates and leak probes, small enough for ``make test``.
MEDIUM = {"n_customers": 3000}
#: The tier-ladder world: enough churners per tier for cross-validated scores to order.
LADDER = {"n_customers": 6000}


def probe_plugin() -> object:
    """The lifecycle plugin plus the test-only recipes next to this file, as one plugin object.

    One object, not two: a host built by ``PluginHost.from_plugins`` files every plugin under
    one distribution and calls a scheme's hooks on that distribution's plugin only.
    """
    import leadforge_lifecycle.plugin as lifecycle

    class ProbeLifecycle:
        LEADFORGE_PLUGIN_API = lifecycle.LEADFORGE_PLUGIN_API
        register_schemes = staticmethod(lifecycle.register_schemes)
        generate_options = staticmethod(lifecycle.generate_options)
        build_world = staticmethod(lifecycle.build_world)
        write_bundle = staticmethod(lifecycle.write_bundle)
        write_metadata = staticmethod(lifecycle.write_metadata)
        validate = staticmethod(lifecycle.validate)

        @hookimpl
        def register_recipes(self) -> list[Path]:
            return [Path(__file__).parent / "probe_recipes" / "b2b_saas_ltv_probe_v1"]

    return ProbeLifecycle()


@cache
def probe_host() -> PluginHost:
    return PluginHost.from_plugins([("lifecycle", probe_plugin())])


def files(stem: Path) -> list[Path]:
    """The file(s) of a table or split: ``<stem>.parquet``, or the ordered parts of ``<stem>/``."""
    return sorted(stem.glob("part-*.parquet")) if stem.is_dir() else [stem.with_suffix(".parquet")]


def read(stem: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(f) for f in files(stem)], ignore_index=True)


def table(root: Path, name: str) -> pd.DataFrame:
    return read(root / "tables" / name)


def split(root: Path, task: str, name: str) -> pd.DataFrame:
    return read(root / "tasks" / task / name)


def task_rows(root: Path, task: str) -> pd.DataFrame:
    """All splits of a task stacked (train, valid, test)."""
    return pd.concat([split(root, task, s) for s in SPLITS], ignore_index=True)


def manifest(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "manifest.json").read_text())
    return data


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def days_from(dates: pd.Series, base: str) -> np.ndarray:
    """Days from ``base`` (ISO date) to each date (``date32`` cells) or instant (its UTC date)."""
    values = pd.Series(dates)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D")
    else:
        values = pd.to_datetime(values)
    return np.asarray((values - pd.Timestamp(base)).dt.days, dtype=np.int64)


def _benchmark() -> Any:
    """``benchmarks/quality_lifecycle.py``: the tests measure exactly what the benchmark reports."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import quality_lifecycle

    return quality_lifecycle


quality = _benchmark()
