"""Realism of the simulated worlds: every scheme's realism metrics against their benchmark bands.

    .venv/bin/python benchmarks/realism.py [--scheme lead_scoring] [--seeds 42 43 44 45 46]
        [--tiers intro intermediate advanced] [--json realism.json] [--n-leads N] [--n-customers N]

For each installed recipe's scheme, tier and seed, an instructor bundle is generated at the
recipe's default size (or the size given) into a temporary folder and measured with
``leadforge.validation.measure_realism``: the same metrics the report shows. One table per scheme is
printed, a metric per row and a tier × seed per column, each cell marked ``!`` when outside its
band. The exit status is 1 when any metric is outside its band, so the script doubles as a gate.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadforge.api import Generator
from leadforge.realism import RealismMetric
from leadforge.validation import measure_realism

RECIPES = {"lead_scoring": "b2b_saas_procurement_v1", "lifecycle": "b2b_saas_ltv_v1"}
SIZE_FLAGS = {"lead_scoring": "n_leads", "lifecycle": "n_customers"}
TIERS = ("intro", "intermediate", "advanced")
PINNED = "2026-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class Cell:
    """One bundle's metrics: which scheme, tier and seed produced them."""

    scheme: str
    tier: str
    seed: int
    metrics: tuple[RealismMetric, ...]


def measure(scheme: str, tier: str, seed: int, size: int | None) -> Cell:
    params: dict[str, Any] = {SIZE_FLAGS[scheme]: size} if size else {}
    gen = Generator.from_recipe(
        RECIPES[scheme], seed=seed, difficulty=tier, exposure_mode="research_instructor", **params
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = gen.generate().save(Path(tmp) / "bundle", generation_timestamp=PINNED)
        return Cell(scheme, tier, seed, tuple(measure_realism(Path(root))))


def render(cells: list[Cell]) -> str:
    """A Markdown table: metric, band, then one column per tier × seed."""
    names: dict[str, RealismMetric] = {}
    for cell in cells:
        for m in cell.metrics:
            names.setdefault(m.name, m)
    head = ["metric", "band"] + [f"{c.tier[:5]} {c.seed}" for c in cells]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for name, first in names.items():
        row = [first.label, first.band]
        for cell in cells:
            found = next((m for m in cell.metrics if m.name == name), None)
            row.append("—" if found is None else f"{found.value:.3g}" + ("" if found.ok else " !"))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scheme", choices=sorted(RECIPES), action="append")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44, 45, 46])
    parser.add_argument("--tiers", nargs="+", default=list(TIERS), choices=TIERS)
    parser.add_argument("--n-leads", type=int, default=None)
    parser.add_argument("--n-customers", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write every metric here")
    args = parser.parse_args(argv)
    sizes = {"lead_scoring": args.n_leads, "lifecycle": args.n_customers}
    outside = 0
    report: list[dict[str, Any]] = []
    for scheme in args.scheme or sorted(RECIPES):
        cells = [measure(scheme, t, s, sizes[scheme]) for t in args.tiers for s in args.seeds]
        print(f"## {scheme}\n\n{render(cells)}\n", flush=True)
        for cell in cells:
            outside += sum(not m.ok for m in cell.metrics)
            report += [
                {"scheme": scheme, "tier": cell.tier, "seed": cell.seed, **m.to_json()} for m in cell.metrics
            ]
    print(f"{outside} metric value(s) outside their band")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if outside else 0


if __name__ == "__main__":
    sys.exit(main())
