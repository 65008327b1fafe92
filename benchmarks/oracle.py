"""What the answer key costs: generation time and memory with the oracle, and the oracle's share.

    .venv/bin/python benchmarks/oracle.py [--scheme lead_scoring lifecycle] [--size 100000]
        [--difficulty intermediate] [--json oracle.json]

For each scheme, generates one ``research_instructor`` bundle of ``--size`` leads (customers) in a
fresh process, with the scheme's oracle functions wrapped by a timer, and reports the run's wall
and CPU seconds and peak RSS, the seconds spent inside the oracle, and the slowdown the oracle
causes: ``total / (total - oracle)``. A second run holds ``tracemalloc`` on inside the oracle
calls only, for the most memory the oracle allocates at once. The target: the oracle makes
generation at most 1.5x slower at 100k leads / customers.
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

RECIPES = {"lead_scoring": "b2b_saas_procurement_v1", "lifecycle": "b2b_saas_ltv_v1"}
SIZES = {"lead_scoring": "n_leads", "lifecycle": "n_customers"}
#: the module and functions each scheme computes its answer key with (called through the module)
ORACLES = {
    "lead_scoring": ("leadforge_leadscoring.oracle", ("at_anchor", "from_creation")),
    "lifecycle": ("leadforge_lifecycle.oracle", ("futures",)),
}
PINNED = "2026-01-01T00:00:00+00:00"


def _wrap(module: Any, name: str, spent: dict[str, float], traced: bool) -> None:
    fn: Callable[..., Any] = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        if traced:
            tracemalloc.start()
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent["seconds"] += time.perf_counter() - start
            if traced:
                spent["peak_mb"] = max(spent["peak_mb"], tracemalloc.get_traced_memory()[1] / 2**20)
                tracemalloc.stop()

    setattr(module, name, timed)


def run_one(scheme: str, size: int, difficulty: str, traced: bool) -> dict[str, Any]:
    """One generation in this process (called in a fresh interpreter by :func:`main`)."""
    from leadforge.api import Generator

    module_name, names = ORACLES[scheme]
    module = importlib.import_module(module_name)
    spent = {"seconds": 0.0, "peak_mb": 0.0}
    for name in names:
        _wrap(module, name, spent, traced)
    size_param: dict[str, Any] = {SIZES[scheme]: size}
    gen = Generator.from_recipe(
        RECIPES[scheme], seed=42, exposure_mode="research_instructor", difficulty=difficulty, **size_param
    )
    with tempfile.TemporaryDirectory() as tmp:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        gen.generate().save(Path(tmp) / "b", generation_timestamp=PINNED)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out: dict[str, Any] = {"scheme": scheme, "size": size, "difficulty": difficulty}
    if traced:
        out["oracle_peak_alloc_mb"] = round(spent["peak_mb"], 1)
    else:
        out.update(
            wall_s=round(wall, 2),
            cpu_s=round(cpu, 2),
            peak_rss_mb=round(rss, 1),
            oracle_s=round(spent["seconds"], 2),
            slowdown=round(wall / max(wall - spent["seconds"], 1e-9), 3),
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scheme", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--difficulty", default="intermediate")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", nargs=2, metavar=("SCHEME", "TRACED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.size, args.difficulty, args.one[1] == "1")))
        return
    rows = []
    for scheme in args.scheme:
        row: dict[str, Any] = {}
        for traced in ("0", "1"):
            cmd = [sys.executable, __file__, "--one", scheme, traced, "--size", str(args.size)]
            cmd += ["--difficulty", args.difficulty]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            row.update(json.loads(done.stdout.strip().splitlines()[-1]))
        rows.append(row)
    print("| scheme | size | wall s | CPU s | peak RSS MB | oracle s | slowdown | oracle peak alloc MB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['scheme']} | {r['size']:,} | {r['wall_s']} | {r['cpu_s']} | {r['peak_rss_mb']} | "
            f"{r['oracle_s']} | {r['slowdown']}x | {r['oracle_peak_alloc_mb']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
