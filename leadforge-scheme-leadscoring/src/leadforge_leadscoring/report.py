"""The lead-scoring scheme's sections of ``leadforge report``: the funnel, who converts, when
things happen, deal sizes, which features carry the label and (instructor) the hidden graph.

Columns are read by name and every figure degrades to "not available" when the bundle lacks
what it needs, so older and newer bundles both report. Counts (the funnel, rows per week) are
exact; distributions (conversion rates, deal sizes, feature separation) are read from an even
sample of the rows, which the figure's caption names.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.baseline import label_values
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.errors import BundleError
from leadforge.report.figures import column, histogram, rate_by, separation, weekly
from leadforge.report.model import Figure, Section, missing
from leadforge.report.read import SAMPLED_FROM, Reader, is_numeric, sample_note, sampled_from, strings

from leadforge_leadscoring.vocab import SCHEME, STAGES

#: Features the "top features" figure shows.
TOP_FEATURES = 12
#: Task rows the "top features" figure ranks features on at most (an even sample).
FEATURE_ROWS = 50_000


def sections(bundle: BundleView, manifest: Manifest) -> list[Section]:
    reader = Reader(bundle, manifest)
    task = _primary_task(reader)
    rows = None if task is None else reader.task_rows(task[0], _task_columns(reader, *task))
    label = None if task is None else task[1]
    out = [
        Section(
            "funnel",
            "Funnel",
            (_funnel(reader, rows, label),),
            scheme=SCHEME,
            intro="How many leads get to each step, and where they fall out.",
        ),
        Section(
            "conversion",
            "Who converts",
            tuple(
                rate_by(
                    f"conversion-{g}",
                    f"Conversion by {g.replace('_', ' ')}",
                    rows,
                    g,
                    label or "?",
                    what="conversion rate",
                    caption=sample_note(rows),
                )
                for g in GROUPS
            ),
            scheme=SCHEME,
            intro="Share of leads converting, per segment and source (largest groups first).",
        ),
        Section(
            "activity",
            "Activity over time",
            (_activity(reader),),
            scheme=SCHEME,
            intro="Rows per calendar week: lead creation and every kind of activity the funnel emits.",
        ),
        Section("deals", "Deal sizes", (_deals(reader),), scheme=SCHEME),
        Section(
            "features",
            "Features by label",
            (_features(reader, rows, label),),
            scheme=SCHEME,
            intro="How well each feature alone separates converting from non-converting leads.",
        ),
    ]
    if not manifest.is_public:
        out.append(
            Section(
                "hidden-graph",
                "Hidden causal graph (instructor only)",
                (_graph(reader),),
                scheme=SCHEME,
                intro="The world's latent structure with its edge weights; never in a public bundle.",
            )
        )
    return out


#: The text columns of the task rows the figures group by.
GROUPS = ("lead_source", "industry", "employee_band", "region")


def _task_columns(reader: Reader, task_id: str, label: str) -> list[str]:
    """The task-row columns the figures use: the label, the groups and every numeric feature
    (ids and other text columns are never decoded)."""
    try:
        schema = reader.bundle.schema(reader.bundle.split_files(task_id, "train"))
    except BundleError:
        return []
    return [f.name for f in schema if f.name == label or f.name in GROUPS or is_numeric(f.type)]


def _primary_task(reader: Reader) -> tuple[str, str] | None:
    wanted = reader.manifest.fields.get("primary_task")
    ids = sorted(reader.manifest.tasks)
    for task_id in ([wanted] if isinstance(wanted, str) and wanted in ids else []) + ids:
        tm = reader.task(task_id)
        if tm is not None and tm.task_type == "binary_classification":
            return tm.task_id, tm.label_column
    return None


def _funnel(reader: Reader, rows: pa.Table | None, label: str | None) -> Figure:
    """Leads, then each later step among those still in: from the leads table's final stages when
    it has them (instructor bundles), else from the task's snapshot columns and label."""
    title = "Lead funnel"
    names = ["leads", "SQL", "opportunity", "closed won"]
    counts = _stage_counts(reader) if reader.has("leads", "is_sql", "current_stage", "lead_id") else None
    if counts is not None:
        source = "Final stages of every lead (the leads table)."
    elif rows is not None and label is not None and label in rows.column_names:
        steps = [c for c in ("is_sql", "opportunity_created") if c in rows.column_names]
        masks = [np.ones(rows.num_rows, dtype=bool), *(label_values(rows.column(c)) > 0.5 for c in steps)]
        masks.append(label_values(rows.column(label)) > 0.5)
        short = {"is_sql": "SQL", "opportunity_created": "opportunity"}
        names = ["leads", *(f"{short[c]} (snapshot)" for c in steps), "converted"]
        source = "From the task rows; later steps count only leads that passed the earlier ones. " + (
            sample_note(rows) or "Every task row."
        )
        counts = _nested(masks)
    else:
        return missing(
            "funnel", title, "waterfall", "neither the leads table nor a task holds funnel columns"
        )
    n = max(1, counts[0])
    return Figure(
        "funnel",
        title,
        "waterfall",
        {
            "labels": [names[0], *(f"not {k}" for k in names[1:])],
            "deltas": [counts[0], *(b - a for a, b in itertools.pairwise(counts))],
            "total_label": names[-1],
            "steps": dict(zip(names, counts, strict=True)),
            "ylabel": "leads",
        },
        caption=" → ".join(f"{k} {v:,} ({v / n:.1%})" for k, v in zip(names, counts, strict=True))
        + f". {source}",
    )


