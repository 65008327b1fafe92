"""The two closed vocabularies every scheme shares: exposure modes and difficulty tiers."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from leadforge.errors import InvalidConfigError

TASK_TYPES = ("binary_classification", "regression")


def _brief(value: object) -> str:
    text = repr(value) if not isinstance(value, str) or len(value) < 80 else repr(value[:60]) + "…"
    return text if len(text) <= 100 else text[:100] + "…"


E = TypeVar("E", bound="_ParsedEnum")


class _ParsedEnum(StrEnum):
    """A string enum whose values parse with an error that lists the valid choices."""

    @classmethod
    def parse(cls: type[E], value: object, key: str) -> E:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            for member in cls:
                if member.value == value:
                    return member
        choices = ", ".join(m.value for m in cls)
        raise InvalidConfigError(f"{key} must be one of {choices}; got {_brief(value)}", key=key)

    def __str__(self) -> str:
        return self.value


class ExposureMode(_ParsedEnum):
    """Who a bundle is for.

    ``student_public`` bundles are snapshot-safe and carry no hidden truth;
    ``research_instructor`` bundles carry the full horizon plus ``metadata/``.
    """

    STUDENT_PUBLIC = "student_public"
    RESEARCH_INSTRUCTOR = "research_instructor"

    @property
    def writes_metadata(self) -> bool:
        return self is ExposureMode.RESEARCH_INSTRUCTOR

    @property
    def snapshot_safe(self) -> bool:
        return self is ExposureMode.STUDENT_PUBLIC


class Difficulty(_ParsedEnum):
    """Difficulty tier of a bundle; its knobs come from the recipe's difficulty profiles."""

    INTRO = "intro"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"
