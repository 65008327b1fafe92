"""The student quickstart works as written: its code is the example script's, the script trains
a baseline that beats chance, and (slow) its shell commands run as printed."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "quickstart.md"
EXAMPLE = REPO / "examples" / "quickstart.py"
BIN = Path(sys.executable).parent


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def code_lines(text: str) -> list[str]:
    """Statements, stripped: no blank lines, comments, imports, or the ``path = ...`` set-up."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith(("#", "import ", "from ", "path = ")):
            continue
        out.append(s)
    return out


def env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "1"}


def test_every_python_step_of_the_quickstart_is_in_the_example_in_order() -> None:
    example = code_lines(EXAMPLE.read_text(encoding="utf-8"))
    found = blocks("python")
    assert len(found) >= 4
    for block in found:
        want = code_lines(block)
        assert want, block
        at = 0
        for line in want:
            assert line in example[at:], f"{line!r} of the quickstart is not in {EXAMPLE.name} (in order)"
            at = example.index(line, at) + 1


def test_every_command_in_the_quickstart_is_a_real_command_and_option() -> None:
    from click.testing import CliRunner
    from leadforge.cli import main

    commands = [
        shlex.split(line) for b in blocks("sh") for line in b.splitlines() if line.startswith("leadforge ")
    ]
    assert any(c[1] == "generate" for c in commands)
    for words in commands:
        r = CliRunner().invoke(main, [words[1], "--help"])
        assert r.exit_code == 0, words
        for word in words[2:]:
            if word.startswith("--"):
                assert word in r.stdout, f"{word} is not an option of leadforge {words[1]}"


def test_the_example_trains_a_baseline_that_beats_chance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("leadforge_leadscoring")
    pytest.importorskip("leadforge_recipes")
    spec = importlib.util.spec_from_file_location("quickstart_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
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
    for block in blocks("sh"):
        for line in block.splitlines():
            if not line.strip() or line.startswith("pip "):
                continue
            words = shlex.split(line)
            if words[0] == "python":
                words = [sys.executable, str(REPO / words[1]), *words[2:]]
            proc = subprocess.run(words, cwd=tmp_path, capture_output=True, text=True, env=env(), timeout=600)
            assert proc.returncode == 0, (line, proc.stderr)
            if words[:2] == ["leadforge", "generate"]:
                last = proc.stdout.splitlines()[-1]
                assert last.startswith("OK: bundle at ") and last.endswith("leads_intro passed all checks.")
    assert (tmp_path / "leads_intro" / "dataset_card.md").is_file()
