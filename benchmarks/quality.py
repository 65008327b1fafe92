"""Quality of the difficulty tiers, per scheme: prints one table per installed scheme.

    uv run python benchmarks/quality.py [--seeds 42 43 44 45 46] [--tiers intro intermediate advanced]

Each scheme module exposes ``rows(seeds, tiers) -> list[dict]``; this script only prints them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

SCHEMES = (("lead_scoring", "quality_leadscoring"), ("lifecycle", "quality_lifecycle"))
TIERS = ("intro", "intermediate", "advanced")


def render(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of ``rows`` (floats to 3 decimals)."""
    if not rows:
        return "(no rows)"
    cols = list(rows[0])
    cell = [[f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols] for r in rows]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in cell]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44, 45, 46])
    parser.add_argument("--tiers", nargs="+", default=list(TIERS), choices=TIERS)
    parser.add_argument("--scheme", choices=[s for s, _ in SCHEMES], action="append")
    args = parser.parse_args()
    for scheme, module in SCHEMES:
        if args.scheme and scheme not in args.scheme:
            continue
        try:
            rows = importlib.import_module(module).rows(args.seeds, args.tiers)
        except ModuleNotFoundError as exc:
            print(f"## {scheme}\n\nskipped: {exc}\n")
            continue
        print(f"## {scheme}\n\n{render(rows)}\n", flush=True)


if __name__ == "__main__":
    main()
