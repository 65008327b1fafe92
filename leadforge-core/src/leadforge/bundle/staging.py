"""Atomic publication: a bundle is built beside ``--out`` and renamed into place at the end.

An interrupted or failed run leaves nothing at ``--out`` (an older bundle there stays intact),
and a reused ``--out`` never keeps stale files from a previous run.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from leadforge.errors import UsageError


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that is a file or a non-empty folder that is not a bundle."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise UsageError(
            f"--out {out} is a non-empty directory that is not a leadforge bundle; refusing to replace it"
        )
    parent = out.resolve().parent
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"--out {out}: parent {parent} is not a directory")


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield a fresh staging folder; on success it replaces ``out``, on failure it is removed."""
    check_out(out)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create {parent}: {exc.strerror or exc}") from None
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    stage = parent / f".{out.name}.partial-{token}"
    try:
        yield stage
        _replace(stage, out.resolve(), token)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _replace(stage: Path, out: Path, token: str) -> None:
    old = out.parent / f".{out.name}.old-{token}"
    had_old = out.exists()
    if had_old:
        out.rename(old)
    try:
        stage.rename(out)
    except BaseException:
        if had_old:
            old.rename(out)
        raise
    if had_old:
        shutil.rmtree(old, ignore_errors=True)


def generation_timestamp() -> str:
    """Now in UTC to the second, or the instant ``SOURCE_DATE_EPOCH`` pins."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        try:
            when = dt.datetime.fromtimestamp(int(epoch), dt.UTC)
        except (ValueError, OverflowError, OSError):
            raise UsageError(
                f"SOURCE_DATE_EPOCH must be an integer number of seconds, got {epoch!r}"
            ) from None
    else:
        when = dt.datetime.now(dt.UTC)
    return when.replace(microsecond=0).isoformat()
