"""The support scheme's own bundle checks (added to core's envelope checks)."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow.compute as pc
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.validation import Finding, guarded

from leadforge_support.render import TASK_ID, TICKET_TRUTH


def run(bundle: BundleView, manifest: Manifest) -> list[Finding]:
    return guarded("support", _checks, bundle, manifest)


def _checks(bundle: BundleView, manifest: Manifest) -> Iterator[Finding]:
    customers = set(bundle.table("customers").column("customer_id").to_pylist())
    if bundle.exists("tables/tickets.parquet"):
        tickets = bundle.table("tickets")
        orphans = set(tickets.column("customer_id").to_pylist()) - customers
        if orphans:
            yield Finding(
                "support.fk",
                f"{len(orphans)} ticket customer(s) not in customers",
                where="tables/tickets.parquet:customer_id",
            )
        if manifest.exposure_mode == "student_public":
            yield Finding("support.exposure", "tickets must not be public", where="tables/tickets.parquet")
    for split in ("train", "valid", "test"):
        rel = f"tasks/{TASK_ID}/{split}.parquet"
        if not bundle.exists(rel):
            continue
        table = bundle.read_parquet(rel)
        for col in TICKET_TRUTH:
            if col in table.column_names:
                yield Finding("support.leak", "resolution column in a task split", where=f"{rel}:{col}")
        if (
            TASK_ID in table.column_names
            and table.num_rows
            and pc.sum(table.column(TASK_ID).cast("int64")).as_py() in (0, table.num_rows)
        ):
            yield Finding("support.label", "label is constant", where=f"{rel}:{TASK_ID}")
        unknown = set(table.column("customer_id").to_pylist()) - customers
        if unknown:
            yield Finding(
                "support.fk", f"{len(unknown)} customer id(s) not in customers", where=f"{rel}:customer_id"
            )
