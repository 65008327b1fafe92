"""A student trying to cheat with the public bundle, and the validator catching planted leaks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from leadforge_leadscoring.graph import MOTIF_FAMILIES
from leadscoring_support import (
    LABEL,
    SMALL,
    errors,
    rehash,
    single,
    table,
    tampered,
    task_rows,
    utc_day,
    validate,
)
from quality_leadscoring import model_frame


def day_of(events: pd.DataFrame, ts: str, created: pd.Series) -> pd.Series:
    """Each row's lead day: its UTC calendar day minus its lead's creation day (the cut's rule)."""
    return (utc_day(events[ts]) - utc_day(events["lead_id"].map(created))).dt.days


def student_features(bundle: Path) -> pd.DataFrame:
    """Everything a student can aggregate per lead from the public tables."""
    leads = table(bundle, "leads").set_index("lead_id")
    created = leads["lead_created_at"]
    out = leads.drop(columns=["lead_created_at", "first_touch_channel"]).copy()
    out = out.join(
        table(bundle, "accounts").set_index("account_id").drop(columns=["company_name", "created_at"]),
        on="account_id",
    )
    out = out.join(
        table(bundle, "contacts")
        .set_index("contact_id")
        .drop(columns=["account_id", "created_at", "first_name", "last_name", "email"]),
        on="contact_id",
    )
    out["leads_of_account"] = out.groupby("account_id")["account_id"].transform("size")
    out["leads_of_contact"] = out.groupby("contact_id")["contact_id"].transform("size")
    for name, ts, cats, sums in (
        ("touches", "touch_timestamp", ["touch_type"], []),
        (
            "sessions",
            "session_timestamp",
            ["session_type"],
            ["page_views", "pricing_page_views", "demo_page_views", "session_duration_seconds"],
        ),
        ("sales_activities", "activity_timestamp", ["activity_type", "activity_outcome"], []),
    ):
        ev = table(bundle, name)
        ev["day"] = day_of(ev, ts, created)
        g = ev.groupby("lead_id")
        out[f"{name}_n"] = g.size()
        out[f"{name}_first"] = g["day"].min()
        out[f"{name}_last"] = g["day"].max()
        out[f"{name}_late"] = ev[ev["day"] >= 24].groupby("lead_id").size()
        for c in sums:
            out[f"{name}_{c}"] = g[c].sum()
        for c in cats:
            out = out.join(pd.crosstab(ev["lead_id"], ev[c]).add_prefix(f"{name}_{c}_"))
    opps = table(bundle, "opportunities").set_index("lead_id")
    out["opp_day"] = day_of(opps.reset_index(), "created_at", created).set_axis(opps.index)
    out["opp_acv"] = opps["estimated_acv"]
    count_cols = [c for c in out.columns if c.endswith(("_n", "_late")) or "_type_" in c or "_outcome_" in c]
    out[count_cols] = out[count_cols].fillna(0)
    return out.drop(columns=["account_id", "contact_id"])


def cv_auc(x: pd.DataFrame, y: np.ndarray, folds: int = 3) -> float:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    cats = [c for c in x.columns if x[c].dtype == object]
    model = make_pipeline(
        ColumnTransformer(
            [("c", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cats)],
            remainder="passthrough",
        ),
        HistGradientBoostingClassifier(random_state=0),
    )
    scores = []
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        model.fit(x.iloc[tr], y[tr])
        scores.append(roc_auc_score(y[te], model.predict_proba(x.iloc[te])[:, 1]))
    return float(np.mean(scores))


@pytest.fixture(scope="module")
def bundle(bundle_factory) -> Path:  # type: ignore[no-untyped-def]
    return bundle_factory(mode="student_public")


def test_no_join_path_reconstructs_a_label(bundle: Path) -> None:
    names = sorted(p.stem for p in (bundle / "tables").glob("*.parquet"))
    assert "customers" not in names and "subscriptions" not in names
    assert LABEL not in table(bundle, "leads") and "conversion_timestamp" not in table(bundle, "leads")
    opps = table(bundle, "opportunities")
    assert {"stage", "close_outcome", "closed_at"}.isdisjoint(opps.columns)
    y = task_rows(bundle)[LABEL]
    positives = set(y.index[y])
    # Any column of any public table, joined to its leads: no value singles out positives.
    features = student_features(bundle)
    for col in features.columns:
        values = features[col]
        if values.nunique() > 50:
            continue
        for value, leads in values.groupby(values).groups.items():
            if len(leads) >= 20:
                precision = len(positives & set(leads)) / len(leads)
                assert precision < 0.95, (col, value, precision)


#: Student aggregates that carry the documented relational lesson: sales-activity outcomes
#: follow the deal's merit (pre-cutoff rep notes the snapshot's activity count leaves out).
RELATIONAL = "sales_activities_activity_outcome_"
#: What that lesson may add over the snapshot: a few points of AUC, far below a leak (the
#: trap, a post-anchor count, adds 0.1-0.25).
RELATIONAL_CEILING = 0.08


def student_gains(bundle: Path) -> tuple[float, float, float]:
    """CV AUC of the snapshot, of every public aggregate but the activity outcomes, and of all."""
    rows = task_rows(bundle)
    y = rows[LABEL].astype(int).to_numpy()
    snap, _ = model_frame(rows.drop(columns=["split"]).reset_index(), LABEL)
    student = student_features(bundle).loc[rows.index].reset_index(drop=True)
    student, _ = model_frame(student.assign(**{LABEL: y}), LABEL)
    plain = student.drop(columns=[c for c in student.columns if c.startswith(RELATIONAL)])
    return cv_auc(snap, y), cv_auc(plain, y), cv_auc(student, y)


def test_public_tables_add_no_signal_beyond_the_snapshot(bundle: Path) -> None:
    """A gradient-boosted model on every per-lead aggregate of the public tables does not beat
    the same model on the public snapshot features by more than 0.02 AUC, except through the
    documented relational signal (activity outcomes), which adds a bounded few points."""
    auc_snapshot, auc_plain, auc_student = student_gains(bundle)
    assert auc_snapshot > 0.65
    assert auc_plain <= auc_snapshot + 0.02, (auc_plain, auc_snapshot)
    assert auc_student <= auc_snapshot + RELATIONAL_CEILING, (auc_student, auc_snapshot)


def test_ids_carry_no_signal(bundle: Path) -> None:
    """Id numbers must not encode the label through their order.

    Folds are grouped by account: leads of one account legitimately share its fit, so a model
    that memorises account numbers seen in training learns the account, not the id scheme.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    rows = task_rows(bundle).reset_index()
    x = pd.DataFrame(
        {c: rows[c].str.extract(r"(\d+)$")[0].astype(int) for c in ("lead_id", "account_id", "contact_id")}
    )
    y = rows[LABEL].astype(int).to_numpy()
    scores = []
    for tr, te in GroupKFold(5).split(x, y, groups=x["account_id"]):
        model = HistGradientBoostingClassifier(random_state=0).fit(x.iloc[tr], y[tr])
        scores.append(roc_auc_score(y[te], model.predict_proba(x.iloc[te])[:, 1]))
    assert float(np.mean(scores)) <= 0.55, scores


def test_public_files_do_not_name_the_motif(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["motif_family"] is None
    for path in bundle.rglob("*"):
        if path.suffix in (".json", ".md", ".csv"):
            text = path.read_text()
            assert not any(m in text for m in MOTIF_FAMILIES), path


# -- planted leaks ---------------------------------------------------------------------------


def test_untouched_public_bundle_passes(bundle: Path) -> None:
    assert errors(bundle) == []


def test_restored_label_column_is_caught(bundle: Path, tmp_path: Path) -> None:
    def edit(t: pa.Table, root: Path) -> pa.Table:
        labels = task_rows(root)[LABEL].reindex(t.column("lead_id").to_pylist())
        return t.append_column(LABEL, pa.array(labels.to_numpy(dtype=bool)))

    found = errors(tampered(bundle, tmp_path, "leads", edit))
    assert any(f.startswith(f"tables/leads.parquet:{LABEL}") for f in found), found


def test_future_event_row_is_caught(bundle: Path, tmp_path: Path) -> None:
    def edit(t: pa.Table, root: Path) -> pa.Table:
        leads = table(root, "leads").set_index("lead_id")["lead_created_at"]
        row = t.slice(0, 1).to_pylist()[0]
        late = pd.Timestamp(leads[row["lead_id"]], tz="UTC") + pd.Timedelta(days=45, hours=10)
        row.update(touch_id="touch_999999999", touch_timestamp=late.to_pydatetime())
        return pa.concat_tables([t, pa.Table.from_pylist([row], schema=t.schema)])

    found = errors(tampered(bundle, tmp_path, "touches", edit))
    assert any(f.startswith("tables/touches.parquet") and "after the public cutoff" in f for f in found), (
        found
    )


def test_restored_opportunity_stage_is_caught(bundle: Path, tmp_path: Path) -> None:
    """The public snapshot withholds the anchor stage; a table must not carry it back."""

    def edit(t: pa.Table, root: Path) -> pa.Table:
        return t.append_column("stage", pa.array(["negotiation"] * t.num_rows, type=pa.large_string()))

    found = errors(tampered(bundle, tmp_path, "opportunities", edit))
    assert any(f.startswith("tables/opportunities.parquet:stage") for f in found), found


@pytest.mark.parametrize("day", [10, 45])
def test_other_snapshot_days_are_cut_and_described_truthfully(bundle_factory, day: int) -> None:  # type: ignore[no-untyped-def]
    root = bundle_factory(mode="student_public", snapshot_day=day, **SMALL)
    assert validate(root).ok
    created = table(root, "leads").set_index("lead_id")["lead_created_at"]
    for name, ts in (("touches", "touch_timestamp"), ("sessions", "session_timestamp")):
        events = table(root, name)
        assert day_of(events, ts, created).max() <= day
    opps = table(root, "opportunities")
    assert day_of(opps, "created_at", created).max() <= day and "stage" not in opps
    card = (root / "dataset_card.md").read_text()
    assert f"on or before its lead's day {day}" in card and "No join of these tables reveals a label." in card


def test_rank_auc_matches_scikit_learn_with_ties() -> None:
    from leadforge_leadscoring.probes import rank_auc
    from sklearn.metrics import roc_auc_score

    g = np.random.default_rng(0)
    y = g.random(3000) < 0.3
    x = np.round(g.normal(size=3000) + 0.4 * y, 1)
    assert rank_auc(x, y) == pytest.approx(roc_auc_score(y, x), abs=1e-12)


def test_value_that_marks_only_positives_is_caught(bundle: Path, tmp_path: Path) -> None:
    """A touch type recorded for converting leads only (a CRM sync of the future) is a leak
    even when every row sits inside the snapshot window."""

    def edit(t: pa.Table, root: Path) -> pa.Table:
        y = task_rows(root)[LABEL]
        first = t.to_pandas().drop_duplicates("lead_id").set_index("lead_id")
        rows = first.loc[first.index.intersection(y[y].index)].reset_index()
        rows["touch_type"] = "contract_review"
        rows["touch_id"] = [f"touch_9{i:08d}" for i in range(len(rows))]
        return pa.concat_tables(
            [t, pa.Table.from_pandas(rows[t.column_names], schema=t.schema, preserve_index=False)]
        )

    found = errors(tampered(bundle, tmp_path, "touches", edit))
    assert any(
        f.startswith("tables/touches.parquet:touch_type") and "every one is a positive" in f for f in found
    ), found


def test_ids_ordered_by_label_are_caught(bundle: Path, tmp_path: Path) -> None:
    """Renumber the task rows so positives get the small lead numbers."""
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    rows = task_rows(copy).reset_index()
    order = rows.sort_values(LABEL, ascending=False, kind="stable")["lead_id"].to_numpy()
    renamed = dict(zip(order, sorted(order), strict=True))
    for s in ("train", "valid", "test"):
        single(copy, f"tasks/{LABEL}/{s}")
        rel = f"tasks/{LABEL}/{s}.parquet"
        t = pq.read_table(copy / rel)
        ids = pa.array(
            [renamed[v] for v in t.column("lead_id").to_pylist()], type=t.schema.field("lead_id").type
        )
        pq.write_table(t.set_column(t.column_names.index("lead_id"), "lead_id", ids), copy / rel)
        rehash(copy, rel)
    found = errors(copy)
    assert any(f.startswith(f"tasks/{LABEL}:lead_id") and "order of lead_id" in f for f in found), found


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(42, 47))
@pytest.mark.parametrize("tier", ["intro", "intermediate", "advanced"])
def test_public_tables_add_little_on_every_seed_and_tier(bundle_factory, seed: int, tier: str) -> None:  # type: ignore[no-untyped-def]
    """The same comparison on seeds 42-46 x tiers."""
    root = bundle_factory(seed=seed, mode="student_public", tier=tier)
    auc_snapshot, auc_plain, auc_student = student_gains(root)
    assert auc_plain <= auc_snapshot + 0.02, (auc_plain, auc_snapshot)
    assert auc_student <= auc_snapshot + RELATIONAL_CEILING, (auc_student, auc_snapshot)
    assert validate(root).ok


@pytest.mark.parametrize("what", ["first", "gaps"])
def test_event_ids_tracking_the_label_are_caught(bundle: Path, tmp_path: Path, what: str) -> None:
    """Renumber touches so positives' rows come first ("first"), or leave a hole after every
    positive lead's rows ("gaps"): ids stay unique and resolve, only their numbers leak."""

    def edit(t: pa.Table, root: Path) -> pa.Table:
        y = task_rows(root)[LABEL]
        frame = t.to_pandas()
        positive = frame["lead_id"].map(y).fillna(False).astype(bool).to_numpy()
        if what == "first":
            order = np.lexsort((np.arange(len(frame)), ~positive))
            number = np.empty(len(frame), dtype=np.int64)
            number[order] = np.arange(1, len(frame) + 1)
        else:
            number = np.arange(1, len(frame) + 1) + np.cumsum(positive)
        ids = pa.array([f"touch_{n:06d}" for n in number], type=t.schema.field("touch_id").type)
        return t.set_column(t.column_names.index("touch_id"), "touch_id", ids)

    found = errors(tampered(bundle, tmp_path, "touches", edit))
    assert any(
        f.startswith("tables/touches.parquet:touch_id") and f"the {what} of its touch_id numbers" in f
        for f in found
    ), found
