"""How long ``leadforge report`` takes next to ``leadforge validate`` on the same bundle; and the
table of ``docs/tiers.md``.

    .venv/bin/python benchmarks/report.py [--recipe b2b_saas_procurement_v1] [--size 100000]
        [--mode research_instructor] [--bundle PATH] [--json out.json]
    .venv/bin/python benchmarks/report.py --tiers --figures docs/tiers    # docs/tiers.md's table and figures

``--tiers`` generates an instructor bundle of each first-party recipe at each tier (default
sizes), builds its report and prints a Markdown table of the figures that tell the tiers apart.

Generates one bundle of ``--size`` leads (or customers) into a temporary folder (or reads
``--bundle``), then measures three runs, each in a fresh process so each has its own peak
memory: ``validate`` (every hash and key), the report's figures and drawing without validation
(``--no-validation``: what the report adds) and the full report (figures + validation), each
with its modules (matplotlib too) imported before the clock starts. For each it prints wall
seconds, CPU seconds (user + system: on a shared machine wall time also counts waiting for a
core) and the process's peak RSS (the figures run also the peak of Arrow's memory pool); a last
figures run under ``tracemalloc`` gives the peak of Python and numpy allocations. The targets at
1M leads: the figures take at most half of ``validate``'s time, so the full report is within 1.5
times ``validate``; the figures' peak memory is the same at 300k and 1M leads (within ~15 %).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

SIZE_FLAGS = {"b2b_saas_procurement_v1": "n_leads", "b2b_saas_ltv_v1": "n_customers"}
PINNED = "2026-01-01T00:00:00+00:00"


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


SECTIONS = {"lead_scoring": "leadforge_leadscoring", "lifecycle": "leadforge_lifecycle"}


class _SchemeSections:
    """A first-party scheme's report sections, for a checkout whose plugin.py does not declare them."""

    def __init__(self, schemes: set[str]) -> None:
        self.schemes = schemes

    def report_sections(self, bundle: Any, manifest: Any) -> Any:
        import importlib

        if manifest.scheme not in self.schemes:
            return None
        return importlib.import_module(f"{SECTIONS[manifest.scheme]}.report").sections(bundle, manifest)


def _scheme_sections(host: Any) -> None:
    from leadforge import hookimpl

    impls = host.hook.report_sections.get_hookimpls()
    if any(i.plugin_name == "report-sections" for i in impls):
        return
    declared = {i.function.__module__.split(".")[0] for i in impls}
    missing = {scheme for scheme, package in SECTIONS.items() if package not in declared}
    if missing:
        hookimpl(_SchemeSections.report_sections)
        host.pm.register(_SchemeSections(missing), "report-sections")


