"""The converged grid representation: coordinates, resolution ladder, density checks.

1. A reference Gaussian from the linearization and the tails (:func:`.box.reference_law`) gives the
   coordinates and a box; the density computed on the coarsest grid re-centres and re-scales it
   (:func:`.box.refined`).
2. The grid is refined along :data:`LADDER` until the probes (the stationary mean and kernels of every
   order at lags 0, tau_r / 5 and 3 tau_r / 5, tau_r the linearization's relaxation time; with an input
   inside the activation also the single-time contact kernels R^(n) of each order n >= 2) change by at most
   :data:`TOL` relative to each order's size between two successive grids; the change is the error
   estimate reported with every answer (spectral convergence makes the finer grid far better).
3. The walls must hold negligible density: the probability on the outermost layer of nodes and its
   product with the readout must stay below :data:`WALL`; otherwise the box is widened (kappa x 1.35,
   at most twice) and the ladder rerun, then the engine refuses.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy

from ...errors import DerivationError
from ...network import NumericSRNN
from .box import coordinates, reference_law, refined
from .kernels import kernel_values
from .inside import InsideActivation
from .operator import Diagnostics, GridOperator, assemble, density_moments, diagnose, stationary_density

__all__ = ["GridRepresentation", "build_representation", "probe_values", "LADDER", "KAPPA", "TOL", "WALL"]

#: nodes per axis tried in turn, per number of hidden units
LADDER = {1: (64, 96, 128, 192, 256), 2: (32, 40, 48, 56, 64), 3: (12, 16, 20, 24)}
#: the weight w = sqrt(reference density) is e^-kappa at the walls
KAPPA = {1: 22.0, 2: 22.0, 3: 15.0}
#: largest relative change of the probes between the last two grids (the accuracy targets are 1e-8 for
#: one or two hidden units and 1e-5 for three)
TOL = {1: 1e-10, 2: 5e-9, 3: 1e-6}
#: largest probability (and readout-weighted probability) on the walls
WALL = {1: 1e-12, 2: 1e-12, 3: 1e-9}
MAX_WIDEN = 2


@dataclass(frozen=True, slots=True)
class GridRepresentation:
    """The grid operator, its stationary density and the accuracy it reached.

    ``errors[n]`` is the absolute change of the order-n probes on the last refinement (n = 0: the
    stationary mean), ``relative_error`` the largest change relative to its order's size; ``ladder``
    lists (nodes per axis, relative change against the previous grid).
    """

    op: GridOperator
    pi: numpy.ndarray
    lam0: float
    order: int
    errors: tuple[float, ...]
    relative_error: float
    converged: bool
    ladder: tuple[tuple[int, float], ...]
    diagnostics: Diagnostics
    relaxation_time: float
    probe_lags: tuple[float, ...]
    seconds: float
    values: Mapping[str, float] = field(default_factory=dict)

    @property
    def stationary_mean(self) -> numpy.ndarray:
        return self.pi @ self.op.readout

    def error(self, n: int) -> float:
        """Absolute error estimate of the order-n kernels."""
        return self.errors[min(n, len(self.errors) - 1)]


def probe_values(op: GridOperator, pi: numpy.ndarray, order: int, lags: tuple[float, ...]) -> list[numpy.ndarray]:
    """The stationary mean, then kernels of each order 1..order at the probe lags (every lag per axis
    for order 1; all-equal and one mixed lag tuple for higher orders; and, for an input inside the
    activation, the contact kernel of composition (n,) at every lag)."""
    out = [pi @ op.readout]
    for n in range(1, order + 1):
        if n == 1:
            points = [numpy.array(lags)]
        else:
            rows = [[t] * n for t in lags] + [[lags[-1]] + [lags[1]] * (n - 1)]
            points = [numpy.array([r[j] for r in rows]) for j in range(n)]
        values = kernel_values(op, pi, points)
        if op.inside and n >= 2:
            contact = kernel_values(op, pi, [numpy.array(lags)], composition=(n,))
            values = numpy.concatenate([values.ravel(), contact.ravel()])
        out.append(values)
    return out


def _changes(current: list[numpy.ndarray], previous: list[numpy.ndarray]) -> tuple[list[float], float]:
    scales = [float(numpy.abs(c).max(initial=0.0)) for c in current]
    floor = max(1e-3 * max(scales), 1e-300)
    absolute = [float(numpy.abs(c - p).max(initial=0.0)) for c, p in zip(current, previous)]
    relative = max(a / max(s, floor) for a, s in zip(absolute, scales))
    return absolute, relative


def _ladder(net: NumericSRNN, coords, order: int, lags: tuple[float, ...], tol: float,
            inside: InsideActivation | None):
    n = net.n_hidden
    previous = None
    steps = []
    for N in LADDER[n]:
        op = assemble(net, coords, N, inside)
        pi, lam0 = stationary_density(op, 1 / lags[-1])
        probe = probe_values(op, pi, order, lags)
        if previous is None:
            steps.append((N, float("nan")))
        else:
            absolute, relative = _changes(probe, previous)
            steps.append((N, relative))
            if relative <= tol:
                return op, pi, lam0, absolute, relative, True, tuple(steps)
        previous = probe
    return op, pi, lam0, absolute, relative, False, tuple(steps)


def build_representation(net: NumericSRNN, *, order: int, values: Mapping[str, float] | None = None,
                         tol: float | None = None, inside: InsideActivation | None = None) -> GridRepresentation:
    """The converged representation of ``net`` (module docstring) for kernels up to ``order``; ``inside``
    (:func:`.inside.inside_activation`) when the input enters the activation."""
    start = time.perf_counter()
    n = net.n_hidden
    if n not in LADDER:
        raise DerivationError(f"the grid engine handles 1 to 3 hidden units, not {n}")
    tol = TOL[n] if tol is None else tol
    Sigma = net.sigma @ net.sigma.T
    reference = reference_law(net)
    t_r = float(reference.relaxation_time)
    lags = (0.0, 0.2 * t_r, 0.6 * t_r)
    kappa = KAPPA[n]
    for _ in range(MAX_WIDEN + 1):
        first = assemble(net, coordinates(reference, Sigma, kappa), LADDER[n][0], inside)
        pi0, _ = stationary_density(first, 1 / t_r)
        coords = coordinates(refined(reference, *density_moments(first, pi0)), Sigma, kappa)
        op, pi, lam0, absolute, relative, converged, steps = _ladder(net, coords, order, lags, tol, inside)
        diagnostics = diagnose(op, pi)
        if max(diagnostics.wall_mass, diagnostics.readout_wall) <= WALL[n]:
            break
        kappa *= 1.35
    else:
        raise DerivationError(f"the density does not vanish at the walls of the grid's box (probability "
                              f"{diagnostics.wall_mass:.1e} on the walls, readout-weighted "
                              f"{diagnostics.readout_wall:.1e}, after widening it twice): no normalisable "
                              "invariant density, or tails too heavy for the grid engine")
    if not converged:
        warnings.warn(f"grid kernels did not converge to {tol:g} (last relative change {relative:.1e} at "
                      f"{op.N} nodes per axis); the error estimates say so", RuntimeWarning, stacklevel=3)
    floor = 1e-15 * max(1.0, float(numpy.abs(pi @ op.readout).max()))
    errors = tuple(max(a, floor) for a in absolute)
    return GridRepresentation(op=op, pi=pi, lam0=lam0, order=order, errors=errors, relative_error=relative,
                              converged=converged, ladder=steps, diagnostics=diagnostics, relaxation_time=t_r,
                              probe_lags=lags, seconds=time.perf_counter() - start, values=dict(values or {}))