def _nested(masks: list[np.ndarray]) -> list[int]:
    """How many rows pass each mask and every one before it."""
    inside = np.ones_like(masks[0])
    counts = []
    for m in masks:
        inside = inside & m
        counts.append(int(inside.sum()))
    return counts


def _stage_counts(reader: Reader) -> list[int] | None:
    """Leads, SQL, with an opportunity and closed won, counted shard by shard.

    Every shard holds its own leads' opportunities, so the leads and their opportunities are
    read and joined one part at a time and the counts added: exact, in memory one part's leads
    at a time. When an opportunity names a lead outside its shard (or the tables are not
    sharded alike) the whole tables are joined instead, so the answer is exact either way.
    Without an opportunities table a lead is "opportunity" from its stage.
    """
    leads, opps = reader.files("leads"), reader.files("opportunities")
    opps = opps if opps and "lead_id" in reader.columns_of(opps) else ()
    if opps and len(leads) == len(opps) > 1:
        total = np.zeros(4, dtype=np.int64)
        for lead_part, opp_part in zip(leads, opps, strict=True):
            got = _part_counts(reader, (lead_part,), (opp_part,), strict=True)
            if got is None:
                break
            total += got
        else:
            return [int(v) for v in total]
    got = _part_counts(reader, leads, opps, strict=False)
    return None if got is None else [int(v) for v in got]


def _part_counts(
    reader: Reader, leads: tuple[str, ...], opps: tuple[str, ...], *, strict: bool
) -> np.ndarray | None:
    """The funnel counts of these lead files (``None`` with ``strict`` when an opportunity of
    ``opps`` names a lead outside them)."""
    table = reader.bundle.read_parquet(leads, ["lead_id", "is_sql", "current_stage"])
    stage = strings(table.column("current_stage"))
    rank = np.asarray(
        pc.fill_null(pc.index_in(stage, value_set=pa.array(STAGES, pa.large_string())), -1).to_numpy(
            zero_copy_only=False
        )
    )
    sql = label_values(table.column("is_sql")) > 0.5
    if opps:
        ids = table.column("lead_id").combine_chunks()
        named = reader.bundle.read_parquet(opps, ["lead_id"]).column(0).combine_chunks()
        if strict and not pc.all(pc.is_in(named, value_set=ids)).as_py():
            return None
        later = np.asarray(pc.is_in(ids, value_set=named).to_numpy(zero_copy_only=False), dtype=bool)
    else:
        later = (rank >= STAGES.index("demo_scheduled")) & (rank != STAGES.index("closed_lost"))
    masks = [np.ones(table.num_rows, dtype=bool), sql, later, rank == STAGES.index("closed_won")]
    return np.asarray(_nested(masks), dtype=np.int64)


