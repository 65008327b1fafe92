"""Atomic publication: a bundle is built beside ``--out`` and swapped into place at the end.

Nothing a user owns is lost. ``--out`` is replaced only when it holds a leadforge bundle,
recognised by its manifest's content and by holding nothing a bundle does not hold. The swap is
one atomic exchange where the OS offers it (Linux ``renameat2(RENAME_EXCHANGE)``); elsewhere it
is two renames, and a run killed between them leaves the old bundle as ``.<tag>.old-*``, which
the next run puts back. Every staging name is short (a hash of the target name), so a long but
valid ``--out`` never fails after the simulation, and the leftovers of killed runs are removed
by the next run that targets the same ``--out``.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import hashlib
import json
import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from leadforge.errors import UsageError

#: What a bundle folder may hold at its top level (anything else is a user's file).
BUNDLE_ENTRIES = frozenset(
    {
        "manifest.json",
        "dataset_card.md",
        "feature_dictionary.csv",
        "data_dictionary.csv",
        "tables",
        "tasks",
        "metadata",
        "datapackage.json",
        "croissant.json",
    }
)
_MANIFEST_KEYS = ("bundle_schema_version", "generation_scheme", "recipe_id", "exposure_mode", "tables")
_MAX_MANIFEST = 64 * 1024 * 1024
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def target(out: Path | str) -> Path:
    """The absolute ``--out``; refuses an empty path and the working directory or its parents."""
    if str(out).strip() == "":
        raise UsageError("--out must not be empty")
    resolved = Path(os.path.abspath(os.path.expanduser(str(out))))
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents or resolved.resolve() in (cwd, *cwd.parents):
        raise UsageError(f"--out {out} is the working directory or one of its parents; choose a new folder")
    return resolved


def is_bundle(folder: Path) -> bool:
    """Whether ``folder`` holds a leadforge bundle and nothing else."""
    manifest = folder / "manifest.json"
    try:
        if manifest.is_symlink() or not manifest.is_file() or manifest.stat().st_size > _MAX_MANIFEST:
            return False
        data = json.loads(manifest.read_text(encoding="utf-8"))
        names = {p.name for p in folder.iterdir()}
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    if not isinstance(data, dict) or not names <= BUNDLE_ENTRIES:
        return False
    schema = data.get("bundle_schema_version")
    return (
        all(k in data for k in _MANIFEST_KEYS)
        and isinstance(schema, str)
        and schema.isdigit()
        and isinstance(data.get("generation_scheme"), str)
        and isinstance(data.get("tables"), dict)
    )


def check_out(out: Path | str) -> Path:
    """Everything about ``--out`` that can be known before simulating; returns it absolute.

    Refuses a file, a folder that is not empty and not a leadforge bundle, a name the
    filesystem cannot hold, and a parent that cannot be created or written.
    """
    path = target(out)
    _check_name(path, out)
    try:
        _check_folder(path, out)
    except OSError as exc:
        raise UsageError(f"--out {out}: {exc.strerror or exc}") from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.parent / f"{_tag(path)}.probe-{secrets.token_hex(4)}"
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write in {path.parent}: {exc.strerror or exc}") from None
    return path


def _check_folder(path: Path, out: Path | str) -> None:
    if path.is_symlink() and not path.is_dir():
        raise UsageError(f"--out {out} is a link that does not point at a folder")
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not is_bundle(path):
        raise UsageError(
            f"--out {out} is a non-empty directory that is not a leadforge bundle; refusing to replace it"
        )
    for ancestor in path.parents:
        if ancestor.exists():
            if not ancestor.is_dir():
                raise UsageError(f"--out {out}: {ancestor} is not a directory")
            break


def _check_name(path: Path, shown: Path | str) -> None:
    try:
        limit = os.pathconf(next(p for p in (path.parent, *path.parents) if p.exists()), "PC_NAME_MAX")
    except (OSError, ValueError, StopIteration):
        limit = 255
    if len(os.fsencode(path.name)) > limit:
        raise UsageError(f"--out {shown}: the name is longer than the filesystem allows ({limit} bytes)")


def _tag(out: Path) -> str:
    return ".leadforge-" + hashlib.sha256(os.fsencode(out.name)).hexdigest()[:12]


def recover(out: Path) -> None:
    """Repair what a killed run left beside ``out``: restore an orphaned old bundle, remove leftovers."""
    tag = _tag(out)
    parent = out.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f"{tag}.old-*"))
    for old in olds:
        if not out.exists() and is_bundle(old):
            old.rename(out)
        elif is_bundle(old) or not old.exists():
            shutil.rmtree(old, ignore_errors=True)
    for partial in parent.glob(f"{tag}.partial-*"):
        pid = partial.name.rsplit("-", 2)[-2] if partial.name.count("-") >= 3 else ""
        if not (pid.isdigit() and _alive(int(pid))):
            shutil.rmtree(partial, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def staged(out: Path | str) -> Iterator[Path]:
    """Yield a fresh staging folder; on success it replaces ``out``, on failure it is removed."""
    path = check_out(out)
    recover(path)
    stage = path.parent / f"{_tag(path)}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        yield stage
        publish(stage, path)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def publish(stage: Path, out: Path) -> None:
    """Put ``stage`` at ``out``: atomically exchanged with an old bundle there, or renamed."""
    if not out.exists():
        stage.rename(out)
        return
    if not is_bundle(out) and any(out.iterdir()):
        raise UsageError(
            f"--out {out} changed during the run and is no longer a leadforge bundle; left as is"
        )
    if _exchange(stage, out):
        shutil.rmtree(stage, ignore_errors=True)
        return
    old = out.parent / f"{_tag(out)}.old-{secrets.token_hex(4)}"
    out.rename(old)
    try:
        stage.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); ``False`` where the OS cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.ENOTSUP):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def generation_timestamp() -> str:
    """Now in UTC to the second, or the instant ``SOURCE_DATE_EPOCH`` pins."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None:
        with suppress(ValueError):
            if len(epoch) <= 20 and int(epoch) >= 0:
                try:
                    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC)
                except (OverflowError, OSError, ValueError):
                    pass
                else:
                    return when.replace(microsecond=0).isoformat()
        raise UsageError(
            f"SOURCE_DATE_EPOCH must be a non-negative integer number of seconds, got {epoch[:40]!r}"
        )
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
