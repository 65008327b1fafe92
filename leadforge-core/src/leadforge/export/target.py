"""Where an export lands: a file or folder built under a temporary name, renamed in at the end.

Nothing half-written is ever left at the target: a failed export removes its temporary, and
an existing target is replaced only when asked to (``--replace``) and only after the new
export is complete.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from leadforge.errors import UsageError


def check_target(target: Path, *, folder: bool, replace: bool, bundle: Path) -> None:
    """Refuse a target that would lose data or overlap the bundle, before reading any rows."""
    try:
        here, root = Path(os.path.abspath(target)), bundle.resolve()
        real = target.resolve()
    except (OSError, RuntimeError) as exc:
        raise UsageError(f"cannot use {target} as the export target: {exc}") from None
    for t in (here, real):
        if t == root or root in t.parents or t in root.parents:
            raise UsageError(f"the export target {target} overlaps the bundle {bundle}")
    if not here.parent.is_dir():
        raise UsageError(f"the folder {here.parent} does not exist")
    try:
        mode = target.lstat().st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"cannot use {target} as the export target: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        if not folder:
            raise UsageError(f"{target} is a folder; give a file name")
        if any(target.iterdir()) and not replace:
            raise UsageError(f"{target} is a folder that is not empty; pass --replace to replace it")
    elif stat.S_ISREG(mode):
        if folder:
            raise UsageError(f"{target} is a file; give a folder name")
        if target.stat().st_size > 0 and not replace:
            raise UsageError(f"{target} exists; pass --replace to replace it")
    elif not (stat.S_ISLNK(mode) and replace):
        raise UsageError(f"{target} exists and is not a regular file or folder")


@contextmanager
def staged(target: Path, *, folder: bool) -> Iterator[Path]:
    """A fresh temporary path next to ``target``; renamed onto it when the block succeeds."""
    tmp = target.parent / f".{target.name}.export-{os.getpid()}-{secrets.token_hex(4)}"
    if folder:
        tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        _remove(tmp.with_name(tmp.name + ".wal"))
        raise
    _remove(tmp.with_name(tmp.name + ".wal"))
    if folder and target.is_dir() and not target.is_symlink():
        old = target.parent / f".{target.name}.replaced-{os.getpid()}-{secrets.token_hex(4)}"
        os.rename(target, old)
        os.rename(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        if folder and target.is_symlink():
            target.unlink()
        os.replace(tmp, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)
