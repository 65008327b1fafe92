"""The instructor guide works as written: its code is the example script's, the script grades a
hand-in against the answer key, and (slow) its shell commands run as printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from guide_support import REPO, assert_python_in_example, assert_real_options, load_example, run_shell_lines

DOC = REPO / "docs" / "instructors.md"
EXAMPLE = REPO / "examples" / "instructor.py"


def test_every_python_step_of_the_guide_is_in_the_example_in_order() -> None:
    assert_python_in_example(DOC, EXAMPLE, at_least=2)


def test_every_command_in_the_guide_is_a_real_command_and_option() -> None:
    assert_real_options(DOC)


def test_the_example_grades_a_hand_in_below_the_ceiling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("leadforge_leadscoring")
    pytest.importorskip("leadforge_recipes")
    from threadpoolctl import threadpool_limits

    example = load_example(EXAMPLE)
    public, key = example.make_pair(str(tmp_path / "course"), "intro", 3000)
    assert '"exposure_mode": "student_public"' in (Path(public) / "manifest.json").read_text()
    assert not (Path(public) / "metadata").exists() and (Path(key) / "metadata" / "oracle").is_dir()
    with threadpool_limits(1):
        hand_in = example.student_predictions(public)
    graded = example.grade(key, hand_in)
    assert graded["missing"] == 0 and graded["rows"] == len(hand_in)
    assert 0.6 < graded["student_auc"] <= graded["ceiling_auc"] + 0.03, graded
    assert f"student ROC AUC {graded['student_auc']:.3f}" in capsys.readouterr().out
    # a hand-in missing half its rows is graded on every row, the missing ones as 0
    half = example.grade(key, hand_in.iloc[: len(hand_in) // 2])
    assert half["missing"] == len(hand_in) - len(hand_in) // 2 and half["student_auc"] < graded["student_auc"]


@pytest.mark.slow
def test_the_guide_commands_run_as_printed(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("leadforge_recipes")
    ran = run_shell_lines(DOC, tmp_path)
    assert any(w[:2] == ["leadforge", "report"] for w, _ in ran)
    assert (tmp_path / "course" / "key-report.html").is_file()
    assert "student ROC AUC" in ran[-1][1].stdout
