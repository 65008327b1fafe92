"""``validate`` passes a fresh bundle and names the file of every tampering."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from leadforge.testing.subject import Subject
from leadforge.testing.tamper import Tamper, tampers
from leadforge.validation import Severity, validate_bundle


def validate_fresh(c: Subject) -> Iterator[str]:
    for mode in c.modes:
        b = c.bundle(mode)
        try:
            report = validate_bundle(b.path, c.host)
        except Exception as exc:
            yield f"validate crashed on the fresh {b.label}: {type(exc).__name__}: {exc}"
            continue
        for f in report.errors:
            yield f"validate reports an error on the fresh {b.label}: {f}"


def validate_tampered(c: Subject) -> Iterator[str]:
    base = c.bundle(c.primary_mode)
    scratch = c.workdir / "tampered"
    for i, t in enumerate(tampers(base.manifest())):
        root = scratch / f"{i:02d}"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(base.path, root)
        try:
            t.apply(root)
            yield from _tamper_reported(c, root, t)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _tamper_reported(c: Subject, root: Path, t: Tamper) -> Iterator[str]:
    try:
        report = validate_bundle(root, c.host)
    except Exception as exc:
        yield f"validate crashed instead of reporting ({t.description}): {type(exc).__name__}: {exc}"
        return
    for f in report.findings:
        if f.message.startswith("validate hook raised"):
            yield f"a validate hook crashed on a bundle with {t.description}: {f}"
    named = [
        f
        for f in report.findings
        if f.severity is Severity.ERROR and (t.target in (f.where or "") or t.target in f.message)
    ]
    if not named:
        seen = "; ".join(str(f) for f in report.errors[:3]) or "no errors at all"
        yield f"validate did not report {t.description} (no error names {t.target!r}; it said: {seen})"
