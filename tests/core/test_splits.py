from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from leadforge.bundle.splits import SplitFractions, assign_splits, hash_strings
from leadforge.columns import id_range


def test_hash_strings_is_stable_and_distinguishes_keys() -> None:
    ids = id_range("lead", 1, 50_000)
    h = hash_strings(ids)
    assert np.unique(h).size == 50_000
    assert np.array_equal(h, hash_strings(pa.chunked_array([ids.slice(0, 10), ids.slice(10)])))
    assert np.array_equal(
        hash_strings(pa.array(["a", "", "bb"]))[[0, 2]], hash_strings(pa.array(["a", "bb"]))
    )


def test_assignment_depends_only_on_key_and_salt() -> None:
    ids = id_range("x", 1, 1000)
    labels = np.arange(1000) % 5 == 0
    split = assign_splits(ids, 7, SplitFractions(), labels)
    reordered = pa.array(ids.to_pylist()[::-1])
    assert np.array_equal(split, assign_splits(reordered, 7, SplitFractions(), labels[::-1])[::-1])
    for cls in (True, False):
        members = split[labels == cls]
        assert (members == 0).sum() == int(members.size * 0.7)
        assert (members == 1).sum() == int(members.size * 0.15)
    assert not np.array_equal(split, assign_splits(ids, 8, SplitFractions(), labels))


def test_unranked_assignment_places_each_key_by_its_hash_alone() -> None:
    ids = id_range("x", 1, 20_000)
    split = assign_splits(ids, 7, SplitFractions(), ranked=False)
    assert np.array_equal(
        split[5000:6000], assign_splits(ids.slice(5000, 1000), 7, SplitFractions(), ranked=False)
    )
    shares = np.bincount(split, minlength=3) / split.size
    assert np.allclose(shares, [0.7, 0.15, 0.15], atol=0.01)
    ranked = assign_splits(ids.slice(0, 1000), 7, SplitFractions())
    assert (ranked == 0).sum() == 700


@pytest.mark.parametrize(
    "bad", [(0.7, 0.2, 0.2), (1.2, -0.1, -0.1), (float("nan"), 0.5, 0.5), (True, 0.0, 0.0)]
)
def test_bad_fractions_are_rejected(bad: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError):
        SplitFractions(*bad)
