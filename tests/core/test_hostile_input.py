"""Hostile input never hurts: what a user owns is never lost, bundles are untrusted input.

Each case is something a careless or hostile user did; each must end in one clear line and a
non-zero exit, with nothing read outside the bundle and nothing of the user's replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import toyplugin
from click.testing import Result
from leadforge.api import Generator
from leadforge.bundle import staging
from leadforge.errors import UsageError
from leadforge.plugins import PluginHost, _Candidate

Run = Callable[..., Result]


def one_line(result: Result, code: int, text: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert text in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def generate(cli: Run, out: Path | str, *extra: str) -> Result:
    return cli("generate", "--recipe", "toy_v1", "--seed", "3", "--out", str(out), "-q", *extra)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_folder_with_someone_elses_manifest_is_never_replaced(cli: Run, tmp_path: Path) -> None:
    ext = tmp_path / "ext"
    (ext / "icons").mkdir(parents=True)
    (ext / "manifest.json").write_text('{"manifest_version": 3}')
    (ext / "a.js").write_text("js")
    before = tree(ext)
    r = generate(cli, ext)
    one_line(r, 2, "is a non-empty directory that is not a leadforge bundle")
    assert "Generating" not in r.stdout
    assert tree(ext) == before and (ext / "icons").is_dir()


def test_a_bundle_with_a_users_file_added_is_not_replaced(cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "b"
    assert generate(cli, out).exit_code == 0
    (out / "notes.txt").write_text("mine")
    one_line(generate(cli, out), 2, "not a leadforge bundle")
    assert (out / "notes.txt").read_text() == "mine"


def test_a_bundle_is_replaced_whole_and_nothing_is_left_beside_it(cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "b"
    assert generate(cli, out).exit_code == 0
    assert generate(cli, out, "--seed", "4").exit_code == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_a_run_killed_between_the_two_renames_is_repaired_by_the_next(cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "b"
    assert generate(cli, out).exit_code == 0
    tag = staging._tag(out)
    orphan = tmp_path / f"{tag}.old-deadbeef"
    out.rename(orphan)
    stale = tmp_path / f"{tag}.partial-999999999-cafe0000"
    (stale / "tables").mkdir(parents=True)
    staging.recover(out)
    assert (out / "manifest.json").is_file() and not orphan.exists() and not stale.exists()


def test_exchange_swaps_without_a_moment_with_no_bundle(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("new")
    (b / "x").write_text("old")
    if not staging._exchange(a, b):
        pytest.skip("this OS has no atomic exchange rename; the two-rename path is used")
    assert (b / "x").read_text() == "new" and (a / "x").read_text() == "old"


@pytest.mark.parametrize("out", [".", ""])
def test_out_may_not_be_the_working_directory(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str
) -> None:
    monkeypatch.chdir(tmp_path)
    r = generate(cli, out)
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert "--out" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_long_valid_name_works_and_a_too_long_one_is_refused_up_front(cli: Run, tmp_path: Path) -> None:
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    assert generate(cli, tmp_path / ("b" * limit)).exit_code == 0
    r = generate(cli, tmp_path / ("c" * (limit + 1)))
    one_line(r, 2, "longer than the filesystem allows")
    assert "Generating" not in r.stdout


@pytest.mark.parametrize("where", ["/proc/leadforge-out", "/sys/leadforge-out"])
def test_an_unwritable_out_is_a_usage_error_before_simulating(cli: Run, where: str) -> None:
    if not Path(where).parent.is_dir():
        pytest.skip(f"{Path(where).parent} does not exist here")
    r = generate(cli, where)
    one_line(r, 2, "--out")
    assert "Generating" not in r.stdout


def test_a_bad_source_date_epoch_is_refused_before_simulating(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    r = generate(cli, tmp_path / "b")
    one_line(r, 2, "SOURCE_DATE_EPOCH")
    assert "Generating" not in r.stdout and not (tmp_path / "b").exists()


def test_a_full_disk_is_one_line_and_leaves_the_old_bundle(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "b"
    assert generate(cli, out).exit_code == 0
    before = tree(out)
    from leadforge.bundle import files

    def full(self: object, b: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.HashingFile, "write", full)
    r = generate(cli, out, "--seed", "9")
    one_line(r, 1, "No space left on device")
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


# -- bundles are untrusted input ------------------------------------------------------------


@pytest.fixture
def bundle(cli: Run, tmp_path: Path) -> Path:
    out = tmp_path / "bundle"
    assert generate(cli, out, "--mode", "research_instructor").exit_code == 0
    return out


def edit_manifest(root: Path, change: Callable[[dict[str, object]], None]) -> None:
    m = json.loads((root / "manifest.json").read_text())
    change(m)
    (root / "manifest.json").write_text(json.dumps(m))


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.txt", "tables/../../outside.txt"])
def test_file_entries_outside_the_bundle_are_findings_not_reads(
    cli: Run, bundle: Path, tmp_path: Path, path: str
) -> None:
    (tmp_path / "outside.txt").write_text("secret")

    def add(m: dict[str, object]) -> None:
        files = m["files"]
        assert isinstance(files, dict)
        files[path] = {"sha256": "0" * 64, "size": 6}

    edit_manifest(bundle, add)
    r = cli("validate", str(bundle), "--json")
    assert r.exit_code == 1
    errors = json.loads(r.stdout)["errors"]
    assert any(e["where"] == path and "not a path inside the bundle" in e["message"] for e in errors), errors


def test_a_table_file_pointing_outside_is_a_finding(cli: Run, bundle: Path) -> None:
    def point(m: dict[str, object]) -> None:
        tables = m["tables"]
        assert isinstance(tables, dict)
        next(iter(tables.values()))["file"] = "/etc/shadow"

    edit_manifest(bundle, point)
    r = cli("validate", str(bundle), "--json")
    assert r.exit_code == 1
    assert any("/etc/shadow" in (e["where"] or "") for e in json.loads(r.stdout)["errors"])


def test_links_out_of_the_bundle_are_reported_and_not_followed(
    cli: Run, bundle: Path, tmp_path: Path
) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.parquet").write_text("not parquet")
    (bundle / "tables" / "linked").symlink_to(tmp_path / "elsewhere")
    (bundle / "notes.md").symlink_to("/etc/passwd")
    r = cli("validate", str(bundle), "--json")
    assert r.exit_code == 1
    where = {e["where"] for e in json.loads(r.stdout)["errors"]}
    assert {"tables/linked", "notes.md"} <= where


def test_a_fifo_in_a_bundle_is_a_finding_not_a_hang(cli: Run, bundle: Path) -> None:
    os.mkfifo(bundle / "tables" / "pipe.parquet")
    r = cli("validate", str(bundle), "--json")
    assert r.exit_code == 1
    assert any(e["where"] == "tables/pipe.parquet" for e in json.loads(r.stdout)["errors"])


def test_a_schema_6_claim_does_not_turn_the_checks_off(cli: Run, bundle: Path) -> None:
    (bundle / "metadata" / "copied.json").write_text("{}")

    def downgrade(m: dict[str, object]) -> None:
        m["bundle_schema_version"] = "6"
        del m["files"]

    edit_manifest(bundle, downgrade)
    r = cli("validate", str(bundle))
    assert r.exit_code == 1 and "claims schema 6 but carries schema-7 key(s)" in r.stderr


def test_a_plain_schema_6_bundle_fails_files_it_cannot_vouch_for(cli: Run, bundle: Path) -> None:
    (bundle / "extra.txt").write_text("?")

    def downgrade(m: dict[str, object]) -> None:
        m["bundle_schema_version"] = "6"
        for key in ("files", "config_digest", "plugins", "relational_contract", "hidden_fields"):
            m.pop(key, None)

    edit_manifest(bundle, downgrade)
    r = cli("validate", str(bundle), "--json")
    assert r.exit_code == 1
    assert any(e["where"] == "extra.txt" for e in json.loads(r.stdout)["errors"])


@pytest.mark.parametrize(
    "manifest",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"tables": 5, "tasks": [], "seed": "x", "files": {"a": 1}}',
        json.dumps({"bundle_schema_version": 7, "tables": {"t": {"row_count": "many"}}, "files": []}),
        json.dumps({"files": {f"f{i}": {"sha256": "0", "size": 1} for i in range(100_000)}}),
    ],
    ids=["deep", "wrong-types", "wrong-shapes", "huge"],
)
def test_wrong_shaped_manifests_are_summarised_not_crashes(cli: Run, bundle: Path, manifest: str) -> None:
    (bundle / "manifest.json").write_text(manifest)
    for command in (("validate", str(bundle)), ("inspect", str(bundle))):
        r = cli(*command)
        assert r.exit_code != 0 or command[0] == "inspect", (command, r.stderr)
        assert "Traceback" not in r.stderr and "Error: internal error" not in r.stderr
        assert len(r.stderr.splitlines()) + len(r.stdout.splitlines()) < 80, command


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (b"n_leads: " + b"9" * 5000 + b"\n", "unreadable value"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b'{\t"seed": 1, "nope": 2}', "unknown key 'nope'"),
        (b"seed: &a [1]\n" + b"".join(b"k%d: &a%d [*a, *a]\n" % (i, i) for i in range(200)), "aliases"),
    ],
    ids=["huge-int", "not-utf8", "json-with-tab", "alias-bomb"],
)
def test_override_files_fail_in_one_line_before_simulating(
    cli: Run, tmp_path: Path, content: bytes, text: str
) -> None:
    override = tmp_path / "o.yaml"
    override.write_bytes(content)
    r = generate(cli, tmp_path / "b", "--override", str(override))
    one_line(r, 2, text)
    assert "Generating" not in r.stdout


def test_an_override_that_is_a_device_is_refused(cli: Run, tmp_path: Path) -> None:
    one_line(generate(cli, tmp_path / "b", "--override", "/dev/zero"), 2, "not a regular file")


def test_an_override_larger_than_the_cap_is_refused(cli: Run, tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("seed: 1\n# " + "x" * (2 << 20) + "\n")
    one_line(generate(cli, tmp_path / "b", "--override", str(big)), 2, "larger than")


# -- plugins ---------------------------------------------------------------------------------


def test_a_plugin_that_exits_at_import_is_listed_broken() -> None:
    def load() -> object:
        sys.exit(3)

    host = PluginHost.from_plugins([("toy", toyplugin)], strict=False, distribution="leadforge-scheme-toy")
    host._load(_Candidate("quitter", "leadforge-scheme-quitter", "1.0", "quitter", load))
    record = next(r for r in host.records if r.name == "quitter")
    assert record.status == "broken" and "SystemExit" in (record.reason or "")
    assert "toy" in host.schemes


# -- the Python API ---------------------------------------------------------------------------


@pytest.mark.parametrize("override", [42, [1, 2], {1: 2}, b"seed: 1"])
def test_api_rejects_a_wrong_override_with_a_usage_error(toy_host: PluginHost, override: object) -> None:
    with pytest.raises(UsageError, match="override must be"):
        Generator.from_recipe("toy_v1", override=override, host=toy_host)  # type: ignore[arg-type]


def test_api_rejects_a_wrong_host() -> None:
    with pytest.raises(UsageError, match="host must be a PluginHost"):
        Generator.from_recipe("toy_v1", host="x")  # type: ignore[arg-type]


@pytest.mark.parametrize("stamp", [123, "not a date", "2026-01-01T00:00:00"])
def test_api_rejects_a_bad_generation_timestamp_before_writing(
    toy_host: PluginHost, tmp_path: Path, stamp: object
) -> None:
    bundle = Generator.from_recipe("toy_v1", host=toy_host).generate()
    with pytest.raises(UsageError, match="generation_timestamp"):
        bundle.save(tmp_path / "b", generation_timestamp=stamp)  # type: ignore[arg-type]
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("path", [123, None])
def test_api_save_needs_a_path(toy_host: PluginHost, path: object) -> None:
    bundle = Generator.from_recipe("toy_v1", host=toy_host).generate()
    with pytest.raises(UsageError, match="needs a path"):
        bundle.save(path)  # type: ignore[arg-type]


def test_api_save_into_proc_is_a_usage_error(toy_host: PluginHost) -> None:
    if not Path("/proc").is_dir():
        pytest.skip("no /proc here")
    bundle = Generator.from_recipe("toy_v1", host=toy_host).generate()
    with pytest.raises(UsageError):
        bundle.save("/proc/leadforge-x")


def test_progress_must_report(toy_host: PluginHost, tmp_path: Path) -> None:
    bundle = Generator.from_recipe("toy_v1", host=toy_host).generate()
    with pytest.raises(UsageError, match="progress"):
        bundle.save(tmp_path / "b", progress="x")  # type: ignore[arg-type]
    shutil.rmtree(tmp_path / "b", ignore_errors=True)


# -- sizes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("memory", "disk", "text"),
    [(10**15, 0, "of memory"), (0, 10**18, "of disk")],
    ids=["memory", "disk"],
)
def test_a_run_that_cannot_fit_is_refused_before_simulating(
    cli: Run, toy_host: PluginHost, tmp_path: Path, memory: int, disk: int, text: str
) -> None:
    from dataclasses import replace

    from leadforge.footprint import Footprint

    toy_host.schemes["toy"] = replace(
        toy_host.schemes["toy"], footprint=lambda config: Footprint(memory, disk, "rows", 1_000)
    )
    r = generate(cli, tmp_path / "b")
    one_line(r, 2, text)
    assert "would fit" in r.stderr and "LEADFORGE_SKIP_SIZE_CHECK" in r.stderr
    assert not (tmp_path / "b").exists()
