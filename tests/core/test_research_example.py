"""The researcher's worked example runs: the experiment's interval covers the true average
uplift, and a trained model stays below the oracle's ceiling."""

from __future__ import annotations

from pathlib import Path

import pytest
from guide_support import REPO, load_example

EXAMPLE = REPO / "examples" / "research.py"


def test_the_example_recovers_the_effect_and_stays_below_the_ceiling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("leadforge_leadscoring")
    pytest.importorskip("leadforge_recipes")
    from threadpoolctl import threadpool_limits

    example = load_example(EXAMPLE)
    out = str(tmp_path / "experiment")
    example.make_bundle(out, 8000, 42)
    with threadpool_limits(1):
        found = example.research(out)
    assert found.covered, found
    assert found.estimate > 0 and found.true_uplift > 0  # faster follow-up helps
    assert 0.6 < found.model_auc <= found.oracle_auc + 0.02, found
    printed = capsys.readouterr().out
    assert f"truth {found.true_uplift:+.4f}" in printed and f"oracle {found.oracle_auc:.3f}" in printed
    assert (REPO / "docs" / "research.md").read_text().count("examples/research.py") >= 1