def _activity(reader: Reader) -> Figure:
    title = "Rows per week"
    sources = [
        ("leads created", "leads", "lead_created_at"),
        ("touches", "touches", "touch_timestamp"),
        ("web sessions", "sessions", "session_timestamp"),
        ("sales activities", "sales_activities", "activity_timestamp"),
        ("opportunities", "opportunities", "created_at"),
    ]
    x, series = weekly(reader, sources)
    if not x:
        return missing("activity", title, "lines", "no table has a readable time column")
    return Figure(
        "activity",
        title,
        "lines",
        {"x": x, "series": series, "dates": True, "ylabel": "rows per week"},
        caption="Weeks start on Monday. Public bundles hold only each lead's first days of activity.",
    )


def _deals(reader: Reader) -> Figure:
    table = reader.read("opportunities", ["estimated_acv"])
    fig = histogram(
        "deal-size",
        "Estimated deal size (ACV) of opportunities",
        column(table, "estimated_acv"),
        xlabel="estimated ACV (USD)",
        log=True,
    )
    note = sample_note(table)
    return replace(fig, caption=f"{fig.caption} {note}") if fig.available and note else fig


def _features(reader: Reader, rows: pa.Table | None, label: str | None) -> Figure:
    title = "Top features by label"
    if label is None or rows is None:
        return missing("top-features", title, "bars", "no binary task")
    try:
        leaky = {r["name"] for r in reader.bundle.dictionary if r.get("leakage_risk") == "True"}
    except BundleError:
        leaky = set()
    if rows.num_rows > FEATURE_ROWS:
        total = sampled_from(rows) or rows.num_rows
        rows = rows.take(pa.array(np.linspace(0, rows.num_rows - 1, FEATURE_ROWS).astype(np.int64)))
        rows = rows.replace_schema_metadata({SAMPLED_FROM: str(total).encode()})
    ranked = separation(rows, label, skip=())[:TOP_FEATURES]
    if not ranked:
        return missing("top-features", title, "bars", "no numeric feature")
    return Figure(
        "top-features",
        title,
        "bars",
        {
            "labels": [f"{n} (leakage trap)" if n in leaky else n for n, _ in ranked],
            "series": {"ROC AUC of the feature alone": [a for _, a in ranked]},
            "ylabel": "ROC AUC (0.5 = no signal)",
            "horizontal": True,
        },
        caption=" ".join(
            t
            for t in (
                f"Univariate ROC AUC against {label}; below 0.5 means more of it goes with not converting.",
                sample_note(rows),
            )
            if t
        ),
    )


def _graph(reader: Reader) -> Figure:
    title = "Hidden graph"
    try:
        g = reader.bundle.json("metadata/graph.json")
    except BundleError as exc:
        return missing("hidden-graph", title, "graph", str(exc))
    if (
        not isinstance(g, dict)
        or not isinstance(g.get("nodes"), list)
        or not isinstance(g.get("edges"), list)
    ):
        return missing("hidden-graph", title, "graph", "metadata/graph.json holds no nodes and edges")
    nodes = [
        {"id": str(n.get("node_id")), "label": str(n.get("label", n.get("node_id")))}
        for n in g["nodes"]
        if isinstance(n, dict)
    ]
    edges = [
        {
            "source": str(e.get("source")),
            "target": str(e.get("target")),
            "weight": float(e.get("weight", 0.0)),
        }
        for e in g["edges"]
        if isinstance(e, dict) and isinstance(e.get("weight", 0.0), int | float)
    ]
    return Figure(
        "hidden-graph",
        title,
        "graph",
        {"nodes": nodes, "edges": edges},
        caption="Arrow width is the edge weight's size; blue is positive, red negative.",
    )
