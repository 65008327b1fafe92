"""Reading YAML/JSON files into typed values, with errors that name the file and the key."""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from leadforge.errors import InvalidRecipeError, LeadforgeError

#: Larger recipe or override files are refused before they are read.
MAX_FILE_BYTES = 1 << 20
MAX_ALIASES = 100


class _BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses alias bombs (a billion laughs grows without bound)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.events.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases")
        return super().compose_node(parent, index)


def read_text(path: Path, *, error: type[LeadforgeError], limit: int = MAX_FILE_BYTES) -> str:
    """A small regular text file, UTF-8; anything else is one clear error."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: not a regular file")
        if info.st_size > limit:
            raise error(f"{path}: larger than {limit} bytes")
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise error(f"{path}: larger than {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _parse(text: str, *, json_file: bool) -> Any:
    """JSON for ``.json`` files and for JSON objects in any file (not every JSON text is valid
    YAML, e.g. one with tabs); YAML otherwise."""
    if json_file:
        return json.loads(text)
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return yaml.load(text, Loader=_BoundedLoader)


def load_mapping(path: Path, *, error: type[LeadforgeError] = InvalidRecipeError) -> dict[str, Any]:
    """Parse a YAML (or JSON) file whose top level must be a mapping; empty file → ``{}``."""
    text = read_text(path, error=error)
    try:
        data = _parse(text, json_file=path.suffix.lower() == ".json")
    except json.JSONDecodeError as exc:
        raise error(f"{path}: line {exc.lineno} invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
        if len(problem) > 160:
            problem = problem[:157] + "..."
        raise error(f"{path}:{where} invalid YAML: {problem}") from None
    except (ValueError, RecursionError, LookupError, AttributeError, TypeError) as exc:
        raise error(f"{path}: unreadable value ({type(exc).__name__}: {str(exc)[:120]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(f"{path}: top level must be a mapping, got {type(data).__name__}")
    if not all(isinstance(k, str) for k in data):
        raise error(f"{path}: every top-level key must be a string")
    return data


def dump_json(data: Any) -> bytes:
    """The envelope's JSON style: 2-space indent, ASCII-escaped, insertion order, no newline."""
    return json.dumps(data, indent=2, ensure_ascii=True).encode("ascii")


class Fields:
    """Typed access to one mapping of a YAML file; every error names ``file: key.path``."""

    def __init__(self, data: Mapping[str, Any], file: str, prefix: str = "") -> None:
        self.data = data
        self.file = file
        self.prefix = prefix

    def where(self, key: str) -> str:
        return f"{self.file}: {self.prefix}{key}"

    def fail(self, key: str, message: str) -> InvalidRecipeError:
        return InvalidRecipeError(f"{self.where(key)} {message}")

    def require(self, *keys: str) -> None:
        missing = sorted(k for k in keys if k not in self.data)
        if missing:
            what = ", ".join(f"{self.prefix}{k}" for k in missing)
            raise InvalidRecipeError(f"{self.file}: missing required key(s): {what}")

    def raw(self, key: str) -> Any:
        if key not in self.data:
            raise InvalidRecipeError(f"{self.file}: missing required key: {self.prefix}{key}")
        return self.data[key]

    def string(self, key: str) -> str:
        v = self.raw(key)
        if not isinstance(v, str) or not v.strip():
            raise self.fail(key, f"must be a non-empty string, got {v!r}")
        return v

    def integer(self, key: str, *, minimum: int | None = 1) -> int:
        v = self.raw(key)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(key, f"must be an integer, got {v!r}")
        if minimum is not None and v < minimum:
            raise self.fail(key, f"must be >= {minimum}, got {v}")
        return v

    def number(self, key: str, *, lo: float | None = None, hi: float | None = None) -> float:
        v = self.raw(key)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.fail(key, f"must be a number, got {v!r}")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise self.fail(key, f"must be within [{lo}, {hi}], got {v}")
        return float(v)

    def boolean(self, key: str) -> bool:
        v = self.raw(key)
        if not isinstance(v, bool):
            raise self.fail(key, f"must be true or false, got {v!r}")
        return v

    def strings(self, key: str, *, non_empty: bool = True) -> tuple[str, ...]:
        v = self.raw(key)
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise self.fail(key, f"must be a list of strings, got {v!r}")
        if non_empty and not v:
            raise self.fail(key, "must not be empty")
        return tuple(v)

    def integers(self, key: str) -> tuple[int, ...]:
        v = self.raw(key)
        ok = isinstance(v, list) and v and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
        if not ok:
            raise self.fail(key, f"must be a non-empty list of integers, got {v!r}")
        return tuple(v)

    def int_pair(self, key: str) -> tuple[int, int]:
        v = self.raw(key)
        ok = (
            isinstance(v, list)
            and len(v) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
            and v[0] <= v[1]
        )
        if not ok:
            raise self.fail(key, f"must be [min, max] integers with min <= max, got {v!r}")
        return (v[0], v[1])

    def section(self, key: str) -> Fields:
        v = self.raw(key)
        if not isinstance(v, dict):
            raise self.fail(key, f"must be a mapping, got {type(v).__name__}")
        return Fields(v, self.file, f"{self.prefix}{key}.")

    def sections(self, key: str) -> list[Fields]:
        v = self.raw(key)
        if not isinstance(v, list) or not v or not all(isinstance(x, dict) for x in v):
            raise self.fail(key, "must be a non-empty list of mappings")
        return [Fields(x, self.file, f"{self.prefix}{key}[{i}].") for i, x in enumerate(v)]
