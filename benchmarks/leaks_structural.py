"""Structural leak sweep: do ids, id gaps, row order or split membership carry a label?

For each recipe, tier and seed it writes a default-sized public bundle and scores, against each
task's label (binary labels as they are, regression labels split at their median):

* row position in every split file (as a fraction of its file, pooled over the three splits);
* the task key's id number;
* for every public table with a foreign key to the task's entity: per entity, the lowest id
  number, and the id gap (span of its ids minus its row count) — within each shard block;
* split membership: keys whose split differs between tasks sharing the key column.

It prints, per probe, the largest |AUC − 0.5| and the largest as a share of the conformance kit's
tolerance (max(0.03, 4 null sd); above 1.0 the kit fails the bundle), and writes JSON.

    uv run python benchmarks/leaks_structural.py [--seeds 42 43 44] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from leadforge.api import Generator
from leadforge.bundle.contract import ID_BLOCK
from leadforge.bundle.manifest import SPLITS, Manifest, parse_task_manifest
from leadforge.testing.stats import auc, auc_tolerance

RECIPES = ("b2b_saas_procurement_v1", "b2b_saas_ltv_v1")
TIERS = ("intro", "intermediate", "advanced")


def numbers(ids: pa.Array) -> np.ndarray:
    """The integer after ``<prefix>_`` of each id."""
    tail = pc.replace_substring_regex(ids, "^[^_]*_", "")
    return np.asarray(pc.cast(tail, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def binary(label: pa.Array) -> np.ndarray:
    """Binary labels as they are; regression labels split at their median."""
    values = np.asarray(label.to_numpy(zero_copy_only=False))
    return values.astype(bool) if pa.types.is_boolean(label.type) else values > np.median(values)


def note(worst: dict[str, float], name: str, score: np.ndarray, y: np.ndarray) -> None:
    """Keep the largest |AUC - 0.5| of a probe, and the largest as a share of the kit's tolerance
    (max(0.03, 4 null sd): beyond 1.0 the probe would fail the conformance kit)."""
    if not y.any() or y.all():
        return
    off = abs(auc(score, y) - 0.5) if np.ptp(score) > 0 else 0.0
    worst[name] = max(worst[name], off)
    worst[name + " / tolerance"] = max(worst[name + " / tolerance"], off / auc_tolerance(y))


def probe(root: Path) -> dict[str, float]:
    m = Manifest.load(root)
    assert m.contract is not None
    worst: dict[str, float] = defaultdict(float)
    splits_of: dict[str, dict[str, int]] = defaultdict(dict)
    inconsistent = 0
    for task_id in m.tasks:
        tm, _ = parse_task_manifest(
            json.loads((root / "tasks" / task_id / "task_manifest.json").read_text()), ""
        )
        assert tm is not None
        frames = [
            pq.read_table(root / "tasks" / task_id / f"{s}.parquet", columns=[tm.key_column, tm.label_column])
            for s in SPLITS
        ]
        for i, f in enumerate(frames):
            seen = splits_of[tm.key_column]
            for key in f.column(tm.key_column).to_pylist():
                if seen.setdefault(key, i) != i:
                    inconsistent += 1
        keys = pa.concat_arrays([f.column(tm.key_column).combine_chunks() for f in frames])
        raw = pa.concat_arrays([f.column(tm.label_column).combine_chunks() for f in frames])
        y = binary(raw)
        position = np.concatenate([np.arange(f.num_rows) / max(f.num_rows, 1) for f in frames])
        note(worst, "row order", position, y)
        note(worst, "key id number", numbers(keys).astype(float), y)
        for t in m.contract:
            if t.name not in m.tables:
                continue
            for fk in t.foreign_keys:
                if fk.column != tm.key_column:
                    continue
                table = pq.read_table(
                    root / "tables" / f"{t.name}.parquet", columns=[t.primary_key, fk.column]
                )
                own = numbers(table.column(t.primary_key).combine_chunks()) % ID_BLOCK
                idx = pc.index_in(table.column(fk.column), value_set=keys)
                ok = np.asarray(pc.is_valid(idx).to_numpy(zero_copy_only=False), dtype=bool)
                entity = np.asarray(pc.drop_null(idx).to_numpy(zero_copy_only=False), dtype=np.int64)
                own = own[ok]
                n = len(keys)
                first = np.full(n, np.iinfo(np.int64).max)
                last = np.full(n, -1)
                count = np.bincount(entity, minlength=n)
                np.minimum.at(first, entity, own)
                np.maximum.at(last, entity, own)
                has = count > 0
                if has.sum() > 50 and y[has].any() and not y[has].all():
                    gap = (last - first + 1 - count)[has].astype(float)
                    note(worst, f"{t.name} first id", first[has].astype(float), y[has])
                    note(worst, f"{t.name} id gap", gap, y[has])
    worst["keys in two splits"] = float(inconsistent)
    return dict(worst)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for recipe in RECIPES:
            for tier in TIERS:
                for seed in args.seeds:
                    out = Path(tmp) / f"{recipe}-{tier}-{seed}"
                    gen = Generator.from_recipe(
                        recipe, seed=seed, exposure_mode="student_public", difficulty=tier
                    )
                    gen.generate().save(out, generation_timestamp="2026-01-01T00:00:00+00:00")
                    results.append({"recipe": recipe, "tier": tier, "seed": seed, **probe(out)})
    probes = sorted({k for r in results for k in r if k not in ("recipe", "tier", "seed")})
    print(f"{'recipe':<26}{'probe':<44}{'max over tiers and seeds':>26}")
    for recipe in RECIPES:
        for p in probes:
            values = [r[p] for r in results if r["recipe"] == recipe and p in r]
            if values:
                print(f"{recipe:<26}{p:<44}{max(values):>26.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
