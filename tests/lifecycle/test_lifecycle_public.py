"""student_public bundles, attacked the way a cheating student would.

The student has every public table and the task splits. They try to read the future from the
tables (rows after the cutoff, final payment outcomes, churn columns), to join their way to a
label, and finally to out-predict the snapshot features with aggregates built from the tables.
"""

from __future__ import annotations

from pathlib import Path

from lifecycle_support import CALENDAR_TASKS, TARGETS, days_from, manifest, quality, table, task_rows

OBS = "2025-01-27"
DATED = {
    "subscription_events": "event_timestamp",
    "health_signals": "period_start",
    "invoices": "invoice_date",
}
OUTCOMES = {"subscription_status", "current_mrr", "renewal_count", "expansion_count", "subscription_end_at",
            "churn_at", "churn_reason", "current_plan", "downgrade_count"}  # fmt: skip


def test_no_public_row_is_dated_after_the_cutoff(default_public: Path) -> None:
    for name, col in DATED.items():
        assert days_from(table(default_public, name)[col], OBS).max() <= 0, name


def test_public_shape(default_public: Path) -> None:
    m = manifest(default_public)
    assert m["relational_snapshot_safe"] is True and m["motif_family"] is None
    assert m["structural_redactions"] == {
        "columns": {"subscriptions": sorted(OUTCOMES)},
        "omitted_tables": [],
    }
    assert list(m["tasks"]) == list(CALENDAR_TASKS)
    assert not (default_public / "metadata").exists()
    for name in m["tables"]:
        columns = set(table(default_public, name).columns)
        assert not columns & (set(TARGETS) | OUTCOMES), name
    card = (default_public / "dataset_card.md").read_text()
    assert card.startswith("# B2B SaaS pLTV Dataset — Intermediate Tier\n") and "early_" not in card


def test_public_invoices_show_their_status_as_of_the_cutoff(
    default_public: Path, default_instructor: Path
) -> None:
    # public ids are numbered after the cut, so an invoice is matched by its customer and date
    public = table(default_public, "invoices").set_index(["customer_id", "invoice_date"], drop=False)
    full = table(default_instructor, "invoices").set_index(["customer_id", "invoice_date"], drop=False)
    assert full.index.is_unique and public.index.isin(full.index).all()
    final = full.loc[public.index]
    changed = public.payment_status != final.payment_status
    assert changed.sum() > 0  # outcomes decided after the cutoff exist in this world...
    assert (public.payment_status[changed] == "failed").all()  # ...and read "failed" publicly
    events = table(default_instructor, "subscription_events")
    events = events[events.event_type.isin(["payment_recovered", "churn"])]
    resolved_late = events[days_from(events.event_timestamp, OBS) > 0].customer_id
    assert public.customer_id[changed].isin(resolved_late).all()
    settled = ~changed & public.payment_status.isin(["recovered", "written_off"])
    resolved_early = events[days_from(events.event_timestamp, OBS) <= 0].customer_id
    assert public.customer_id[settled].isin(resolved_early).all()


def test_no_join_reconstructs_a_label(default_public: Path) -> None:
    """Everything a join could use stops at the cutoff, so labels cannot be rebuilt from tables."""
    churn = task_rows(default_public, "churned_within_180d").set_index("customer_id").churned_within_180d
    revenue = task_rows(default_public, "pltv_revenue_90d").set_index("customer_id").ltv_revenue_90d
    events = table(default_public, "subscription_events")
    invoices = table(default_public, "invoices")
    assert churn.sum() > 0 and (revenue > 0).all() is not None
    # the churn events a student can see all precede the cutoff, i.e. belong to non-cohort customers
    assert not events[events.event_type == "churn"].customer_id.isin(churn.index).any()
    # and every cohort member's public invoices sum to revenue already earned, none of the window
    later = invoices[days_from(invoices.invoice_date, OBS) > 0]
    assert later.empty
    # payment trouble visible at the cutoff is shared by churners and stayers alike
    failed = invoices[invoices.payment_status == "failed"].groupby("customer_id").size()
    flag = churn.index.isin(failed.index)
    assert 0 < churn[flag].mean() < 1 or flag.sum() == 0


def test_table_aggregates_beat_the_snapshot_by_at_most_002(probe_public: Path) -> None:
    """In an undistorted public bundle, the richest join a student can build from the tables adds
    no more than 0.02 ROC-AUC (churn) or Spearman (365-day revenue) over the honest snapshot
    features (traps excluded): the tables carry nothing the snapshot does not."""
    scores = quality.leak_probe(probe_public)
    assert scores["auc_snapshot"] > 0.7 and scores["rho_snapshot"] > 0.8  # the probe has signal to find
    assert scores["auc_tables"] <= scores["auc_snapshot"] + 0.02, scores
    assert scores["rho_tables"] <= scores["rho_snapshot"] + 0.02, scores
