"""Scheme parameters: a frozen dataclass per scheme, validated with errors that name the key.

A scheme declares its knobs once, for example::

    @dataclass(frozen=True)
    class SupportParams:
        n_customers: int = param(400, help="customers whose tickets are simulated", minimum=1)

Core uses the declaration to resolve recipe defaults and overrides, to reject unknown keys
(suggesting the nearest valid one), wrong types and out-of-range values, to build CLI
options, and to record the resolved values in the bundle.
"""

from __future__ import annotations

import dataclasses
import difflib
import reprlib
import sys
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from leadforge.errors import InvalidConfigError


def param(
    default: Any,
    *,
    help: str,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    """Declare one scheme parameter with its default, help text and numeric bounds."""
    meta = {"help": help, "minimum": minimum, "maximum": maximum}
    if isinstance(default, list | dict | set):
        raise TypeError("parameter defaults must be immutable (use a tuple)")
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class ParamField:
    """What core knows about one declared parameter."""

    name: str
    annotation: Any
    default: Any
    help: str
    minimum: float | None
    maximum: float | None

    @property
    def base_type(self) -> type:
        """The scalar type a CLI option for this parameter takes."""
        ann = _strip_optional(self.annotation)
        if get_origin(ann) is Literal:
            return type(get_args(ann)[0])
        return ann if isinstance(ann, type) else str


def param_fields(params_type: type) -> list[ParamField]:
    hints = typing.get_type_hints(params_type)
    out = []
    for f in dataclasses.fields(params_type):
        if f.default is dataclasses.MISSING:
            raise TypeError(f"{params_type.__name__}.{f.name} needs a default")
        out.append(
            ParamField(
                name=f.name,
                annotation=hints[f.name],
                default=f.default,
                help=str(f.metadata.get("help", "")),
                minimum=f.metadata.get("minimum"),
                maximum=f.metadata.get("maximum"),
            )
        )
    return out


def nearest(key: str, valid: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    return match[0] if match else None


#: Longest string a parameter takes (names, dates, ids: nothing legitimate comes close).
MAX_STRING = 1000
_BRIEF = reprlib.Repr()
_BRIEF.maxstring = _BRIEF.maxother = _BRIEF.maxlong = 60
_BRIEF.maxlevel, _BRIEF.maxlist, _BRIEF.maxdict = 3, 5, 5


def brief(value: Any) -> str:
    """A repr short enough for a one-line error, whatever the user passed (huge, nested, aliased)."""
    try:
        text = _BRIEF.repr(value)
        return text if len(text) <= 200 else text[:200] + "…"
    except (ValueError, RecursionError):
        return f"<a {type(value).__name__} too large to show>"


def unknown_key_error(key: str, valid: Iterable[str], where: str) -> InvalidConfigError:
    valid = sorted(valid)
    hint = nearest(key, valid)
    suggestion = f"; did you mean {hint!r}?" if hint else f"; valid keys: {', '.join(valid)}"
    return InvalidConfigError(f"unknown key {brief(key)} in {where}{suggestion}", key=key)


def build_params(params_type: type, values: Mapping[str, Any], *, where: str = "config") -> Any:
    """Construct ``params_type`` from ``values`` (missing keys take their defaults).

    Raises :class:`InvalidConfigError` naming the key for unknown keys, wrong types,
    out-of-range values, and whatever the dataclass's own ``check()`` rejects.
    """
    fields = {f.name: f for f in param_fields(params_type)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            raise unknown_key_error(key, fields, where)
        kwargs[key] = coerce(fields[key], value)
    params = params_type(**kwargs)
    check = getattr(params, "check", None)
    if callable(check):
        check()
    return params


def coerce(field: ParamField, value: Any) -> Any:
    """Check ``value`` against the field's annotation and bounds; return the typed value."""
    typed = _coerce(field.annotation, value, field.name)
    if isinstance(typed, int | float) and not isinstance(typed, bool):
        if field.minimum is not None and typed < field.minimum:
            raise InvalidConfigError(
                f"{field.name} must be >= {_num(field.minimum)}, got {brief(value)}", key=field.name
            )
        if field.maximum is not None and typed > field.maximum:
            raise InvalidConfigError(
                f"{field.name} must be <= {_num(field.maximum)}, got {brief(value)}", key=field.name
            )
    return typed


def to_json(params: Any) -> dict[str, Any]:
    """The parameters as a JSON-ready mapping in declaration order (tuples become lists)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(params):
        v = getattr(params, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _strip_optional(ann: Any) -> Any:
    if get_origin(ann) in (Union, types.UnionType):
        args = [a for a in get_args(ann) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return ann


def _describe(ann: Any) -> str:
    origin = get_origin(ann)
    if origin in (Union, types.UnionType):
        return " or ".join("null" if a is type(None) else _describe(a) for a in get_args(ann))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(ann))
    if origin is tuple:
        return f"list of {_describe(get_args(ann)[0])}"
    if origin in (dict, Mapping) or ann in (dict, Mapping):
        return "mapping"
    return {int: "integer", float: "number", str: "string", bool: "boolean"}.get(ann, str(ann))


def coerce_value(ann: Any, value: Any, key: str) -> Any:
    """Check one value against a type annotation; raise :class:`InvalidConfigError` naming ``key``."""
    return _coerce(ann, value, key)


def _coerce(ann: Any, value: Any, key: str) -> Any:
    origin = get_origin(ann)
    if origin in (Union, types.UnionType):
        args = get_args(ann)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, key)
            except InvalidConfigError:
                continue
        raise _type_error(key, ann, value)
    if origin is Literal:
        if value in get_args(ann):
            return value
        raise _type_error(key, ann, value)
    if origin in (dict, Mapping) or ann in (dict, Mapping):
        if isinstance(value, dict):
            return value
        raise _type_error(key, ann, value)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise _type_error(key, ann, value)
        inner = get_args(ann)[0]
        return tuple(_coerce(inner, v, key) for v in value)
    if ann is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(key, ann, value)
    if ann is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _type_error(key, ann, value)
    if ann is float:
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and abs(value) <= sys.float_info.max
        ):
            return float(value)
        raise _type_error(key, ann, value)
    if ann is str:
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                raise InvalidConfigError(f"{key} must be at most {MAX_STRING} characters", key=key)
            return value
        raise _type_error(key, ann, value)
    raise TypeError(f"unsupported parameter annotation {ann!r} for {key}")


def _type_error(key: str, ann: Any, value: Any) -> InvalidConfigError:
    return InvalidConfigError(
        f"{key} must be {_describe(ann)}, got {brief(value)} ({type(value).__name__})", key=key
    )
