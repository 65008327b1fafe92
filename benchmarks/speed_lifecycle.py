"""Lifecycle speed benchmark: wall time and peak RSS of a research_instructor bundle per size.

Each size runs in a fresh subprocess (``leadforge generate ... --no-validate -q``, so interpreter
start-up and imports are included), whose peak resident set size is read from
``getrusage(RUSAGE_CHILDREN)`` of a one-child wrapper. Validation of the same bundle is timed
separately. Targets on 2 cores: 100k customers in at most 30 s and 1.5 GB.

    .venv/bin/python benchmarks/speed_lifecycle.py [--sizes 1500 10000 100000] [--validate] [--quick]
"""

from __future__ import annotations

from measure import speed_main

RECIPE = "b2b_saas_ltv_v1"
SIZES = (1500, 10_000, 100_000)


def population(n_customers: int) -> dict[str, int]:
    return {"n_customers": n_customers}


if __name__ == "__main__":
    speed_main(__doc__ or "", RECIPE, "n_customers", SIZES, population, quick_max=10_000)
