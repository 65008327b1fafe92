"""The student quickstart works as written: its code is the example script's, the script trains
a baseline that beats chance, and (slow) its shell commands run as printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from guide_support import REPO, assert_python_in_example, assert_real_options, load_example, run_shell_lines

DOC = REPO / "docs" / "quickstart.md"
EXAMPLE = REPO / "examples" / "quickstart.py"


def test_every_python_step_of_the_quickstart_is_in_the_example_in_order() -> None:
    assert_python_in_example(DOC, EXAMPLE, at_least=4)


def test_every_command_in_the_quickstart_is_a_real_command_and_option() -> None:
    assert_real_options(DOC)


def test_the_example_trains_a_baseline_that_beats_chance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("leadforge_leadscoring")
    pytest.importorskip("leadforge_recipes")
    example = load_example(EXAMPLE)
    from threadpoolctl import threadpool_limits

    out = str(tmp_path / "leads")
    example.make_bundle(out, 600)
    with threadpool_limits(1):  # the machine's cores are shared with the rest of the test run
        scores = example.quickstart(out)
    printed = capsys.readouterr().out
    assert set(scores) == {"valid", "test"} and all(v > 0.6 for v in scores.values()), scores
    for name, auc in scores.items():
        assert f"baseline ROC AUC on {name}: {auc:.3f}" in printed
    assert "What you are predicting: > `converted_within_90_days`" in printed
    assert '"exposure_mode": "student_public"' in (tmp_path / "leads" / "manifest.json").read_text()


@pytest.mark.slow
def test_the_quickstart_commands_run_as_printed(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("leadforge_recipes")
    for words, proc in run_shell_lines(DOC, tmp_path):
        if words[:2] == ["leadforge", "generate"]:
            last = proc.stdout.splitlines()[-1]
            assert last.startswith("OK: bundle at ") and last.endswith("leads_intro passed all checks.")
    assert (tmp_path / "leads_intro" / "dataset_card.md").is_file()
