"""Writing bundles through the toy scheme: layout, hashes, exposure, atomicity, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from core_support import PINNED, tree_hashes
from leadforge.api import Generator
from leadforge.bundle import SCHEMA_VERSION
from leadforge.errors import GenerationError, PluginError, UsageError
from leadforge.plugins import PluginHost


def save(host: PluginHost, out: Path, **kw) -> Path:  # type: ignore[no-untyped-def]
    params = {"exposure_mode": "research_instructor", **kw}
    return (
        Generator.from_recipe("toy_v1", host=host, **params).generate().save(out, generation_timestamp=PINNED)
    )


def manifest(root: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((root / "manifest.json").read_text())


def test_layout_manifest_and_every_file_hashed(toy_host: PluginHost, tmp_path: Path) -> None:
    root = save(toy_host, tmp_path / "b")
    m = manifest(root)
    assert list(m)[:9] == [
        "bundle_schema_version",
        "package_version",
        "generation_scheme",
        "recipe_id",
        "seed",
        "generation_timestamp",
        "exposure_mode",
        "difficulty",
        "n_rows",
    ]
    assert m["bundle_schema_version"] == SCHEMA_VERSION == "9" and m["generation_scheme"] == "toy"
    assert m["threshold"] is not None and m["toy_extra"] is True
    assert list(m)[-6:] == [
        "hidden_fields",
        "relational_contract",
        "config_digest",
        "generation_params",
        "plugins",
        "files",
    ]
    assert m["generation_params"]["n_rows"] == 150
    assert m["hidden_fields"] == ["threshold"] and list(m["relational_contract"]) == ["rows", "events"]
    assert m["plugins"] == [{"distribution": "leadforge-scheme-toy", "version": "", "plugin": "toy"}]
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(m["files"]) == on_disk
    hashes = tree_hashes(root)
    for rel, entry in m["files"].items():
        assert entry["sha256"] == hashes[rel] and entry["size"] == (root / rel).stat().st_size
    assert "metadata/world_spec.json" in on_disk and "metadata/truth.json" in on_disk
    assert m["tables"]["rows"]["row_count"] == 150
    assert sum(m["tasks"]["toy_task"][f"{s}_rows"] for s in ("train", "valid", "test")) == 150
    assert (root / "manifest.json").read_bytes()[-1:] == b"}"


def test_tables_stream_as_row_groups_with_pandas_dtypes(toy_host: PluginHost, tmp_path: Path) -> None:
    root = save(toy_host, tmp_path / "b", n_rows=250)
    meta = pq.ParquetFile(root / "tables/rows.parquet").metadata
    assert meta.num_row_groups == 3 and meta.num_rows == 250
    df = pd.read_parquet(root / "tables/rows.parquet")
    assert [str(t) for t in df.dtypes] == ["string", "string", "Float64", "Int64", "string", "Float64"]
    assert df.row_id.iloc[0] == "row_000001" and df.row_id.is_unique
    events = pd.read_parquet(root / "tables/events.parquet")
    assert [str(t) for t in events.dtypes] == ["string", "string", "string", "Float64"]


def test_shard_tables_are_numbered_per_shard_and_reference_their_rows(
    toy_host: PluginHost, tmp_path: Path
) -> None:
    from leadforge.bundle import ID_BLOCK
    from leadforge.columns import parse_id_numbers

    for mode in ("research_instructor", "student_public"):
        root = save(toy_host, tmp_path / mode, n_rows=250, exposure_mode=mode)
        events = pq.ParquetFile(root / "tables/events.parquet")
        rows = pq.read_table(root / "tables/rows.parquet")
        seen = set(rows.column("row_id").to_pylist())
        for k in range(events.metadata.num_row_groups):
            group = events.read_row_group(k)
            numbers = parse_id_numbers(group.column("event_id"), "evt")
            assert numbers.tolist() == list(range(k * ID_BLOCK + 1, k * ID_BLOCK + group.num_rows + 1))
            assert set(group.column("row_id").to_pylist()) <= seen


def test_public_events_stop_at_the_cutoff_and_rows_lose_the_secret(
    toy_host: PluginHost, tmp_path: Path
) -> None:
    import datetime as dt

    import toyplugin

    full = save(toy_host, tmp_path / "i")
    public = save(toy_host, tmp_path / "p", exposure_mode="student_public")
    day = {
        r["row_id"]: dt.date.fromisoformat(r["day"])
        for r in pq.read_table(full / "tables/rows.parquet", columns=["row_id", "day"]).to_pylist()
    }
    window = dt.timedelta(days=toyplugin.PUBLIC_EVENT_DAYS)

    def kept(root: Path) -> list[tuple[str, str, float]]:
        rows = pq.read_table(root / "tables/events.parquet").to_pylist()
        return [(e["row_id"], e["at"], e["amount"]) for e in rows]

    expected = [e for e in kept(full) if dt.date.fromisoformat(e[1]) <= day[e[0]] + window]
    assert 0 < len(expected) < len(kept(full))
    assert kept(public) == expected
    assert "secret" in pq.read_schema(full / "tables/rows.parquet").names
    assert "secret" not in pq.read_schema(public / "tables/rows.parquet").names


def test_byte_identical_with_pinned_timestamp_and_seed_sensitive(
    toy_host: PluginHost, tmp_path: Path
) -> None:
    a = tree_hashes(save(toy_host, tmp_path / "a"))
    b = tree_hashes(save(toy_host, tmp_path / "b"))
    c = tree_hashes(save(toy_host, tmp_path / "c", seed=7))
    assert a == b
    assert a["tables/rows.parquet"] != c["tables/rows.parquet"]


def test_source_date_epoch_pins_timestamp(
    toy_host: PluginHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    gen = Generator.from_recipe("toy_v1", host=toy_host)
    root = gen.generate().save(tmp_path / "b")
    assert manifest(root)["generation_timestamp"] == "1970-01-02T00:00:00+00:00"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(UsageError, match="SOURCE_DATE_EPOCH must be a non-negative integer"):
        gen.generate().save(tmp_path / "c")


def test_public_bundle_redacts_and_hides(toy_host: PluginHost, tmp_path: Path) -> None:
    root = save(toy_host, tmp_path / "p", exposure_mode="student_public")
    m = manifest(root)
    assert not (root / "metadata").exists()
    assert m["redacted_columns"] == ["hint"] and m["threshold"] is None
    assert m["structural_redactions"] == {"columns": {"rows": ["secret"]}, "omitted_tables": []}
    assert "secret" not in pq.read_schema(root / "tables/rows.parquet").names
    for split in ("train", "valid", "test"):
        assert "hint" not in pq.read_schema(root / f"tasks/toy_task/{split}.parquet").names
    assert "hint" not in (root / "feature_dictionary.csv").read_text()


def test_splits_are_stratified_disjoint_and_cover_rows(toy_host: PluginHost, tmp_path: Path) -> None:
    root = save(toy_host, tmp_path / "b", n_rows=2000, chunk_rows=2000)
    parts = {s: pd.read_parquet(root / f"tasks/toy_task/{s}.parquet") for s in ("train", "valid", "test")}
    ids = [set(df.row_id) for df in parts.values()]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert len(ids[0] | ids[1] | ids[2]) == 2000
    assert abs(len(parts["train"]) / 2000 - 0.7) < 0.002
    rates = [df.positive.mean() for df in parts.values()]
    assert max(rates) - min(rates) < 0.01
    tm = json.loads((root / "tasks/toy_task/task_manifest.json").read_text())
    assert (
        tm["stratified"] is True
        and tm["key_column"] == "row_id"
        and tm["split"] == {"train": 0.7, "valid": 0.15, "test": 0.15}
    )


def test_failed_run_leaves_nothing_and_keeps_old_bundle(
    toy_host: PluginHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import toyplugin

    out = tmp_path / "b"
    save(toy_host, out)
    before = tree_hashes(out)

    def explode(*a: object, **k: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(toyplugin, "catalog", explode)
    with pytest.raises(
        PluginError, match="plugin 'toy' .* failed in write_bundle: RuntimeError: disk on fire"
    ):
        save(toy_host, out)
    assert tree_hashes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]
    with pytest.raises(PluginError):
        save(toy_host, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()


def test_reused_out_keeps_no_stale_files(toy_host: PluginHost, tmp_path: Path) -> None:
    out = tmp_path / "b"
    save(toy_host, out)
    save(toy_host, out, exposure_mode="student_public")
    assert not (out / "metadata").exists()
    assert set(manifest(out)["files"]) == {
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
    } - {"manifest.json"}


def test_out_that_is_a_file_or_foreign_folder_is_refused(toy_host: PluginHost, tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(UsageError, match="exists and is not a directory"):
        save(toy_host, f)
    d = tmp_path / "mine"
    d.mkdir()
    (d / "notes.txt").write_text("precious")
    with pytest.raises(UsageError, match="not a leadforge bundle; refusing to replace it"):
        save(toy_host, d)
    assert (d / "notes.txt").read_text() == "precious"


def test_writer_refuses_hidden_truth_in_public_mode(
    toy_host: PluginHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import toyplugin
    from leadforge.errors import ExposureError

    original = toyplugin.write_bundle

    def sneaky(world, writer):  # type: ignore[no-untyped-def]
        written = original(world, writer)
        writer.write_metadata_json("truth.json", {"threshold": 1})
        return written

    host = PluginHost.from_plugins([("toy", _patched(toyplugin, write_bundle=sneaky))])
    with pytest.raises(
        ExposureError, match="refusing to write hidden truth metadata/truth.json into a student_public bundle"
    ):
        save(host, tmp_path / "p", exposure_mode="student_public")
    assert not (tmp_path / "p").exists()


def test_scheme_that_forgets_the_card_fails_cleanly(tmp_path: Path) -> None:
    import toyplugin

    def no_card(world, writer):  # type: ignore[no-untyped-def]
        writer.declare_features(toyplugin.catalog("positive"))
        return toyplugin.ToyStats(0, 0)

    host = PluginHost.from_plugins([("toy", _patched(toyplugin, write_bundle=no_card))])
    with pytest.raises(GenerationError, match="did not write a dataset card"):
        save(host, tmp_path / "b")
    assert not (tmp_path / "b").exists()


def _patched(module: object, **hooks: object) -> object:
    """A plugin object with the module's hooks, some replaced."""
    from leadforge import hookimpl

    ns: dict[str, object] = {"LEADFORGE_PLUGIN_API": (2, 2)}
    for name in (
        "register_schemes",
        "register_recipes",
        "generate_options",
        "build_world",
        "write_bundle",
        "write_metadata",
        "validate",
    ):
        fn = hooks.get(name, getattr(module, name))
        ns[name] = staticmethod(hookimpl(fn))  # type: ignore[arg-type]
    return type("Patched", (), ns)()


def test_reader_reads_only_requested_columns_and_names_corrupt_files(
    toy_host: PluginHost, tmp_path: Path
) -> None:
    from leadforge.bundle.reader import BundleView
    from leadforge.errors import BundleError

    root = save(toy_host, tmp_path / "b")
    view = BundleView(root)
    rel = next(f"tables/{p.name}" for p in sorted((root / "tables").glob("*.parquet")))
    full = pq.read_table(root / rel)
    first = full.column_names[0]
    part = view.read_parquet(rel, [first, "no_such_column"])
    assert part.column_names == [first]
    assert part.column(first).equals(full.column(first))
    assert view.read_parquet(rel).equals(full, check_metadata=False)
    assert view.schema(rel).names == full.column_names
    (root / rel).write_bytes(b"not parquet")
    with pytest.raises(BundleError, match=rel):
        BundleView(root).read_parquet(rel)