def _phase(root: Path, phase: str) -> dict[str, Any]:
    """One measured run in this (fresh) process: ``validate``, ``figures`` or ``full``."""
    import os
    import resource

    import pyarrow as pa
    from leadforge.plugins import get_host
    from leadforge.report.build import build_report
    from leadforge.report.plots import _pyplot
    from leadforge.report.render import to_html
    from leadforge.validation import validate_bundle

    host = get_host()
    _scheme_sections(host)
    import_s, _ = _timed(_pyplot)
    out: dict[str, Any] = {"matplotlib_import_s": round(import_s, 2)}
    cpu = os.times()
    start = time.perf_counter()
    if phase == "validate":
        out["ok"] = validate_bundle(root, host).ok
    elif phase == "figures":
        built = build_report(root, host, validate=False)
        out["build_s"] = round(time.perf_counter() - start, 2)
        html = to_html(built)
        out["html_kb"] = round(len(html) / 1024, 1)
        out["figures_available"] = f"{sum(f.available for f in built.figures)}/{len(built.figures)}"
    elif phase == "full":
        to_html(build_report(root, host, validate=True))
    elif phase == "traced":
        tracemalloc.start()
        to_html(build_report(root, host, validate=False))
        out["peak_python_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    end = os.times()
    out["wall_s"] = round(time.perf_counter() - start, 2)
    out["cpu_s"] = round(end.user - cpu.user + end.system - cpu.system, 2)
    out["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["arrow_peak_mb"] = round(pa.default_memory_pool().max_memory() / 2**20, 1)
    return out


def run(root: Path) -> dict[str, Any]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    got: dict[str, dict[str, Any]] = {}
    for phase in ("validate", "figures", "full", "traced"):
        with ctx.Pool(1) as pool:
            got[phase] = pool.apply(_phase, (root, phase))
    v, f, full = got["validate"], got["figures"], got["full"]
    return {
        "bundle": str(root),
        "validate_ok": v["ok"],
        "validate_s": v["wall_s"],
        "validate_cpu_s": v["cpu_s"],
        "validate_rss_mb": v["max_rss_mb"],
        "report_figures_s": f["build_s"],
        "report_draw_s": round(f["wall_s"] - f["build_s"], 2),
        "report_no_validation_s": f["wall_s"],
        "report_no_validation_cpu_s": f["cpu_s"],
        "report_no_validation_rss_mb": f["max_rss_mb"],
        "report_no_validation_arrow_peak_mb": f["arrow_peak_mb"],
        "report_full_s": full["wall_s"],
        "report_full_cpu_s": full["cpu_s"],
        "report_full_rss_mb": full["max_rss_mb"],
        "figures_over_validate": round(f["wall_s"] / v["wall_s"], 2) if v["wall_s"] else None,
        "figures_over_validate_cpu": round(f["cpu_s"] / v["cpu_s"], 2) if v["cpu_s"] else None,
        "full_over_validate": round(full["wall_s"] / v["wall_s"], 2) if v["wall_s"] else None,
        "matplotlib_import_s": f["matplotlib_import_s"],
        "peak_python_mb": got["traced"]["peak_python_mb"],
        "html_kb": f["html_kb"],
        "figures_available": f["figures_available"],
    }


def _figure(report: dict[str, Any], fid: str) -> dict[str, Any]:
    for section in report["sections"]:
        for f in section["figures"]:
            if f["id"] == fid and f["available"]:
                return dict(f["data"])
    return {}


def _baseline(report: dict[str, Any], task: str, split: str = "test") -> str:
    data = _figure(report, "baselines")
    cols = data.get("columns", [])
    for row in data.get("rows", []):
        if row and row[0] == task and split in cols:
            return str(row[cols.index(split)])
    return "—"


def _top(fig: dict[str, Any]) -> str:
    if not fig:
        return "—"
    values = next(iter(fig["series"].values()))
    return f"{fig['labels'][0]} ({values[0]:.3f})"


def _tier_rows(recipe: str, report: dict[str, Any]) -> list[tuple[str, str]]:
    if recipe == "b2b_saas_procurement_v1":
        steps = _figure(report, "funnel").get("steps", {})
        counts = list(steps.values())
        won = counts[-1] / max(1, counts[0]) if counts else float("nan")
        top = _figure(report, "top-features")
        graph = _figure(report, "hidden-graph")
        deal = _figure(report, "deal-size").get("median")
        return [
            ("leads converting", f"{won:.1%}"),
            ("baseline test ROC AUC", _baseline(report, "converted_within_90_days")),
            (
                "strongest feature (ROC AUC alone)",
                f"{top['labels'][0]} ({top['series'][next(iter(top['series']))][0]:.3f})" if top else "—",
            ),
            ("hidden graph edges", str(len(graph.get("edges", []))) if graph else "—"),
            ("median estimated ACV", f"{deal:,.0f}" if deal else "—"),
        ]
    nrr = _figure(report, "nrr-grr").get("series", {}).get("retention", [None, None])
    invoices = _figure(report, "invoice-status")
    paid = dict(
        zip(invoices.get("labels", []), invoices.get("series", {}).get("share of invoices", []), strict=False)
    )
    return [
        ("baseline test ROC AUC, churn in 180 days", _baseline(report, "churned_within_180d")),
        ("baseline test R², revenue in 365 days", _baseline(report, "pltv_revenue_365d")),
        ("NRR / GRR", " / ".join("—" if v is None else f"{v:.1%}" for v in nrr)),
        ("invoices paid", f"{paid['paid']:.1%}" if "paid" in paid else "—"),
    ]


#: The figure of each recipe drawn per tier into ``--figures DIR`` (docs/tiers/).
TIER_FIGURES = {"b2b_saas_procurement_v1": "funnel", "b2b_saas_ltv_v1": "retention"}


def tiers(seed: int, figures: Path | None = None) -> str:
    """The Markdown table of docs/tiers.md: one row per figure value, one column per tier; with
    ``figures``, one figure per recipe and tier written there as ``<recipe>-<tier>.svg``."""
    from leadforge.api import Generator
    from leadforge.plugins import get_host
    from leadforge.report.build import build_report
    from leadforge.report.plots import svg

    host = get_host()
    _scheme_sections(host)
    out = []
    for recipe in SIZE_FLAGS:
        cells: dict[str, list[tuple[str, str]]] = {}
        for tier in ("intro", "intermediate", "advanced"):
            with tempfile.TemporaryDirectory() as tmp:
                gen = Generator.from_recipe(
                    recipe, seed=seed, difficulty=tier, exposure_mode="research_instructor", host=host
                )
                root = Path(gen.generate().save(Path(tmp) / "bundle", generation_timestamp=PINNED))
                built = build_report(root, host, validate=False)
                cells[tier] = _tier_rows(recipe, built.to_json())
                if figures is not None:
                    figures.mkdir(parents=True, exist_ok=True)
                    for fig in built.figures:
                        if fig.id == TIER_FIGURES[recipe] and fig.available:
                            (figures / f"{recipe}-{tier}.svg").write_text(svg(fig) + "\n", encoding="utf-8")
        out.append(f"### {recipe} (seed {seed}, default size)\n")
        out.append("| figure | intro | intermediate | advanced |")
        out.append("|---|---|---|---|")
        for i, (name, _) in enumerate(cells["intro"]):
            out.append(f"| {name} | " + " | ".join(cells[t][i][1] for t in cells) + " |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", default="b2b_saas_procurement_v1", choices=sorted(SIZE_FLAGS))
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--mode", default="research_instructor")
    ap.add_argument("--bundle", type=Path, help="measure this bundle instead of generating one")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--tiers", action="store_true", help="print docs/tiers.md's table instead")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--figures", type=Path, help="with --tiers: write each tier's key figure here as SVG")
    args = ap.parse_args(argv)
    if args.tiers:
        print(tiers(args.seed, args.figures))
        return 0
    if args.bundle:
        result = run(args.bundle)
    else:
        from leadforge.api import Generator

        with tempfile.TemporaryDirectory() as tmp:
            gen = Generator.from_recipe(
                args.recipe, exposure_mode=args.mode, seed=42, **{SIZE_FLAGS[args.recipe]: args.size}
            )
            started = time.perf_counter()
            root = Path(gen.generate().save(Path(tmp) / "bundle", generation_timestamp=PINNED))
            print(
                f"generated {args.recipe} at {args.size:,} in {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )
            result = {"recipe": args.recipe, "size": args.size, "mode": args.mode, **run(root)}
    for k, v in result.items():
        print(f"{k:24} {v}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
