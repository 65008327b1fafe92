"""What the conformance kit cannot know about the support scheme: its own invariants.

The label must be what the simulated queue did (not sampled), difficulty must change the
world, public bundles must withhold what reveals the queue's outcome, and the scheme's own
validator must catch a label the queue did not produce.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from leadforge.api import Generator
from leadforge.plugins import PluginHost
from leadforge.validation import validate_bundle
from leadforge_support import plugin
from leadforge_support.params import SLA_DAYS

RECIPE = "helpdesk_sla_v1"
PINNED = "2026-01-01T00:00:00+00:00"
SAMPLE: dict[str, Any] = {"n_customers": 150, "n_agents": 3, "horizon_days": 60}


@pytest.fixture(scope="module")
def host() -> PluginHost:
    return PluginHost.from_plugins([("support", plugin)], distribution="leadforge-scheme-support")


def generate(host: PluginHost, out: Path, *, mode: str, difficulty: str = "intermediate") -> Path:
    gen = Generator.from_recipe(
        RECIPE, seed=11, exposure_mode=mode, difficulty=difficulty, host=host, **SAMPLE
    )
    return gen.generate().save(out, generation_timestamp=PINNED)


def task_rows(bundle: Path) -> pa.Table:
    return pa.concat_tables(
        pq.read_table(bundle / f"tasks/sla_breached/{s}.parquet") for s in ("train", "valid", "test")
    )


def test_the_label_is_what_the_queue_did(host: PluginHost, tmp_path: Path) -> None:
    bundle = generate(host, tmp_path / "b", mode="research_instructor")
    tickets = pq.read_table(bundle / "tables/tickets.parquet").to_pylist()
    by_id = {t["ticket_id"]: t for t in tickets}
    rows = task_rows(bundle).to_pylist()
    assert rows and 0 < sum(r["sla_breached"] for r in rows) < len(rows)
    for row in rows:
        t = by_id[row["ticket_id"]]
        created = dt.date.fromisoformat(t["created_at"])
        deadline = created + dt.timedelta(days=SLA_DAYS[t["priority"]])
        late = t["resolved_at"] is None or dt.date.fromisoformat(t["resolved_at"]) > deadline
        assert row["sla_breached"] is late, (row["ticket_id"], t)


def test_a_stretched_team_breaches_more(host: PluginHost, tmp_path: Path) -> None:
    def breach_rate(difficulty: str) -> float:
        labels = task_rows(
            generate(host, tmp_path / difficulty, mode="student_public", difficulty=difficulty)
        )
        values = labels.column("sla_breached").to_pylist()
        return float(sum(values) / len(values))

    intro, advanced = breach_rate("intro"), breach_rate("advanced")
    assert advanced > intro + 0.05, (intro, advanced)


def test_public_bundles_ship_neither_tickets_nor_lifetime_counts(host: PluginHost, tmp_path: Path) -> None:
    public = generate(host, tmp_path / "public", mode="student_public")
    instructor = generate(host, tmp_path / "instructor", mode="research_instructor")
    assert not (public / "tables/tickets.parquet").exists()
    assert "tickets_opened" not in pq.read_schema(public / "tables/customers.parquet").names
    opened = pq.read_table(instructor / "tables/customers.parquet").column("tickets_opened").to_pylist()
    assert sum(opened) == pq.read_metadata(instructor / "tables/tickets.parquet").num_rows
    shutil.copyfile(instructor / "tables/tickets.parquet", public / "tables/tickets.parquet")
    report = validate_bundle(public, host)
    assert any(
        f.where == "tables/tickets.parquet" and "must be omitted from a public bundle" in f.message
        for f in report.errors
    ), report.errors


def test_the_validator_catches_labels_the_queue_did_not_produce(host: PluginHost, tmp_path: Path) -> None:
    bundle = generate(host, tmp_path / "b", mode="research_instructor")
    assert validate_bundle(bundle, host).ok
    rel = "tasks/sla_breached/train.parquet"
    table = pq.read_table(bundle / rel)
    flipped = pc.invert(table.column("sla_breached").slice(0, 5))
    labels = pa.concat_arrays([*flipped.chunks, *table.column("sla_breached").slice(5).chunks])
    pq.write_table(
        table.set_column(table.schema.get_field_index("sla_breached"), "sla_breached", labels), bundle / rel
    )
    rehash(bundle, rel)
    errors = validate_bundle(bundle, host).errors
    assert [f.check for f in errors] == ["support.label"], errors
    assert "5 label(s) disagree" in errors[0].message


def rehash(root: Path, rel: str) -> None:
    """Make the manifest agree with an edited file, as a careful cheater would."""
    manifest = json.loads((root / "manifest.json").read_text())
    data = (root / rel).read_bytes()
    manifest["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    task = manifest["tasks"]["sla_breached"]
    task[f"{Path(rel).stem}_sha256"] = manifest["files"][rel]["sha256"]
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))


def test_sla_attainment_is_measured_only_where_the_tickets_are(host: PluginHost, tmp_path: Path) -> None:
    from leadforge.validation import measure_realism

    instructor = generate(host, tmp_path / "i", mode="research_instructor")
    (metric,) = measure_realism(instructor, host)
    t = pq.read_table(instructor / "tables" / "tickets.parquet")
    assert metric.name == "sla_attainment" and metric.hidden
    assert 0.0 < metric.value <= 1.0 and t.num_rows > 0
    assert measure_realism(generate(host, tmp_path / "p", mode="student_public"), host) == []
