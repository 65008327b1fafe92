"""The exception hierarchy.

Every error a user can cause derives from :class:`LeadforgeError`, so the CLI can turn it
into one line on stderr. ``exit_code`` says which: 2 for usage/config problems, 1 for a
bundle that fails validation or a generation that could not finish.
"""

from __future__ import annotations


class LeadforgeError(Exception):
    """Base class for every error leadforge raises on purpose."""

    exit_code = 1


class UsageError(LeadforgeError):
    """The caller asked for something that cannot be done as asked."""

    exit_code = 2


class InvalidRecipeError(UsageError):
    """A recipe is unknown, malformed, or does not support what was asked of it."""


class InvalidConfigError(UsageError):
    """A configuration value is unknown, of the wrong type, or out of range.

    ``key`` names the offending configuration key when there is one.
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class UnknownSchemeError(UsageError):
    """No installed plugin provides the requested generation scheme."""


class PluginError(LeadforgeError):
    """A plugin failed to load, register, or honour the hook contract."""


class ExposureError(LeadforgeError):
    """A write would put hidden truth into a public bundle."""


class BundleError(LeadforgeError):
    """A bundle on disk is missing, unreadable, or not a leadforge bundle."""


class GenerationError(LeadforgeError):
    """A scheme could not produce its world or its bundle."""
