"""``generate --json``: what was written, where, how big, its hashes and how long each step took."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from test_cli import Run


def test_generate_json_lists_every_file_with_its_size_and_hash(cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "b"
    r = cli("generate", "-r", "toy_v1", "--mode", "research_instructor", "--out", str(out), "--json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)  # stdout holds the JSON and nothing else
    assert Path(data["bundle"]) == out and Path(data["path"]) == out.resolve()
    assert (data["recipe"], data["scheme"], data["mode"]) == ("toy_v1", "toy", "research_instructor")
    on_disk = {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file()}
    assert set(data["files"]) == set(on_disk)
    for rel, entry in data["files"].items():
        raw = on_disk[rel].read_bytes()
        assert entry == {"sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw)}, rel
    assert data["total_bytes"] == sum(p.stat().st_size for p in on_disk.values())
    m = json.loads((out / "manifest.json").read_text())
    assert {t: v["rows"] for t, v in data["tables"].items()} == {
        t: v["row_count"] for t, v in m["tables"].items()
    }
    assert data["tasks"]["toy_task"] == {
        s: m["tasks"]["toy_task"][f"{s}_rows"] for s in ("train", "valid", "test")
    }
    assert all(set(v["files"]) <= set(data["files"]) for v in data["tables"].values())
    t = data["timings"]
    assert set(t) == {"generate_s", "write_s", "validate_s", "total_s"} and all(v >= 0 for v in t.values())
    assert abs(t["total_s"] - (t["generate_s"] + t["write_s"] + t["validate_s"])) < 0.01
    assert data["validation"]["ok"] is True and data["validation"]["errors"] == []


def test_generate_json_without_validation_and_with_quiet(cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "b"
    r = cli("generate", "-r", "toy_v1", "--out", str(out), "--json", "--no-validate", "-q")
    assert r.exit_code == 0 and r.stderr == ""
    data = json.loads(r.stdout)
    assert data["validation"] is None and "validate_s" not in data["timings"]
    assert data["mode"] == "student_public"


def test_generate_json_errors_stay_one_line_on_stderr(cli: Run, tmp_path: Path) -> None:
    r = cli("generate", "-r", "nope", "--out", str(tmp_path / "b"), "--json")
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.startswith("Error: unknown recipe 'nope'")
