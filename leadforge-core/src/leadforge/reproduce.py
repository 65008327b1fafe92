"""How to make a bundle again: the command a dataset card prints, and ``generate --from``.

A card's command lists every option whose value differs from what the recipe gives by
itself, so copying it rebuilds the same config; parameters without a flag go into an
override file. ``generate --from BUNDLE`` needs none of that: the manifest records every
resolved parameter (``generation_params``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from leadforge.config import GenerationConfig
from leadforge.params import to_json


@dataclass(frozen=True)
class Reproduction:
    """The ``leadforge generate`` command for a config, and the parameters it cannot pass as flags."""

    command: str
    override: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        config: GenerationConfig,
        flags: Mapping[str, str] | None = None,
        base: Mapping[str, Any] | None = None,
    ) -> Reproduction:
        """``flags`` maps parameter -> CLI flag; ``base`` is what the recipe resolves to alone
        (scheme defaults under recipe defaults). Without ``base`` every parameter is listed."""
        parts = [
            "leadforge generate",
            f"--recipe {config.recipe_id}",
            f"--seed {config.seed}",
            f"--mode {config.exposure_mode.value}",
            f"--difficulty {config.difficulty.value}",
        ]
        override: dict[str, Any] = {}
        for key, value in to_json(config.params).items():
            if base is not None and key in base and base[key] == value:
                continue
            flag = (flags or {}).get(key)
            if flag is not None and value is not None:
                parts.append(f"{flag} {_shell(value)}")
            else:
                override[key] = value
        parts += [f"--intervene {_shell(str(iv))}" for iv in config.interventions]
        if config.experiment is not None:
            parts.append(f"--experiment {_shell(str(config.experiment))}")
        if override:
            parts.append("--override cfg.yaml")
        parts.append("--out <dir>")
        return cls(" ".join(parts), override)

    def markdown(self) -> list[str]:
        """The card's lines: the command, the override file it needs, and ``--from``."""
        lines = [f"    {self.command}", ""]
        if self.override:
            body = ", ".join(f"{k}: {json.dumps(v)}" for k, v in self.override.items())
            lines += [f"with `cfg.yaml` holding `{{{body}}}` (parameters that have no flag).", ""]
        lines.append(
            "Or rebuild it from this bundle's own manifest: `leadforge generate --from <this bundle> "
            "--out <dir>` (same recipe, parameters and seed; pin `SOURCE_DATE_EPOCH` for identical bytes)."
        )
        return lines


def _shell(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    safe = text and all(c.isalnum() or c in "-_.:/+" for c in text)
    return text if safe else "'" + text.replace("'", "'\\''") + "'"


def flag_map(options: Sequence[Any], scheme: str) -> dict[str, str]:
    """parameter -> flag, for one scheme's ``GenerateOption``s."""
    return {o.key: o.flag for o in options if o.scheme == scheme}
