"""``--workers`` / ``--scheduler`` on ``generate`` and ``validate``, and what ``-q`` leaves out."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

Run = Callable[..., Result]


def one_line_error(result: Result, code: int, text: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and text in lines[0], lines[0]


@pytest.mark.parametrize(
    ("flags", "text"),
    [
        (["--workers", "0"], "--workers must be an integer from 1 to 256, got 0"),
        (["--workers", "-3"], "--workers must be an integer from 1 to 256, got -3"),
        (["--workers", "257"], "--workers must be an integer from 1 to 256, got 257"),
        (["--workers", "two"], "'two' is not a valid integer"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:8786"], "cannot be used together"),
        (["--workers", "1", "--scheduler", "tcp://127.0.0.1:8786"], "cannot be used together"),
        (["--scheduler", " "], "--scheduler needs an address"),
    ],
)
def test_bad_engine_flags_are_one_line_before_any_work(
    cli: Run, tmp_path: Path, flags: list[str], text: str
) -> None:
    out = tmp_path / "b"
    r = cli("generate", "-r", "toy_v1", "--out", str(out), *flags)
    one_line_error(r, 2, text)
    assert "Generating" not in r.stdout and not out.exists()
    (tmp_path / "v").mkdir()
    one_line_error(cli("validate", str(tmp_path / "v"), *flags), 2, text)


def test_missing_dask_is_the_install_hint(cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if Dask were not installed
    out = tmp_path / "b"
    r = cli("generate", "-r", "toy_v1", "--out", str(out), "--workers", "2")
    one_line_error(r, 2, "needs Dask: pip install 'leadforge-core[dask]'")
    assert "Generating" not in r.stdout and not out.exists(), "refused before simulating"
    assert cli("generate", "-r", "toy_v1", "--out", str(out), "-q", "--no-validate").exit_code == 0
    one_line_error(cli("validate", str(out), "--workers", "3"), 2, "pip install 'leadforge-core[dask]'")


def test_generate_validates_on_the_engine_it_wrote_with(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leadforge.api
    import leadforge.engine
    import leadforge.validation

    opened: list[tuple[int, str | None, Path | None]] = []
    used: dict[str, Any] = {}

    class Recording:
        workers = 1

        def map(self, fn: Any, items: Any, *args: Any, progress: Any = None, light: bool = False) -> Any:
            return leadforge.engine.LOCAL.map(fn, items, *args, progress=progress, light=light)

        def start(self, fn: Any, items: Any, *args: Any) -> Any:
            return leadforge.engine.LOCAL.start(fn, items, *args)

        def share(self, obj: Any) -> Any:
            return obj

    @contextmanager
    def fake_open(
        workers: int = 1, scheduler: str | None = None, *, check_path: Path | None = None
    ) -> Iterator[Any]:
        opened.append((workers, scheduler, check_path))
        yield Recording()

    real_save, real_validate = leadforge.api.Bundle.save, leadforge.validation.validate_bundle

    def save(self: Any, path: Any, **kw: Any) -> Any:
        used["save"] = kw.get("engine")
        return real_save(self, path, **kw)

    def validate(root: Path, host: Any, **kw: Any) -> Any:
        used["validate"] = kw.get("engine")
        used["progress"] = kw.get("progress")
        return real_validate(root, host, **kw)

    monkeypatch.setattr(leadforge.engine, "open_engine", fake_open)
    monkeypatch.setattr(leadforge.api.Bundle, "save", save)
    monkeypatch.setattr(leadforge.validation, "validate_bundle", validate)
    out = tmp_path / "b"
    r = cli("generate", "-r", "toy_v1", "--out", str(out))
    assert r.exit_code == 0, r.stderr
    assert opened == [(1, None, out.parent)]
    assert isinstance(used["save"], Recording) and used["validate"] is used["save"]
    assert used["progress"] is not None
    lines = r.stdout.splitlines()
    assert lines[-2:] == [f"Validating {out} ...", f"OK: bundle at {out} passed all checks."]
    opened.clear()
    r = cli("validate", str(out), "--scheduler", "tcp://10.0.0.1:8786")
    assert r.exit_code == 0 and opened == [(1, "tcp://10.0.0.1:8786", out)]


def test_quiet_prints_nothing_but_errors(cli: Run, tmp_path: Path) -> None:
    out = tmp_path / "b"
    r = cli("generate", "-r", "toy_v1", "--out", str(out), "-q")
    assert r.exit_code == 0 and r.stdout == "" and r.stderr == "", "success is the exit code alone"
    r = cli("generate", "-r", "toy_v1", "--out", str(out), "-q", "--no-validate")
    assert r.exit_code == 0 and r.stdout == "" and r.stderr == ""
    r = cli("validate", str(out), "-q")
    assert r.exit_code == 0 and r.stdout == "" and r.stderr == ""
    (out / "dataset_card.md").write_text("edited")
    r = cli("validate", str(out), "-q")
    assert r.exit_code == 1 and r.stdout == "" and "dataset_card.md: SHA-256 mismatch" in r.stderr
    r = cli("generate", "-r", "toy_v1", "--out", str(tmp_path / "c"), "-q", "--n-rows", "0")
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.startswith("Error: n_rows must be >= 1")


def test_engine_flags_are_in_the_help(cli: Run) -> None:
    for args in (["generate", "--help"], ["validate", "--help"]):
        text = cli(*args).stdout
        assert "--workers N" in text and "--scheduler ADDRESS" in text


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


@pytest.mark.slow
def test_two_local_workers_write_the_same_bytes_as_one(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    pytest.importorskip("leadforge_leadscoring")
    pytest.importorskip("leadforge_recipes")
    exe = str(Path(sys.executable).parent / "leadforge")
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
    base = ["generate", "--recipe", "b2b_saas_procurement_v1", "--seed", "5", "--mode", "research_instructor"]
    base += ["--n-accounts", "90", "--n-contacts", "250", "--n-leads", "300"]
    digests = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        proc = subprocess.run(
            [exe, *base, "--out", str(out), "--workers", workers],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        assert ("on 2 workers" in proc.stdout) is (workers == "2"), proc.stdout
        assert proc.stdout.splitlines()[-1] == f"OK: bundle at {out} passed all checks."
        assert "Traceback" not in proc.stderr
        digests.append(tree_digest(out))
    assert digests[0] == digests[1]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_world_is_built_while_a_cluster_starts(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    """With a cluster to start, the driver builds the world on a thread meanwhile (and a failure
    there is still one clear line); one worker builds it in line."""
    import threading

    import leadforge.api
    import leadforge.engine
    from leadforge.errors import GenerationError

    built_on: list[str] = []
    real_generate = leadforge.api.Generator.generate

    def generate(self: Any) -> Any:
        built_on.append(threading.current_thread().name)
        if self.config.seed == 13:
            raise GenerationError("the world would not build")
        return real_generate(self)

    @contextmanager
    def fake_open(workers: int = 1, scheduler: str | None = None, *, check_path: Path | None = None) -> Any:
        yield leadforge.engine.LOCAL

    monkeypatch.setattr(leadforge.engine, "open_engine", fake_open)
    monkeypatch.setattr(leadforge.api.Generator, "generate", generate)
    r = cli("generate", "-r", "toy_v1", "--out", str(tmp_path / "b"), "--workers", workers, "-q")
    assert r.exit_code == 0, r.stderr
    assert built_on == ["leadforge-world" if workers == "2" else "MainThread"]
    r = cli("generate", "-r", "toy_v1", "--seed", "13", "--out", str(tmp_path / "c"), "--workers", workers)
    one_line_error(r, 1, "the world would not build")
    assert not (tmp_path / "c").exists()
