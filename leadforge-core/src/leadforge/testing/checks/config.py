"""Every supported tier and mode resolves; bad input is refused with a one-line error naming the key."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from leadforge.api import Generator
from leadforge.enums import ExposureMode
from leadforge.errors import LeadforgeError, PluginError, UsageError
from leadforge.testing.bundles import PINNED_TIMESTAMP
from leadforge.testing.subject import Subject


def bad_config(c: Subject) -> Iterator[str]:
    for difficulty in c.recipe.supported_difficulty:
        for mode in c.modes:
            try:
                Generator.from_recipe(
                    c.recipe.id,
                    seed=c.seed,
                    exposure_mode=mode.value,
                    difficulty=difficulty.value,
                    host=c.host,
                    **c.params,
                )
            except Exception as exc:
                yield (
                    f"the supported combination {difficulty.value}/{mode.value} does not resolve: "
                    f"{type(exc).__name__}: {exc}"
                )
    for case in _bad_inputs(c):
        problem = _rejected(c, case)
        if problem:
            yield problem


@dataclass(frozen=True)
class BadInput:
    description: str
    key: str
    args: Mapping[str, Any]
    override: Mapping[str, Any] | None = None
    may_succeed: bool = False


def _bad_inputs(c: Subject) -> list[BadInput]:
    cases = [
        BadInput("an unknown override key", "not_a_leadforge_key", {}, {"not_a_leadforge_key": 1}),
        BadInput("exposure_mode='public'", "exposure_mode", {"exposure_mode": "public"}),
        BadInput("difficulty='expert'", "difficulty", {"difficulty": "expert"}),
        BadInput("seed=-1", "seed", {"seed": -1}),
    ]
    for mode in ExposureMode:
        if mode not in c.modes:
            cases.append(
                BadInput(f"the unsupported mode {mode.value!r}", mode.value, {"exposure_mode": mode.value})
            )
    fields = c.scheme.params
    if fields:
        typo = fields[0].name + fields[0].name[-1]
        cases.append(
            BadInput(f"the misspelt parameter {typo!r}", fields[0].name, {}, {typo: fields[0].default})
        )
    ints = [f for f in fields if f.base_type is int]
    if ints:
        cases.append(BadInput(f"{ints[0].name}='many'", ints[0].name, {ints[0].name: "many"}))
    for f in ints:
        if f.name.startswith("n_") or (f.minimum is not None and f.minimum >= 0):
            cases.append(BadInput(f"the negative count {f.name}=-1", f.name, {f.name: -1}))
        if f.name.startswith("n_"):
            cases.append(BadInput(f"the zero count {f.name}=0", f.name, {f.name: 0}, may_succeed=True))
    return cases


def _rejected(c: Subject, case: BadInput) -> str | None:
    """``None`` if ``case`` is turned away with a clear UsageError (or, if allowed, works)."""
    args: dict[str, Any] = {
        "seed": c.seed,
        "exposure_mode": c.primary_mode.value,
        "difficulty": c.difficulty.value,
        **c.params,
        **case.args,
    }
    try:
        gen = Generator.from_recipe(c.recipe.id, host=c.host, override=dict(case.override or {}), **args)
        bundle = gen.generate()
        if not case.may_succeed:
            return f"{case.description} was accepted; expected an InvalidConfigError naming {case.key!r}"
        bundle.save(c.workdir / "accepted-input", generation_timestamp=PINNED_TIMESTAMP)
        return None
    except UsageError as exc:
        message = str(exc)
        if not message.strip() or "\n" in message.strip():
            return f"{case.description}: the error must be one line, got {message!r}"
        if case.key not in message and getattr(exc, "key", None) != case.key:
            return f"{case.description}: the error does not name {case.key!r}: {message}"
        return None
    except PluginError as exc:
        return (
            f"{case.description}: the plugin crashed ({exc}); raise "
            f"InvalidConfigError(message, key={case.key!r}) instead (in params check() or build_world)"
        )
    except LeadforgeError as exc:
        return (
            f"{case.description}: rejected with {type(exc).__name__} (exit code {exc.exit_code}: {exc}); "
            "a config problem must raise InvalidConfigError(message, key=...) so the CLI exits 2"
        )
    except Exception as exc:
        return (
            f"{case.description}: crashed with {type(exc).__name__}: {exc}; raise "
            f"InvalidConfigError(message, key={case.key!r}) instead (in params check() or build_world)"
        )
