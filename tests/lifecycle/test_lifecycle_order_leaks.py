"""Public bundles leak nothing through ids or row order.

A student who cannot read a label may still try its side channels: the ids of the rows a
public bundle publishes (a row removed after the cutoff would leave a gap, and churners have
fewer rows after it), and the order of the rows in a split file. Measured on a large
multi-shard public bundle, every such probe scores ROC-AUC ≈ 0.5 against the churn label.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifecycle_support import CALENDAR_TASKS, SPLITS, split, table, task_rows
from sklearn.metrics import roc_auc_score

ID_TABLES = {"subscription_events": "event_id", "health_signals": "signal_id", "invoices": "invoice_id"}
ID_TOLERANCE = 0.03
ORDER_TOLERANCE = 0.05
HEAD_ROWS = 200


@pytest.fixture(scope="module")
def large_public(make_bundle) -> Path:  # type: ignore[no-untyped-def]
    """20 000 customers in four shards: enough rows for a tight AUC, and shard boundaries."""
    return make_bundle("student_public", n_customers=20_000, shard_size=5_000)


@pytest.fixture(scope="module")
def churn(large_public: Path) -> pd.Series:
    rows = task_rows(large_public, "churned_within_180d").set_index("customer_id").churned_within_180d
    assert 0.05 < rows.mean() < 0.5  # both classes are well represented
    return rows.astype(bool)


def id_probes(root: Path, name: str, key: str) -> pd.DataFrame:
    """Per customer, what its public ids could betray: the number of its last row's id, the gap
    from it to the next id of the table (where a removed row would show) and the widest gap
    between two of its own consecutive ids."""
    t = table(root, name)[[key, "customer_id"]]
    t = t.assign(n=t[key].str.split("_").str[1].astype("int64")).sort_values("n")
    t["gap_after"] = t.n.shift(-1) - t.n
    t["gap_within"] = t.groupby("customer_id").n.diff()
    last = t.drop_duplicates("customer_id", keep="last").set_index("customer_id")
    widest = t.groupby("customer_id").gap_within.max().fillna(1)
    return pd.DataFrame({"last_id": last.n, "gap_after_last": last.gap_after, "widest_gap": widest})


@pytest.mark.parametrize("name", list(ID_TABLES))
def test_public_ids_carry_no_churn_signal(large_public: Path, churn: pd.Series, name: str) -> None:
    probes = id_probes(large_public, name, ID_TABLES[name])
    for feature in probes.columns:
        x = probes[feature].dropna()
        x = x[x.index.isin(churn.index)]
        y = churn.loc[x.index]
        assert len(x) > 2000 and y.any() and not y.all(), (name, feature)
        auc = roc_auc_score(y, x)
        assert abs(auc - 0.5) <= ID_TOLERANCE, (name, feature, auc)
    assert (probes.widest_gap == 1).all(), name  # a customer's rows are numbered consecutively


def longest_run(values: np.ndarray) -> int:
    change = np.flatnonzero(values[1:] != values[:-1])
    edges = np.concatenate([[-1], change, [values.size - 1]])
    return int(np.diff(edges).max()) if values.size else 0


def run_bound(share: float, rows: int) -> int:
    """Longest single-class run a random order of ``rows`` exceeds with probability < 0.001."""
    return math.ceil(math.log(1e-3 / rows) / math.log(share))


@pytest.mark.parametrize("task", CALENDAR_TASKS)
def test_split_row_order_carries_no_label(large_public: Path, task: str) -> None:
    for name in SPLITS:
        frame = split(large_public, task, name)
        label = frame.iloc[:, -1]
        y = (label if label.dtype == "boolean" else label > label.median()).astype(bool).to_numpy()
        assert y.any() and not y.all(), (task, name)
        auc = roc_auc_score(y, np.arange(y.size))
        assert abs(auc - 0.5) <= ORDER_TOLERANCE, (task, name, auc)
        if name != "train":
            head = y[:HEAD_ROWS]
            share = max(y.mean(), 1 - y.mean())
            assert head.any() and not head.all(), (task, name)
            assert longest_run(head) <= run_bound(share, HEAD_ROWS), (task, name, longest_run(head))
