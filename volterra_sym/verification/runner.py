"""Verification: each engine's claims, checked against routes independent of the engine.

Each engine has its claim set (:data:`CLAIM_SETS`): :mod:`.claims.ou` for the OU engine (and the
linearized network's OU kernels), :mod:`.claims.gradient` for the gradient engine, :mod:`.claims.grid`
for the grid engine, :mod:`.claims.montecarlo` for the Monte-Carlo engine. :func:`verify_engine`
runs the set of an engine, :func:`verify_spec` that of the engine answering for a spec file. The
shared values (claim results, reports) are in :mod:`.results`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import InputError
from .claims.gradient import verify_gradient
from .claims.grid import verify_grid
from .claims.montecarlo import verify_monte_carlo
from .claims.ou import verify_kernels
from .results import ClaimResult, VerificationReport, check_options

__all__ = ["CLAIM_SETS", "verify_engine", "verify_spec", "ClaimResult", "VerificationReport"]


def _ou_claims(engine, **options: Any) -> VerificationReport:
    options.pop("mc_paths", None)
    options.pop("order", None)
    return verify_kernels(engine.derivation, params=dict(engine.values), **options)


def _gradient_claims(engine, **options: Any) -> VerificationReport:
    options.setdefault("order", engine.order)
    return verify_gradient(engine.model, params=engine.values, spectral=engine.representation, **options)


def _monte_carlo_claims(engine, **options: Any) -> VerificationReport:
    options.pop("mc_paths", None)
    options.pop("order", None)
    options.pop("kernel", None)
    return verify_monte_carlo(engine, **options)


def _grid_claims(engine, **options: Any) -> VerificationReport:
    options.pop("order", None)
    return verify_grid(engine, **options)


#: the claim set of each engine (a new engine adds its own here). A nonlinear class includes the engine-agnostic
#: independent claim ``claims.forward.forward_fokker_planck`` (the grid engine too: its run provides the
#: attributes listed in that module's docstring), so that its reports can pass (results.VerificationReport.passed)
CLAIM_SETS: Mapping[str, Callable[..., VerificationReport]] = {
    "ou": _ou_claims,
    "linearized": _ou_claims,
    "gradient": _gradient_claims,
    "grid": _grid_claims,
    "mc": _monte_carlo_claims,
}


def verify_engine(engine, **options: Any) -> VerificationReport:
    """Run the claims of ``engine``'s class (options: ``dps``, ``samples``, ``seed``, ``claims``,
    ``kernel``, ``progress``; gradient and grid engines also ``mc_paths``)."""
    if engine.name not in CLAIM_SETS:
        raise InputError(f"the {engine.name} engine has no verification claims", field="engine")
    check_options(options.get("dps", 50), options.get("samples", 3), options.get("seed", 0))
    return CLAIM_SETS[engine.name](engine, **options)


def verify_spec(path: str | Path, *, order: int | None = None, params: Mapping[str, float] | None = None,
                engine: str | None = None, **options: Any) -> VerificationReport:
    """Load a spec file, pick its engine (or ``engine`` by name) and run that engine's claims."""
    from ..classes.registry import engine_for
    from ..model import build_model
    from ..spec import load_spec

    eng = engine_for(build_model(load_spec(path)), params, engine=engine, order=order)
    return verify_engine(eng, **options)
