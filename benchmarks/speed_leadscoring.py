"""Lead-scoring speed benchmark: wall time and peak RSS of a research_instructor bundle per size.

Each size is one fresh ``leadforge generate --no-validate -q`` process (start-up and imports
included); accounts and contacts scale with leads in the recipe's ratios (100k leads: 30k
accounts, 84k contacts). Targets on 2 cores: 100k leads in at most 7.5 s and 550 MB, 1M leads in
at most 60 s and 2 GB.

    .venv/bin/python benchmarks/speed_leadscoring.py [--sizes 5000 100000 1000000] [--validate] [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from measure import format_row, time_generate

RECIPE = "b2b_saas_procurement_v1"
SIZES = (5_000, 100_000, 1_000_000)


def population(n_leads: int) -> dict[str, int]:
    return {"n_leads": n_leads, "n_accounts": n_leads * 3 // 10, "n_contacts": n_leads * 84 // 100}


def run(sizes: tuple[int, ...] | list[int], validate: bool, seed: int = 42) -> list[dict[str, float]]:
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            row = {"n_leads": n, **time_generate(RECIPE, population(n), Path(tmp) / f"b{n}", validate, seed)}
            rows.append(row)
            print(format_row(f"n_leads={n:>9}", row), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--validate", action="store_true", help="also time `leadforge validate` on each bundle")
    ap.add_argument("--quick", action="store_true", help="only sizes up to 100k leads")
    args = ap.parse_args()
    if args.quick:
        args.sizes = [n for n in args.sizes if n <= 100_000]
    print(f"cpu count: {os.cpu_count()}")
    run(args.sizes, args.validate)


if __name__ == "__main__":
    main()
