"""Stationary means <g>_inf of the gradient class under the symbolic density, by quadrature independent
of the spectral engine: mpmath tanh-sinh (one unit) or a level-set trapezoidal rule, and float64."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import mpmath
import numpy
import sympy

from ...classes.gradient.law import GradientLaw
from .gaussian_path import NoOracle, parameter_substitution
from .numeric_law import law_function, level_box, numeric_law

__all__ = ["QuadratureResult", "mp_density_means", "float_density_means"]


# --- stationary means by mpmath quadrature ---------------------------------------------------------


@dataclass(frozen=True)
class QuadratureResult:
    """Normalised stationary means ``values`` (mpf), the normaliser ``Z`` and the agreement ``digits``
    of two independent rules (quad at two precisions in 1-D, two trapezoidal grids in 2-D)."""

    values: tuple
    Z: object
    digits: float
    method: str


def mp_density_means(law: GradientLaw, values: Mapping[str, float], exprs: Sequence[sympy.Expr], *,
                     dps: int, method: str = "auto", target: float | None = None) -> QuadratureResult:
    """<g>_inf = int g e^{log rho} / int e^{log rho} for each g, at ``dps`` digits (1 or 2 hidden units).

    ``method``: ``"quad"`` (1-D only: ``mpmath.quad`` on the real line split at the mode, at ``dps`` and
    ``dps + 10``), ``"trapezoid"`` (all expressions evaluated together on one grid; the grid is refined
    by 1.25 until two successive rules agree to ``target`` digits, default dps - 5), or ``"auto"``
    (quad in 1-D, trapezoid in 2-D).
    """
    nl = numeric_law(law, values)
    subs = parameter_substitution(law.model, values)
    logr = sympy.sympify(law.log_density).subs(subs)
    gs = [sympy.sympify(e).subs(subs) for e in exprs]
    if nl.n not in (1, 2):
        raise NoOracle(f"no mpmath quadrature of the density for {nl.n} hidden units")
    if method == "auto":
        method = "quad" if nl.n == 1 else "trapezoid"
    if method == "quad":
        if nl.n != 1:
            raise ValueError("mpmath.quad is used in one dimension only")
        centre, _ = level_box(nl, 20.0)
        return _quad_1d(nl, logr, gs, float(centre[0]), dps)
    return _trapezoid(nl, logr, gs, dps, dps - 5 if target is None else target)


def _quad_1d(nl, logr, gs, centre: float, dps: int) -> QuadratureResult:
    h = nl.hidden
    results = []
    for work in (dps, dps + 10):
        with mpmath.workdps(work + 10):
            lr = sympy.lambdify(h, logr, modules="mpmath", docstring_limit=0)
            fs = [sympy.lambdify(h, g, modules="mpmath", docstring_limit=0) for g in gs]
            c = mpmath.mpf(centre)
            peak = lr(c)
            span = [-mpmath.inf, c, mpmath.inf]
            Z = mpmath.quad(lambda x: mpmath.exp(lr(x) - peak), span)
            vals = tuple(mpmath.quad(lambda x, f=f: f(x) * mpmath.exp(lr(x) - peak), span) / Z for f in fs)
            results.append((Z * mpmath.exp(peak), vals))
    with mpmath.workdps(dps + 20):
        digits = _agreement(results[0][1] + (results[0][0],), results[1][1] + (results[1][0],), cap=dps)
    return QuadratureResult(results[1][1], results[1][0], digits, f"mpmath.quad (tanh-sinh) at dps {dps} and {dps + 10}")


TRAPEZOID_BASE = {1: 96, 2: 64}
TRAPEZOID_MAX = {1: 1600, 2: 220}


def _trapezoid(nl, logr, gs, dps: int, target: float) -> QuadratureResult:
    """Trapezoidal rule on a box where rho/rho_max < 10^-(dps + 3): spectrally accurate for an analytic,
    rapidly decaying integrand. The grid is refined by 1.25 per axis until two successive rules agree
    to ``target`` digits; the finer one is returned with that agreement as its digits."""
    h = nl.hidden
    n = nl.n
    kappa = (dps + 3) * math.log(10) / 2
    _, box = level_box(nl, kappa)
    with mpmath.workdps(dps + 10):
        lr = sympy.lambdify(h, logr, modules="mpmath", cse=True)
        fs = sympy.lambdify(h, list(gs), modules="mpmath", cse=True) if gs else None
        bounds = [(mpmath.mpf(lo), mpmath.mpf(hi)) for lo, hi in box]

        def rule(N: int):
            axes = [[lo + (hi - lo) * i / (N - 1) for i in range(N)] for lo, hi in bounds]
            points = list(itertools.product(*axes))
            logs = [lr(*p) for p in points]
            peak = max(logs)
            floor = mpmath.mpf(10) ** (-(dps + 12))
            Z = mpmath.mpf(0)
            sums = [mpmath.mpf(0)] * len(gs)
            for p, lv in zip(points, logs):
                w = mpmath.exp(lv - peak)
                if w < floor:
                    continue
                Z += w
                if fs is not None:
                    for i, g in enumerate(fs(*p)):
                        sums[i] += w * g
            cell = functools.reduce(lambda a, b: a * b, [(hi - lo) / (N - 1) for lo, hi in bounds])
            return Z * cell * mpmath.exp(peak), tuple(s / Z for s in sums)

        N = TRAPEZOID_BASE[n]
        previous = rule(N)
        while True:
            N_next = int(N * 1.25) + 1
            current = rule(N_next)
            digits = _agreement(previous[1] + (previous[0],), current[1] + (current[0],), cap=dps)
            if digits >= target or N_next * 1.25 > TRAPEZOID_MAX[n]:
                break
            N, previous = N_next, current
    return QuadratureResult(current[1], current[0], digits,
                            f"trapezoidal rule on {N_next}^{n} nodes (vs {N}^{n}) at dps {dps}")


def _agreement(a: Sequence, b: Sequence, cap: float) -> float:
    scale = max((abs(x) for x in b), default=mpmath.mpf(1)) or mpmath.mpf(1)
    error = max((abs(x - y) for x, y in zip(a, b)), default=mpmath.mpf(0))
    if error == 0:
        return float(cap)
    return float(min(cap, max(0.0, -mpmath.log10(error / scale))))


def float_density_means(law: GradientLaw, values: Mapping[str, float], exprs: Sequence[sympy.Expr], *,
                        nodes: int = 160) -> numpy.ndarray:
    """<g>_inf by a float64 trapezoidal rule on the kappa = 21 box (for high Taylor words, whose
    contribution near zero lag is small enough that float64 suffices)."""
    nl = numeric_law(law, values)
    subs = parameter_substitution(law.model, values)
    _, box = level_box(nl, 21.0)
    axes = [numpy.linspace(lo, hi, nodes) for lo, hi in box]
    grid = numpy.meshgrid(*axes, indexing="ij")
    logr = law_function(nl, sympy.sympify(law.log_density).subs(subs))(*grid)
    w = numpy.exp(logr - logr.max())
    w /= w.sum()
    return numpy.array([float((w * law_function(nl, sympy.sympify(e).subs(subs))(*grid)).sum()) for e in exprs])
