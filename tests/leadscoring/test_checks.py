"""The scheme's checks judge a rate, a funnel or an id order only where chance cannot explain it.

A bundle of a handful of leads converts at 0 % or 100 % and sits in one stage by chance; it is
what the user asked for and must validate. The same rates over thousands of rows are findings.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from leadforge_leadscoring.checks import POSITIVE_RATE, RATE_ALPHA, chance_bound
from leadforge_leadscoring.probes import auc_noise, clustered_noise
from leadscoring_support import LABEL, TIMESTAMP, errors, generator, validate


@pytest.mark.parametrize("n_leads", [1, 3, 20])
@pytest.mark.parametrize("mode", ["student_public", "research_instructor"])
def test_a_tiny_bundle_validates(tmp_path: Path, n_leads: int, mode: str) -> None:
    for tier, seed in (("intro", 7), ("advanced", 42)):
        out = tmp_path / f"{tier}-{seed}"
        generator(seed, mode, tier, n_leads=n_leads).generate().save(out, generation_timestamp=TIMESTAMP)
        report = validate(out)
        assert report.ok, [f"{f.where} {f.message}" for f in report.errors]


def test_the_bound_is_exact_at_the_extremes_and_shrinks_with_rows() -> None:
    lo, hi = POSITIVE_RATE
    assert chance_bound(0.0, 10, lo) == pytest.approx((1 - lo) ** 10)
    assert chance_bound(1.0, 10, hi) == pytest.approx(hi**10)
    assert chance_bound(0.005, 1_000, lo) > chance_bound(0.005, 10_000, lo)
    # Half the band's floor over 10k rows is no accident; zero positives in 100 rows may be.
    assert chance_bound(0.005, 10_000, lo) < RATE_ALPHA < chance_bound(0.0, 100, lo)


def _relabel(source: Path, tmp_path: Path, value: bool) -> Path:
    """A copy whose train split has every label set to ``value`` (hashes recorded)."""
    root = tmp_path / "copy"
    shutil.copytree(source, root)
    rel = f"tasks/{LABEL}/train.parquet"
    table = pq.read_table(root / rel)
    i = table.schema.get_field_index(LABEL)
    table = table.set_column(i, LABEL, pa.array([value] * table.num_rows, type=table.schema.field(i).type))
    pq.write_table(table, root / rel)
    data = (root / rel).read_bytes()
    manifest = json.loads((root / "manifest.json").read_text())
    sha = hashlib.sha256(data).hexdigest()
    manifest["files"][rel] = {"sha256": sha, "size": len(data)}
    manifest["tasks"][LABEL]["train_sha256"] = sha
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return root


def test_an_implausible_rate_over_many_rows_is_still_a_finding(
    bundle_factory: Callable[..., Path], tmp_path: Path
) -> None:
    source = bundle_factory(mode="research_instructor", n_accounts=360, n_contacts=1000, n_leads=1200)
    assert (source / f"tasks/{LABEL}/train.parquet").is_file()
    found = errors(_relabel(source, tmp_path, True))
    assert any("positive rate 1.0000 is suspiciously high" in e for e in found), found


@pytest.mark.parametrize("tier", ["intro", "intermediate"])
def test_a_small_public_bundle_passes_the_id_probes(tmp_path: Path, tier: str) -> None:
    """Seed 3 at 60 leads: at three standard errors of independent rows, the lead-number probe
    (intro, AUC 0.251) and the account-number probe (intermediate, AUC 0.846) fired by chance."""
    out = tmp_path / "b"
    generator(3, "student_public", tier, n_leads=60).generate().save(out, generation_timestamp=TIMESTAMP)
    report = validate(out)
    assert report.ok, [f"{f.where} {f.message}" for f in report.errors]


def test_a_shared_number_counts_once() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(400) < 0.3
    unique = np.arange(400)
    shared = np.repeat(np.arange(100), 4)
    assert clustered_noise(y, unique) == pytest.approx(auc_noise(y))
    assert clustered_noise(y, shared) == pytest.approx(2.0 * auc_noise(y))
