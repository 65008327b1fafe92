"""Lifecycle speed benchmark: wall time and peak RSS of a research_instructor bundle per size.

Each size runs in a fresh subprocess (``leadforge generate ... --no-validate -q``, so interpreter
start-up and imports are included), whose peak resident set size is read from
``getrusage(RUSAGE_CHILDREN)`` of a one-child wrapper. Validation of the same bundle is timed
separately. Targets on 2 cores: 100k customers in at most 30 s and 1.5 GB.

    .venv/bin/python benchmarks/speed_lifecycle.py [--sizes 1500 10000 100000] [--validate] [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from measure import format_row, time_generate

RECIPE = "b2b_saas_ltv_v1"
SIZES = (1500, 10_000, 100_000)


def run(sizes: tuple[int, ...] | list[int], validate: bool, seed: int = 42) -> list[dict[str, float]]:
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            row = {
                "n_customers": n,
                **time_generate(RECIPE, {"n_customers": n}, Path(tmp) / f"b{n}", validate, seed),
            }
            rows.append(row)
            print(format_row(f"n_customers={n:>7}", row), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--validate", action="store_true", help="also time `leadforge validate` on each bundle")
    ap.add_argument("--quick", action="store_true", help="only the two smaller sizes")
    args = ap.parse_args()
    if args.quick:
        args.sizes = [n for n in args.sizes if n <= 10_000]
    print(f"cpu count: {os.cpu_count()}")
    run(args.sizes, args.validate)


if __name__ == "__main__":
    main()
