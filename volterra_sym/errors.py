"""Exception hierarchy.

Every error a user can cause is a :class:`VolterraSymError`; the CLI prints its message on one
line and exits with status 2. Errors carry their data as attributes (``SpecError.key``).
"""

from __future__ import annotations

__all__ = [
    "VolterraSymError",
    "SpecError",
    "DerivationError",
    "SymbolicBudgetError",
    "UnsupportedExpressionError",
    "VerificationError",
    "StaleModuleError",
    "InputError",
    "MissingExtraError",
]


class VolterraSymError(Exception):
    """Base class for all volterra_sym errors."""


class SpecError(VolterraSymError, ValueError):
    """A spec file is unreadable, malformed or describes a network the theory does not cover.

    ``key`` names the offending field (``"[model].Gamma[1][0]"``), or is ``None``.
    """

    def __init__(self, message: str, *, key: str | None = None, path: str | None = None):
        self.key = key
        self.path = path
        self.reason = message
        parts = [p for p in (path, key) if p]
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class InputError(VolterraSymError, ValueError):
    """An argument of the Python API (not the spec) is invalid: a lag, a parameter value, an input.

    ``field`` is the name of the offending argument as the Python API spells it (``"lags"``,
    ``"params"``, ``"inputs[2]"``); the command line translates it into its option's name.
    ``reason`` is the message without the field.
    """

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        self.reason = message
        super().__init__(f"{field}: {message}" if field else message)


class DerivationError(VolterraSymError):
    """The derivation method does not apply or failed (no closed form, unsupported class)."""


class SymbolicBudgetError(DerivationError):
    """The symbolic derivation would exceed its work budget (estimated before it starts)."""


class UnsupportedExpressionError(VolterraSymError, NotImplementedError):
    """A printer refused an expression it cannot translate faithfully."""


class VerificationError(VolterraSymError):
    """A verification claim failed; ``report`` holds the full report."""

    def __init__(self, message: str, *, report: object = None):
        self.report = report
        super().__init__(message)


class StaleModuleError(VolterraSymError):
    """A generated module is stale, hand-edited, or was made for another API version."""


class MissingExtraError(VolterraSymError, ImportError):
    """An optional dependency is not installed; the message names the extra that installs it
    (``pip install 'volterra-sym[signature]'``)."""
