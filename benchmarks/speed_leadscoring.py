"""Lead-scoring speed benchmark: wall time and peak RSS of a research_instructor bundle per size.

Each size is one fresh ``leadforge generate --no-validate -q`` process (start-up and imports
included); accounts and contacts scale with leads in the recipe's ratios (100k leads: 30k
accounts, 84k contacts). Targets on 2 cores: 100k leads in at most 7.5 s and 550 MB, 1M leads in
at most 60 s and 2 GB.

    .venv/bin/python benchmarks/speed_leadscoring.py [--sizes 5000 100000 1000000] [--validate] [--quick]
"""

from __future__ import annotations

from measure import speed_main

RECIPE = "b2b_saas_procurement_v1"
SIZES = (5_000, 100_000, 1_000_000)


def population(n_leads: int) -> dict[str, int]:
    return {"n_leads": n_leads, "n_accounts": n_leads * 3 // 10, "n_contacts": n_leads * 84 // 100}


if __name__ == "__main__":
    speed_main(__doc__ or "", RECIPE, "n_leads", SIZES, population, quick_max=100_000)
