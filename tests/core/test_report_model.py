"""The report's model, JSON and CLI: figures carry data, builds are byte-stable, public reports
show nothing hidden, and a figure missing its columns says "not available"."""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from leadforge.report.build import build_report
from leadforge.report.figures import histogram, rate_by
from leadforge.report.model import Figure, Report, Section, clean
from leadforge.report.render import to_html, to_json
from report_support import MODES, RECIPES, report_host, small_bundle


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Both first-party recipes in both modes (skipped where only leadforge-core is installed)."""
    for package in ("leadforge_leadscoring", "leadforge_lifecycle", "leadforge_recipes"):
        pytest.importorskip(package, reason="needs the first-party schemes and recipes")
    host = report_host()
    root = tmp_path_factory.mktemp("report-bundles")
    return {(r, m): small_bundle(host, root, r, m) for r in RECIPES for m in MODES}


def test_a_figure_refuses_an_unknown_kind_or_id() -> None:
    with pytest.raises(ValueError, match="kind"):
        Figure("a", "A", "pie")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="id"):
        Figure("a b", "A", "bars")


def test_json_is_plain_and_rounded() -> None:
    out = clean(
        {"a": np.float64(1 / 3), "b": [np.int64(2), math.nan, math.inf], "c": (True, None), "d": np.arange(2)}
    )
    assert out == {"a": 0.333333, "b": [2, None, None], "c": [True, None], "d": [0, 1]}
    json.dumps(out, allow_nan=False)


@pytest.fixture
def drawing() -> None:
    pytest.importorskip("matplotlib", reason="drawing needs leadforge-core[report]")


def test_unavailable_figure_has_no_data_and_says_why() -> None:
    fig = rate_by("r", "Rate", None, "lead_source", "converted")
    assert not fig.available and "lead_source" in fig.unavailable
    assert fig.to_json()["data"] == {}
    html = to_html(Report("t", {}, (Section("s", "S", (fig,)),)))
    assert "Not available: " in html and 'data-available="false"' in html


def test_histogram_counts_every_finite_value() -> None:
    values = np.r_[np.arange(1.0, 101.0), np.nan]
    fig = histogram("h", "H", values, xlabel="x", bins=10)
    assert sum(fig.data["counts"]) == 100 and len(fig.data["edges"]) == 11


def test_rate_by_is_the_group_mean() -> None:
    table = pa.table({"g": ["a", "a", "b", "b", "b", None], "y": [True, False, True, True, True, False]})
    fig = rate_by("r", "R", table, "g", "y")
    rates = dict(zip(fig.data["labels"], fig.data["series"]["rate"], strict=True))
    assert rates == {"b (n=3)": 1.0, "a (n=2)": 0.5, "(missing) (n=1)": 0.0}


@pytest.mark.parametrize("recipe", RECIPES)
def test_report_is_byte_stable_and_json_matches(
    bundles: dict[tuple[str, str], Path], recipe: str, drawing: None
) -> None:
    host = report_host()
    root = bundles[(recipe, "research_instructor")]
    first, second = build_report(root, host, validate=False), build_report(root, host, validate=False)
    html = to_html(first)
    assert hashlib.sha256(html.encode()).digest() == hashlib.sha256(to_html(second).encode()).digest()
    assert to_json(first) == to_json(second)
    data = json.loads(to_json(first))
    ids = [f["id"] for s in data["sections"] for f in s["figures"]]
    assert {"er-diagram", "baselines"} <= set(ids)
    for s in data["sections"]:
        for f in s["figures"]:
            assert f["available"] == bool(f["data"]) or f["kind"] == "text", f["id"]
            assert f'id="{s["id"]}--{f["id"]}"' in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")


def _hidden_words(instructor: Path) -> set[str]:
    """Names and values only an instructor bundle holds: hidden manifest fields and metadata content."""
    manifest = json.loads((instructor / "manifest.json").read_text())
    words = {str(k) for k in manifest["hidden_fields"]} | {
        str(manifest[k]) for k in manifest["hidden_fields"]
    }
    graph = instructor / "metadata" / "graph.json"
    if graph.exists():
        g = json.loads(graph.read_text())
        words |= {n["node_id"] for n in g["nodes"]} | {n["label"] for n in g["nodes"]}
    latent = json.loads((instructor / "metadata" / "latent_registry.json").read_text())
    if isinstance(latent, dict):
        words |= {k for k in latent if len(k) > 6}
    for table in manifest["relational_contract"].values():
        words |= {c for c in table["public"]["drop"]}
    # identifiers and multi-word labels: a bare English word ("stage") also names public things
    return {w for w in words if len(w) > 4 and ("_" in w or " " in w)}


@pytest.mark.parametrize("recipe", RECIPES)
def test_public_report_shows_nothing_hidden(
    bundles: dict[tuple[str, str], Path], recipe: str, drawing: None
) -> None:
    host = report_host()
    public = bundles[(recipe, "student_public")]
    words = _hidden_words(bundles[(recipe, "research_instructor")])
    # a dropped column may also be a public task's label or feature, which students do see
    seen = set()
    for path in public.rglob("*.parquet"):
        seen |= set(pq.read_schema(path).names)
    words -= seen
    assert words
    report = build_report(public, host, validate=False)
    for text in (to_html(report), to_json(report)):
        leaked = sorted(
            w for w in words if re.search(rf"(?<![A-Za-z0-9_]){re.escape(w)}(?![A-Za-z0-9_])", text)
        )
        assert not leaked, leaked
    instructor = to_html(build_report(bundles[(recipe, "research_instructor")], host, validate=False))
    if recipe == "b2b_saas_procurement_v1":
        assert "hidden-graph" in instructor and "hidden-graph" not in to_html(report)


def test_a_failing_scheme_hook_is_one_unavailable_section(bundles: dict[tuple[str, str], Path]) -> None:
    from leadforge import hookimpl

    class Broken:
        @hookimpl
        def report_sections(self, bundle: object, manifest: object) -> object:
            raise RuntimeError("boom")

    host = report_host()
    host.pm.register(Broken(), "broken-report")
    try:
        report = build_report(bundles[(RECIPES[0], MODES[0])], host, validate=False)
    finally:
        host.pm.unregister(name="broken-report")
    broken = [s for s in report.sections if s.id == "broken-report-error"]
    assert broken and "boom" in broken[0].figures[0].unavailable


def test_cli_writes_html_and_json(
    bundles: dict[tuple[str, str], Path], tmp_path: Path, drawing: None
) -> None:
    from leadforge.report.command import report

    report_host()
    root = bundles[(RECIPES[1], MODES[0])]
    runner = CliRunner()
    out = runner.invoke(
        report, [str(root), "--out", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json")]
    )
    assert out.exit_code == 0, out.output
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert json.loads((tmp_path / "r.json").read_text())["bundle"]["recipe_id"] == RECIPES[1]
    only = runner.invoke(report, [str(root), "--json", "-", "--no-validation"])
    assert only.exit_code == 0 and json.loads(only.stdout)["title"]


def test_cli_refuses_to_write_inside_the_bundle_or_read_nothing(
    bundles: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    from leadforge.report.command import report

    root = bundles[(RECIPES[0], MODES[0])]
    runner = CliRunner()
    inside = runner.invoke(report, [str(root), "--out", str(root / "r.html")])
    assert inside.exit_code == 2 and "outside the bundle" in inside.output
    absent = runner.invoke(report, [str(tmp_path / "nope")])
    assert absent.exit_code == 1 and "does not exist" in absent.output and "Traceback" not in absent.output


def test_docs_examples_are_verbatim_in_the_files_they_name() -> None:
    repo = Path(__file__).resolve().parents[2]
    doc = (repo / "docs" / "report.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n# (\S+)\n(.*?)```", doc, flags=re.S)
    assert blocks
    for rel, body in blocks:
        path = repo / rel
        if rel.endswith("plugin.py") and "def report_sections" not in path.read_text(encoding="utf-8"):
            continue  # the hookimpl is added to plugin.py by its owner
        assert body.strip() in path.read_text(encoding="utf-8"), f"docs/report.md quotes {rel} out of date"


def test_oracle_ceiling_is_the_answer_keys_score(
    bundles: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    import shutil

    import pyarrow.compute as pc
    from leadforge.bundle.manifest import SPLITS

    root = tmp_path / "with-oracle"
    shutil.copytree(bundles[(RECIPES[0], "research_instructor")], root)
    task = "converted_within_90_days"
    parts = []
    for split in SPLITS:
        rows = pq.read_table(root / "tasks" / task / f"{split}.parquet", columns=["lead_id", task])
        perfect = pc.cast(rows.column(task), pa.float64())
        parts.append(
            pa.table(
                {
                    "lead_id": rows.column(0),
                    "split": [split] * rows.num_rows,
                    task: rows.column(1),
                    "p": perfect,
                }
            )
        )
    (root / "metadata" / "oracle").mkdir(exist_ok=True)  # the scheme may write its own answer key
    pq.write_table(pa.concat_tables(parts), root / "metadata" / "oracle" / f"{task}.parquet")
    report = build_report(root, report_host(), validate=False)
    table = next(f for f in report.figures if f.id == "baselines")
    row = next(r for r in table.data["rows"] if r[0] == task)
    assert row[-1] == "1.000"
    public = build_report(bundles[(RECIPES[0], "student_public")], report_host(), validate=False)
    row = next(r for r in next(f for f in public.figures if f.id == "baselines").data["rows"] if r[0] == task)
    assert row[-1] == "not available"


def test_any_scheme_gets_the_core_sections(tmp_path: Path) -> None:
    """A scheme without report sections of its own (the toy scheme) still gets every core figure."""
    import toyplugin
    from core_support import PINNED
    from leadforge.api import Generator
    from leadforge.plugins import PluginHost

    host = PluginHost.from_plugins([("toy", toyplugin)])
    root = (
        Generator.from_recipe("toy_v1", host=host)
        .generate()
        .save(tmp_path / "toy", generation_timestamp=PINNED)
    )
    report = build_report(Path(root), host)
    data = json.loads(to_json(report))
    assert [s["id"] for s in data["sections"]] == ["overview", "structure", "checks", "baselines", "realism"]
    figures = {f.id: f for f in report.figures}
    er = figures["er-diagram"].data
    assert {t["name"] for t in er["tables"]} == {"rows", "events"}
    assert {(lk["child"], lk["parent"]) for lk in er["links"]} == {("events", "rows")}
    assert figures["validation"].data["ok"] is True
    assert figures["realism"].unavailable == "this bundle's scheme reports no realism metrics"
    assert figures["baselines"].data["rows"][0][0] == "toy_task"


def test_without_matplotlib_the_page_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import toyplugin
    from core_support import PINNED
    from leadforge.api import Generator
    from leadforge.plugins import PluginHost
    from leadforge.report import plots
    from leadforge.report.command import report

    host = PluginHost.from_plugins([("toy", toyplugin)])
    root = (
        Generator.from_recipe("toy_v1", host=host)
        .generate()
        .save(tmp_path / "toy", generation_timestamp=PINNED)
    )
    monkeypatch.setattr("leadforge.plugins.get_host", lambda: host)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    plots._pyplot.cache_clear()
    try:
        runner = CliRunner()
        page = runner.invoke(report, [str(root), "--out", str(tmp_path / "r.html")])
        assert page.exit_code == 2
        assert "pip install 'leadforge-core[report]'" in page.output and "Traceback" not in page.output
        assert not (tmp_path / "r.html").exists()
        only = runner.invoke(report, [str(root), "--json", "-"])
        assert only.exit_code == 0 and json.loads(only.stdout)["bundle"]["recipe_id"] == "toy_v1"
    finally:
        plots._pyplot.cache_clear()
