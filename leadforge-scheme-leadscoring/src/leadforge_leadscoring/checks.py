"""The scheme's own bundle checks, on top of what core enforces for every scheme.

Core checks the envelope and the relational contract (keys, references, dtypes, id formats,
time order, public cut, withheld columns and tables). What is left is the lead-scoring
domain: split columns against the feature catalog, realism (positive rate, non-negative
integer counts, boolean flags, more than one stage — the rate and the stages judged only where
the bundle is large enough for chance to rule them out), the hidden graph when
``metadata/graph.json`` is there, and — in public bundles — the statistical leak probes of
:mod:`leadforge_leadscoring.leaks`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.errors import BundleError
from leadforge.findings import Finding, guarded

from leadforge_leadscoring import leaks
from leadforge_leadscoring.context import Context
from leadforge_leadscoring.graph import graph_problems

#: A train split converting outside this band is no plausible funnel.
POSITIVE_RATE = (0.01, 0.95)
#: How unlikely a rate outside the band must be for a funnel inside it before it is a finding:
#: a few train rows can convert at 0 % or 100 % by chance, a few thousand cannot.
RATE_ALPHA = 1e-6
#: Fewer leads than this can all sit in one stage by chance.
MIN_FUNNEL_LEADS = 50


Check = Callable[[Context], Iterable[Finding]]


def run(bundle: BundleView, manifest: Manifest) -> list[Finding]:
    try:
        ctx = Context(bundle, manifest)
    except BundleError as exc:
        return [Finding("lead_scoring.manifest", str(exc))]
    checks: list[Check] = [split_columns, positive_rate, populated_tables, split_dtypes, stages, hidden_graph]
    if ctx.public:
        checks += leaks.PROBES
    findings: list[Finding] = []
    for check in checks:
        findings.extend(guarded("lead_scoring." + check.__name__, check, ctx))
    return findings


def split_columns(ctx: Context) -> Iterator[Finding]:
    known = {f.name for f in ctx.catalog}
    for rel in ctx.split_files():
        extra = [c for c in ctx.bundle.schema(rel).names if c not in known]
        if extra:
            yield Finding("lead_scoring.splits", f"columns outside the feature catalog: {extra}", where=rel)


def positive_rate(ctx: Context) -> Iterator[Finding]:
    files = ctx.train_files()
    if not files or ctx.label not in ctx.bundle.schema(files).names:
        return
    positives, rows = 0.0, 0
    for batch in ctx.bundle.iter_batches(files, [ctx.label]):
        values = np.asarray(batch.column(0).to_numpy(zero_copy_only=False), dtype=float)
        positives += float(np.sum(values))
        rows += values.size
    if not rows:
        return
    rate = positives / rows
    lo, hi = POSITIVE_RATE
    if not lo <= rate <= hi and chance_bound(rate, rows, lo if rate < lo else hi) < RATE_ALPHA:
        rel = files[0] if len(files) == 1 else f"tasks/{ctx.task}/train"
        yield Finding(
            "lead_scoring.realism",
            f"positive rate {rate:.4f} is suspiciously {'low' if rate < lo else 'high'}",
            where=f"{rel}:{ctx.label}",
        )


def chance_bound(rate: float, rows: int, edge: float) -> float:
    """An upper bound on the chance that ``rows`` draws at the band ``edge`` rate land at least as
    far out as ``rate`` (Chernoff: ``exp(−rows · KL(rate ‖ edge))``, exact at 0 % and 100 %)."""
    q, p = rate, edge
    kl = sum(a * math.log(a / b) for a, b in ((q, p), (1.0 - q, 1.0 - p)) if a > 0)
    return math.exp(-rows * kl)


def populated_tables(ctx: Context) -> Iterator[Finding]:
    for name in ("accounts", "contacts", "leads"):
        if ctx.bundle.has_table(name) and ctx.bundle.num_rows(ctx.bundle.table_files(name)) == 0:
            yield Finding("lead_scoring.realism", "table is empty", where=ctx.where(name))


def split_dtypes(ctx: Context) -> Iterator[Finding]:
    """Split columns stored as the catalog declares them; counts never negative."""
    for rel in ctx.split_files():
        split = ctx.bundle.schema(rel)
        counts = []
        for f in ctx.catalog:
            if f.name not in split.names:
                continue
            typ = split.field(f.name).type
            where = f"{rel}:{f.name}"
            if f.dtype == "boolean" and typ != pa.bool_():
                yield Finding("lead_scoring.realism", f"declared boolean, stored {typ}", where=where)
            if f.dtype == "Int64":
                if typ != pa.int64():
                    yield Finding("lead_scoring.realism", f"declared Int64, stored {typ}", where=where)
                else:
                    counts.append(f.name)
        lowest = dict.fromkeys(counts, 0)
        for batch in ctx.bundle.iter_batches(rel, counts) if counts else ():
            for i, name in enumerate(counts):
                low = pc.min(batch.column(i)).as_py()
                if low is not None and low < lowest[name]:
                    lowest[name] = low
        for name in counts:
            if lowest[name] < 0:
                yield Finding("lead_scoring.realism", "negative count", where=f"{rel}:{name}")


def stages(ctx: Context) -> Iterator[Finding]:
    """A funnel where every lead ends in one stage simulated nothing."""
    batches = ctx.batches("leads", ["current_stage"])
    if batches is None:
        return
    seen: set[str] = set()
    leads = 0
    for batch in batches:
        seen.update(v for v in pc.unique(batch.column(0)).to_pylist() if v is not None)
        leads += batch.num_rows
        if len(seen) >= 2:
            return
    if leads < MIN_FUNNEL_LEADS:
        return
    yield Finding(
        "lead_scoring.realism", "fewer than 2 distinct stages", where=ctx.where("leads", "current_stage")
    )


def hidden_graph(ctx: Context) -> Iterator[Finding]:
    rel = "metadata/graph.json"
    if not ctx.bundle.exists(rel):
        return
    g = ctx.bundle.json(rel)
    try:
        nodes = [(n["node_id"], n["node_type"]) for n in g["nodes"]]
        edges = [(e["source"], e["target"]) for e in g["edges"]]
        weights = [float(e["weight"]) for e in g["edges"]]
    except (KeyError, TypeError, ValueError) as exc:
        yield Finding("lead_scoring.graph", f"malformed graph: {exc!r}", where=rel)
        return
    for problem in graph_problems(nodes, edges):
        yield Finding("lead_scoring.graph", problem, where=rel)
    if any(not -1.0 <= w <= 1.0 for w in weights):
        yield Finding("lead_scoring.graph", "edge weights must lie in [-1, 1]", where=rel)
    declared = ctx.manifest.scheme_field("motif_family")
    if declared != g.get("motif_family"):
        yield Finding(
            "lead_scoring.graph",
            f"motif_family {g.get('motif_family')!r} differs from the manifest's {declared!r}",
            where=rel,
        )
