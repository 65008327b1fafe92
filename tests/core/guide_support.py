"""Docs-drift helpers for the guides: their code blocks, as the example scripts must hold them."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def blocks(doc: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S)


def code_lines(text: str) -> list[str]:
    """Statements, stripped: no blank lines, comments, imports, or the ``path = ...`` set-up."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith(("#", "import ", "from ", "path = ")):
            continue
        out.append(s)
    return out


def assert_python_in_example(doc: Path, example: Path, at_least: int) -> None:
    """Every statement of the guide's Python blocks is in the example script, in order."""
    lines = code_lines(example.read_text(encoding="utf-8"))
    found = blocks(doc, "python")
    assert len(found) >= at_least
    at = 0
    for block in found:
        want = code_lines(block)
        assert want, block
        for line in want:
            assert line in lines[at:], f"{line!r} of {doc.name} is not in {example.name} (in order)"
            at = lines.index(line, at) + 1


def commands(doc: Path) -> list[list[str]]:
    return [
        shlex.split(line)
        for b in blocks(doc, "sh")
        for line in b.splitlines()
        if line.startswith("leadforge ")
    ]


def assert_real_options(doc: Path) -> None:
    """Every ``leadforge`` command line of the guide names a real command and real options."""
    from leadforge.cli import main

    found = commands(doc)
    assert any(c[1] == "generate" for c in found)
    for words in found:
        r = CliRunner().invoke(main, [words[1], "--help"])
        assert r.exit_code == 0, words
        for word in words[2:]:
            if word.startswith("--"):
                assert word in r.stdout, f"{word} is not an option of leadforge {words[1]}"


def env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "OMP_NUM_THREADS": "1"}


def run_shell_lines(doc: Path, cwd: Path) -> list[tuple[list[str], subprocess.CompletedProcess[str]]]:
    """Run every shell line of the guide (but ``pip``) in ``cwd``; ``python x.py`` with this Python."""
    done = []
    for block in blocks(doc, "sh"):
        for line in block.splitlines():
            if not line.strip() or line.startswith("pip "):
                continue
            words = shlex.split(line)
            if words[0] == "python":
                words = [sys.executable, str(REPO / words[1]), *words[2:]]
            proc = subprocess.run(words, cwd=cwd, capture_output=True, text=True, env=env(), timeout=600)
            assert proc.returncode == 0, (line, proc.stderr)
            done.append((words, proc))
    return done


def load_example(path: Path) -> ModuleType:
    """An example script imported as a module (registered, so its dataclasses can find it)."""
    name = f"example_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
