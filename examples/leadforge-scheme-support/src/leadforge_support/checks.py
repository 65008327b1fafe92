"""The support scheme's own bundle checks: what only this scheme knows.

Core checks the envelope and the relational contract (keys, references, dtypes, time order,
public omissions and drops) for every scheme; these checks add the helpdesk's invariants: no
task split carries the queue's outcome, the label varies, and in an instructor bundle each
label is what the tickets table says the queue did.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.columns import day_offsets
from leadforge.validation import Finding, guarded

from leadforge_support.catalog import TASK_ID
from leadforge_support.contract import TICKET_TRUTH
from leadforge_support.params import PRIORITIES, SLA_DAYS
from leadforge_support.world import BASE_DATE

SPLITS = ("train", "valid", "test")
#: Stands in for "never resolved": later than any deadline.
_NEVER = "2999-12-31"


def run(bundle: BundleView, manifest: Manifest) -> list[Finding]:
    return guarded("support", _checks, bundle, manifest)


def _checks(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    breached = breached_by_ticket(bundle)
    for split in SPLITS:
        if not bundle.has_split(TASK_ID, split):
            continue
        files = bundle.split_files(TASK_ID, split)
        rel = files[0] if len(files) == 1 else f"tasks/{TASK_ID}/{split}"
        names = bundle.schema(files).names
        for col in TICKET_TRUTH:
            if col in names:
                yield Finding("support.leak", "resolution column in a task split", where=f"{rel}:{col}")
        if TASK_ID not in names:
            continue
        rows = bundle.split(TASK_ID, split, ["ticket_id", TASK_ID])
        labels = rows.column(TASK_ID)
        if rows.num_rows and pc.sum(labels.cast("int64")).as_py() in (0, rows.num_rows):
            yield Finding("support.label", "label is constant", where=f"{rel}:{TASK_ID}")
        if breached is not None:
            yield from _label_agrees(rel, rows, *breached)


def breached_by_ticket(bundle: BundleView) -> tuple[pa.Array, np.ndarray] | None:
    """Ticket ids and whether each breached its SLA, from the tickets table (instructor only)."""
    if not bundle.has_table("tickets"):
        return None
    t = bundle.table("tickets", ["ticket_id", "created_at", "priority", "resolved_at"])
    sla = np.array([SLA_DAYS[p] for p in PRIORITIES], dtype=np.int64)
    rank = pc.index_in(t.column("priority"), value_set=pa.array(PRIORITIES, type=pa.large_string()))
    known = np.asarray(pc.is_valid(rank).to_numpy(zero_copy_only=False), dtype=bool)
    deadline = (
        day_offsets(t.column("created_at"), BASE_DATE)
        + sla[np.asarray(pc.fill_null(rank, 0).to_numpy(zero_copy_only=False), dtype=np.int64)]
    )
    resolved = day_offsets(pc.fill_null(t.column("resolved_at"), _NEVER), BASE_DATE)
    ids = t.column("ticket_id").combine_chunks()
    return ids.filter(pa.array(known)), (resolved > deadline)[known]


def _label_agrees(rel: str, rows: pa.Table, ids: pa.Array, breached: np.ndarray) -> Iterator[Finding]:
    idx = pc.index_in(rows.column("ticket_id"), value_set=ids)
    found = np.asarray(pc.is_valid(idx).to_numpy(zero_copy_only=False), dtype=bool)
    pos = np.asarray(pc.fill_null(idx, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    labels = np.asarray(pc.fill_null(rows.column(TASK_ID), False).to_numpy(zero_copy_only=False), dtype=bool)
    wrong = int(np.count_nonzero(found & (labels != breached[pos])))
    if wrong:
        yield Finding(
            "support.label",
            f"{wrong} label(s) disagree with what the tickets table says the queue did",
            where=f"{rel}:{TASK_ID}",
        )
