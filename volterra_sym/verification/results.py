"""The values every claim set shares: a claim's result, a run's report, the digit tally, options.

A *claim* is a function of one verification run that reports passed / failed / skipped with the
number of agreeing significant digits at its worst point (:class:`ClaimResult`); a run's claims make
a :class:`VerificationReport`.

A claim is *independent* when its reference shares nothing with the engine (another parse of the
spec, another discretisation, simulation, values from the literature), and *self-consistency*
(``independent=False``) when it compares the engine with its own closed forms, operators, symbolic
law or recorded values. Self-consistency catches evaluation bugs (float64 against mpmath, rounding,
a stale recording) but not a wrong derivation, so a report passes only when no claim failed **and at
least one independent claim passed** (:attr:`VerificationReport.passed`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy

from ..errors import InputError

__all__ = ["ClaimResult", "VerificationReport", "Tally", "memoized", "skipped_claim", "check_options", "dyadic",
           "MIN_DPS", "MAX_DPS", "GUARD", "MAX_INDEX_TUPLES", "KernelCallable"]

#: extra working digits on top of the requested precision
GUARD = 15
MIN_DPS, MAX_DPS = 30, 200
MAX_SAMPLES = 100
#: samples x (dps / 50)^2: ~1 minute for a 3-unit cubic network on the 2-core development machine
MAX_PRECISION_WORK = 48
#: at most this many index tuples per kernel order are checked (drawn with the sample points)
MAX_INDEX_TUPLES = 16

#: ``kernel(n, *lags, **params) -> (p,) + (m,) * n`` float64: the engine, or a generated module's kernel
KernelCallable = Callable[..., numpy.ndarray]


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """Outcome of one claim. ``status`` is "passed", "failed" or "skipped"; ``digits`` is the
    number of agreeing significant digits at the worst point (None if nothing was compared).
    ``independent`` is False for a self-consistency check (the engine against its own closed forms,
    operators or recorded values) and True for a route that shares nothing with the engine."""

    name: str
    status: str
    digits: float | None
    required: float
    detail: str
    worst: str = ""
    checked: int = 0
    skipped: int = 0
    seconds: float = 0.0
    independent: bool = True

    def __post_init__(self) -> None:
        assert self.status in ("passed", "failed", "skipped")

    @property
    def passed(self) -> bool | None:
        """True or False; None for a skipped claim (it neither passed nor failed)."""
        return {"passed": True, "failed": False}.get(self.status)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "status": self.status,
                "digits": None if self.digits is None else round(self.digits, 2), "required": self.required,
                "detail": self.detail, "worst": self.worst, "checked": self.checked, "skipped": self.skipped,
                "seconds": round(self.seconds, 3), "independent": self.independent}


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """Every claim of one verification run, with the seed and the sample points it used."""

    spec: str
    name: str
    dps: int
    order: int
    seed: int
    samples: int
    parameters: Mapping[str, float]
    points: tuple[Mapping[str, Any], ...]
    claims: tuple[ClaimResult, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        """No claim failed and at least one independent claim passed.

        Skipped claims are listed as such and count neither way; self-consistency claims
        (``independent=False``) can fail a report but never pass it on their own.
        """
        return all(c.status != "failed" for c in self.claims) and bool(self.independent_passes)

    @property
    def independent_passes(self) -> tuple[str, ...]:
        """Names of the independent claims that passed."""
        return tuple(c.name for c in self.claims if c.independent and c.status == "passed")

    def verdict(self) -> str:
        """One line: failed claims, or that nothing independent passed, or the counts."""
        failed = [c.name for c in self.claims if c.status == "failed"]
        skipped = [c.name for c in self.claims if c.status == "skipped"]
        if failed:
            text = f"FAILED: {', '.join(failed)}"
        elif not self.independent_passes:
            text = "NOT VERIFIED: no independent claim passed (self-consistency alone does not verify)"
        else:
            own = sum(1 for c in self.claims if not c.independent and c.status == "passed")
            text = (f"all checked claims passed ({len(self.independent_passes)} independent, "
                    f"{own} self-consistency)")
        if skipped:
            text += f" (skipped: {', '.join(skipped)})"
        return text

    def claim(self, name: str) -> ClaimResult:
        for c in self.claims:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "verdict": self.verdict(), "spec": self.spec, "name": self.name, "dps": self.dps, "order": self.order,
                "seed": self.seed, "samples": self.samples, "parameters": dict(self.parameters),
                "claims": [c.to_dict() for c in self.claims], "points": [dict(p) for p in self.points],
                "seconds": round(self.seconds, 3)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def format_text(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.parameters.items())
        title = (f"verify {self.spec} (dps {self.dps}, order {self.order}, seed {self.seed}, "
                 f"{self.samples} sample(s){', ' + params if params else ''})")
        lines = [title, ""]
        rows = [("claim", "route", "status", "digits", "need", "time", "worst point")]
        for c in self.claims:
            rows.append((c.name, "independent" if c.independent else "self", c.status,
                         "-" if c.digits is None else f"{c.digits:.1f}", f"{c.required:g}", f"{c.seconds:.1f}s", c.worst))
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        for r in rows:
            lines.append("  ".join(r[i].ljust(widths[i]) for i in range(6)) + "  " + r[6])
        lines.append("")
        for c in self.claims:
            lines.append(f"{c.name}: {c.detail}")
        lines.append("")
        lines.append(f"seed {self.seed}; points:")
        for p in self.points:
            lines.append("  " + ", ".join(f"{k}={v}" for k, v in p.items()))
        lines.append("route: independent = shares nothing with the engine; self = self-consistency (the engine "
                     "against its own closed forms, operators or recorded values), never enough to pass alone")
        lines.append(f"{self.verdict()} in {self.seconds:.1f} s")
        return "\n".join(lines)


class Tally:
    """Worst digits over compared pairs (mpmath or float), and skipped values with reasons."""

    def __init__(self, cap: float):
        self.cap = cap
        self.digits: float | None = None
        self.worst = ""
        self.checked = 0
        self.skipped = 0
        self.reasons: list[str] = []

    def compare(self, value: Any, reference: Any, scale: Any, label: str) -> None:
        with mpmath.workdps(max(mpmath.mp.dps, int(self.cap) + 20)):  # never round the difference away
            error = abs(mpmath.mpf(value) - mpmath.mpf(reference))
            scale = mpmath.mpf(scale) or mpmath.mpf(1)
            d = float(self.cap) if error == 0 else float(min(self.cap, max(0.0, -mpmath.log10(error / scale))))
        self.record(d, label)

    def record(self, digits: float, label: str) -> None:
        self.checked += 1
        if self.digits is None or digits < self.digits:
            self.digits, self.worst = digits, label

    def skip(self, reason: str) -> None:
        self.skipped += 1
        if reason not in self.reasons:
            self.reasons.append(reason)

    def result(self, name: str, required: float, detail: str) -> ClaimResult:
        if self.skipped:
            detail += f"; {self.skipped} value(s) skipped: " + "; ".join(self.reasons)
        if self.checked == 0:
            reason = f"no independent oracle here ({'; '.join(self.reasons)})" if self.reasons else "nothing to check"
            return ClaimResult(name, "skipped", None, required, f"skipped: {reason}", checked=0, skipped=self.skipped)
        status = "passed" if self.digits >= required else "failed"
        return ClaimResult(name, status, self.digits, required, detail, self.worst, self.checked, self.skipped)


def dyadic(rng: numpy.random.Generator, low: float, high: float, size=None, denom: int = 1024):
    """Uniform dyadic rationals k / denom in [low, high]: float64 and mpmath see the same numbers."""
    k = rng.integers(round(low * denom), round(high * denom) + 1, size=size)
    return k / denom


def memoized(cache: dict, key: tuple, compute: Callable[[], Any]) -> Any:
    """``cache[key]``, computed once; an oracle that does not apply (``NoOracle``) is cached as the error."""
    from .oracles.gaussian_path import NoOracle

    if key not in cache:
        try:
            cache[key] = compute()
        except NoOracle as err:
            cache[key] = err
    return cache[key]


def skipped_claim(name: str, required: float, reason: str) -> ClaimResult:
    return ClaimResult(name, "skipped", None, required, f"skipped: {reason}")


def check_options(dps: int, samples: int, seed: int) -> None:
    """Refuse a working precision, sample count or seed out of range (field names as in the API)."""
    if isinstance(dps, bool) or not isinstance(dps, int) or not MIN_DPS <= dps <= MAX_DPS:
        raise InputError(f"{dps!r} is outside {MIN_DPS}..{MAX_DPS}", field="dps")
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
        raise InputError(f"{samples!r} is outside 1..{MAX_SAMPLES}", field="samples")
    if samples * (dps / 50) ** 2 > MAX_PRECISION_WORK:
        raise InputError(f"{samples} samples at {dps} digits exceed the budget samples x (dps / 50)^2 <= "
                         f"{MAX_PRECISION_WORK} (mpmath work grows as dps^2; e.g. 48 samples at 50 digits, 3 at 200)",
                         field="samples")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"{seed!r} must be a non-negative integer", field="seed")
