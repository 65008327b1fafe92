"""The sections every bundle's report has, whatever its scheme: what the bundle is, its tables
and how they link, and how its world compares with real businesses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from leadforge.errors import LeadforgeError
from leadforge.realism import RealismMetric
from leadforge.report.model import Figure, Section, missing
from leadforge.report.read import Reader

if TYPE_CHECKING:
    from leadforge.plugins import PluginHost


def overview(reader: Reader) -> Section:
    m = reader.manifest
    hidden = set(m.hidden_fields)
    facts = [
        ["recipe", m.recipe_id or "?"],
        ["scheme", m.scheme or "?"],
        ["tier (difficulty)", m.difficulty or "?"],
        ["exposure mode", m.exposure_mode or "?"],
        ["seed", "?" if m.seed is None else str(m.seed)],
        ["bundle schema version", m.schema_version or "?"],
        ["leadforge-core version", m.package_version or "?"],
        ["generated at", m.generation_timestamp or "?"],
        ["config digest", m.config_digest or "?"],
        *(["plugin", f"{p.distribution} {p.version}"] for p in m.plugins),
    ]
    settings = [
        [k, _value(v)] for k, v in m.fields.items() if k not in hidden and not (m.is_public and v is None)
    ]
    sizes = [[name, f"{e.row_count:,}", "parts" if e.parts else "file"] for name, e in m.tables.items()]
    tasks = [
        [
            t,
            f"{sum(v or 0 for v in e.rows.values()):,}",
            *(f"{e.rows.get(s) or 0:,}" for s in ("train", "valid", "test")),
        ]
        for t, e in m.tasks.items()
    ]
    return Section(
        "overview",
        "What this bundle is",
        (
            Figure("facts", "Bundle", "table", {"columns": ["", ""], "rows": facts}),
            Figure(
                "settings",
                "Scheme settings",
                "table",
                {"columns": ["setting", "value"], "rows": settings or [["(none)", ""]]},
            ),
            Figure(
                "tasks",
                "Tasks",
                "table",
                {
                    "columns": ["task", "rows", "train", "valid", "test"],
                    "rows": tasks or [["(none)", "", "", "", ""]],
                },
            ),
            Figure(
                "table-sizes",
                "Table sizes",
                "table",
                {"columns": ["table", "rows", "layout"], "rows": sizes or [["(none)", "", ""]]},
            ),
        ),
        intro="Recipe, tier, mode, seed and versions, as the manifest records them.",
    )


def _value(v: Any) -> str:
    import json

    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def structure(reader: Reader) -> Section:
    m, contract = reader.manifest, reader.contract
    if contract is None:
        er = missing("er-diagram", "Tables and keys", "er", "the manifest records no relational contract")
    else:
        tables, links = [], []
        shown = {t.name for t in contract if t.name in m.tables and not (m.is_public and t.public.omit)}
        for t in contract:
            if t.name not in shown:
                continue
            schema = t.public_schema() if m.is_public else t.schema
            on_disk = reader.columns_of(reader.files(t.name))
            cols = on_disk or list(schema.names)
            tables.append(
                {"name": t.name, "rows": m.tables[t.name].row_count, "columns": cols, "key": t.primary_key}
            )
            links += [
                {"child": t.name, "column": fk.column, "parent": fk.parent}
                for fk in t.foreign_keys
                if fk.parent in shown
            ]
        er = Figure(
            "er-diagram",
            "Tables and keys",
            "er",
            {"tables": tables, "links": links},
            caption="Each arrow runs from a table to the table its foreign key references. "
            "PK marks the primary key, FK a foreign key.",
        )
    rows = [[name, e.row_count] for name, e in m.tables.items()]
    sizes = (
        Figure(
            "table-rows",
            "Rows per table",
            "bars",
            {
                "labels": [r[0] for r in rows],
                "series": {"rows": [r[1] for r in rows]},
                "ylabel": "rows",
                "horizontal": True,
            },
        )
        if rows
        else missing("table-rows", "Rows per table", "bars", "the manifest lists no tables")
    )
    return Section(
        "structure",
        "Tables",
        (er, sizes),
        intro="The relational contract the bundle was written under, drawn.",
    )


def measure_realism(reader: Reader, host: PluginHost) -> list[RealismMetric]:
    """:func:`leadforge.validation.measure_realism` on the report's own view of the bundle, so
    the metrics share the columns the figures read (one decode of each per report run)."""
    from leadforge.errors import UsageError

    m = reader.manifest
    metrics: list[RealismMetric] = []
    for batch in host.hook.realism_metrics(bundle=reader.bundle, manifest=m):
        if batch is None:
            continue
        if not isinstance(batch, Sequence) or not all(isinstance(x, RealismMetric) for x in batch):
            raise UsageError("a realism_metrics hook did not return a list of RealismMetric")
        metrics.extend(x for x in batch if not (x.hidden and m.is_public))
    return metrics


def realism(reader: Reader, host: PluginHost) -> Section:
    title = "Realism against published benchmarks"
    try:
        metrics = measure_realism(reader, host)
    except LeadforgeError as exc:
        fig = missing("realism", title, "table", f"the realism metrics could not be measured: {exc}")
        return Section("realism", "Realism", (fig,))
    except Exception as exc:
        fig = missing("realism", title, "table", f"a realism_metrics hook raised {type(exc).__name__}: {exc}")
        return Section("realism", "Realism", (fig,))
    if not metrics:
        fig = missing("realism", title, "table", "this bundle's scheme reports no realism metrics")
        return Section("realism", "Realism", (fig,))
    rows = [
        [
            r.label,
            f"{r.value:.4g}" if r.value == r.value else "—",
            r.band,
            "in band" if r.ok else "OUT OF BAND",
            r.source,
        ]
        for r in metrics
    ]
    table = Figure(
        "realism",
        title,
        "table",
        {
            "columns": ["metric", "value", "band", "verdict", "source"],
            "rows": rows,
            "metrics": [r.to_json() for r in metrics],
        },
        caption=f"{sum(r.ok for r in metrics)} of {len(metrics)} metrics inside the band real B2B SaaS "
        "businesses fall in.",
    )
    position = Figure(
        "realism-position",
        "Where each metric sits in its band",
        "bars",
        {
            "labels": [r.label for r in metrics],
            "series": {
                "position in band (0 = low end, 1 = high end)": [
                    _position(r.value, r.low, r.high) for r in metrics
                ]
            },
            "horizontal": True,
            "ylabel": "position in band",
        },
        caption="Bars between 0 and 1 are inside the band; an open-ended band counts its one end as 0.5.",
    )
    return Section(
        "realism",
        "Realism",
        (table, position),
        intro="Each scheme measures its world against public benchmarks.",
    )


def _position(value: float, low: float | None, high: float | None) -> float:
    if value != value:
        return 0.0
    if low is not None and high is not None:
        return (value - low) / (high - low) if high > low else 0.5
    if low is not None:
        return 0.5 + (0.5 if value >= low else -0.5) * min(1.0, abs(value - low) / (abs(low) or 1.0))
    if high is not None:
        return 0.5 + (-0.5 if value <= high else 0.5) * min(1.0, abs(high - value) / (abs(high) or 1.0))
    return 0.5
