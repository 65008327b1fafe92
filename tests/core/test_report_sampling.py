"""The report reads big tables by sample and shares columns within one run: a sample is a fixed
size, the same every time, spread over the whole table and says so; the run's cache hands back
exactly what a fresh read gives; the realism metrics the report shows are the ones
``measure_realism`` gives."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from leadforge.bundle.reader import BundleView, Manifest
from leadforge.report import read
from leadforge.report.read import CachedView, Reader, days, sample_note, sampled_from
from report_support import RECIPES, report_host, small_bundle

PARTS, GROUPS, GROUP_ROWS = 8, 4, 500
TOTAL = PARTS * GROUPS * GROUP_ROWS


@pytest.fixture(scope="module")
def parted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle-shaped folder with one table in parts of several row groups: ``v`` numbers the rows."""
    root = tmp_path_factory.mktemp("parted")
    folder = root / "tables" / "events"
    folder.mkdir(parents=True)
    for p in range(PARTS):
        v = np.arange(p * GROUPS * GROUP_ROWS, (p + 1) * GROUPS * GROUP_ROWS, dtype=np.int64)
        table = pa.table({"v": v, "s": pa.array([f"row-{i}" for i in v], pa.large_string())})
        pq.write_table(table, folder / f"part-{p:05d}.parquet", row_group_size=GROUP_ROWS)
    return root


def _reader(root: Path, cached: bool = False) -> Reader:
    view = CachedView(root) if cached else BundleView(root)
    return Reader(view, cast(Manifest, None))


def test_a_sample_is_even_fixed_and_labelled(parted: Path) -> None:
    limit = 1_700
    got = _reader(parted).read("events", ["v", "s"], limit=limit)
    assert got is not None and got.num_rows == limit
    assert sampled_from(got) == TOTAL
    assert sample_note(got) == f"An even sample of {limit:,} of {TOTAL:,} rows."
    v = got.column("v").to_numpy()
    assert np.all(np.diff(v) > 0), "rows keep table order and are not repeated"
    assert got.column("s").to_pylist() == [f"row-{i}" for i in v], "columns stay aligned"
    # whole row groups spread over the table: the first and the last quarter are both represented
    assert v.min() < TOTAL // 4 and v.max() > 3 * TOTAL // 4
    groups = np.unique(v // GROUP_ROWS)
    assert 1 < groups.size < PARTS * GROUPS, "reads some row groups, not all"
    again = _reader(parted).read("events", ["v", "s"], limit=limit)
    assert again is not None and again.equals(got)


def test_a_table_under_the_limit_is_read_whole_and_says_nothing(parted: Path) -> None:
    got = _reader(parted).read("events", ["v"], limit=TOTAL)
    assert got is not None and got.num_rows == TOTAL and sampled_from(got) is None
    assert sample_note(got) == ""
    assert got.column("v").to_pylist() == list(range(TOTAL))


def test_the_cache_gives_what_a_fresh_read_gives_and_reads_once(
    parted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain, cached = _reader(parted), _reader(parted, cached=True)
    for limit in (None, 1_234):
        fresh = plain.read("events", ["v", "s"], limit=limit)
        first = cached.read("events", ["s", "v"], limit=limit)
        assert fresh is not None and first is not None
        assert first.select(["v", "s"]).equals(fresh)
        assert sampled_from(first) == sampled_from(fresh)
    calls: list[list[str]] = []
    sample = Reader._sample

    def counting(
        self: Reader, files: tuple[str, ...], columns: list[str], limit: int, total: int
    ) -> pa.Table:
        calls.append(columns)
        return sample(self, files, columns, limit, total)

    monkeypatch.setattr(Reader, "_sample", counting)
    again = cached.read("events", ["v"], limit=1_234)
    assert again is not None and calls == [], "a kept column is not read again"
    cached.read("events", ["v"], limit=999)
    assert calls == [["v"]], "another sample size is another read"


def test_the_cache_is_bounded(parted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    view = CachedView(parted)
    files = view.table_files("events")
    one = view.read_parquet(files, ["v"]).column("v").nbytes
    monkeypatch.setattr(read, "CACHE_BYTES", 4 * one + 1)
    view.read_parquet(files, ["v", "s"])
    assert view._kept <= read.CACHE_BYTES
    assert ((tuple(files), "s", None) in view._columns) is (
        view.read_parquet(files, ["s"]).column("s").nbytes <= read.CACHE_BYTES // 4
    )


def test_days_of_typed_columns_match_the_projection() -> None:
    import datetime as dt

    from leadforge.bundle.projection import day_numbers

    values = [
        pa.array(
            [dt.datetime(2024, 1, 2, 23, 59), None, dt.datetime(1969, 12, 31, 12)], pa.timestamp("us", "UTC")
        ),
        pa.array([dt.datetime(2024, 3, 1, 0, 0, 1)], pa.timestamp("ms")),
        pa.array([dt.date(2024, 1, 2), None], pa.date32()),
        pa.array(["2024-01-02", None]),
    ]
    for v in values:
        assert days(v).tolist() == np.asarray(day_numbers(v)).tolist()


@pytest.mark.parametrize("recipe", RECIPES)
def test_the_report_shows_the_metrics_measure_realism_gives(tmp_path: Path, recipe: str) -> None:
    for package in ("leadforge_leadscoring", "leadforge_lifecycle", "leadforge_recipes"):
        pytest.importorskip(package, reason="needs the first-party schemes and recipes")
    from leadforge.report.core_sections import measure_realism
    from leadforge.validation import measure_realism as measured

    host = report_host()
    root = small_bundle(host, tmp_path, recipe, "research_instructor")
    manifest = Manifest.load(root)
    shown = measure_realism(Reader(CachedView(root, manifest), manifest), host)
    assert shown and [m.to_json() for m in shown] == [m.to_json() for m in measured(root, host)]
