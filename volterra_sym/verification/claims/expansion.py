"""The series is the eps-Taylor expansion of the engine's own all-order driven mean (self-consistency).

``series_vs_driven_mean`` compares the engine's series terms at (t, eps, u) with the Taylor coefficients
of its all-order driven mean E f(h_t; eps) in eps, by the Cauchy integral on a circle |eps| = r:

    c_n = 1/K sum_j E f(h_t; r e^{i theta_j}) e^{-i n theta_j} / r^n,   term_n = c_n eps^n,

with the driven mean at complex eps (the engine's forward equation is linear in the density and
analytic in eps; conjugate points are conjugate values, so K/2 + 1 solves). For an input inside
the activation this checks that the series' contact terms (L_j, j >= 2) are those of the drift
a(z + eps C u) - a(z) the driven mean uses without expansion. An additive input has no contact terms
and its series and driven mean are each compared with the forward route, so the claim is skipped
there (it is kept off the additive specs' run time). Both sides come from the engine, so the claim is labelled
self-consistency (``independent=False``).

The radius keeps |Im(eps C u)| <= 1/2 (inside tanh's strip of analyticity |Im| < pi/2); the aliasing
of coefficient n + K is estimated by the same sum over every other point (K/2 points) and reported.

The run passed in provides ``order``, ``t``, ``eps``, ``u`` (a TrigInput), ``model`` (its C), ``values``,
``engine_series()`` and ``engine_driven_mean_at(eps)`` (complex eps allowed).
"""

from __future__ import annotations

import math
from typing import Any

import numpy

from ..oracles.gaussian_path import parameter_substitution
from ..results import ClaimResult, Tally, skipped_claim

__all__ = ["series_vs_driven_mean", "EXPANSION_DIGITS", "CIRCLE_POINTS"]

#: the engine's series and driven mean are each converged to ~1e-11
EXPANSION_DIGITS = 8.0
#: points on the circle (K)
CIRCLE_POINTS = 24


def _input_bound(run: Any) -> float:
    """max_t |(C u(t))_i| bounded from the TrigInput's amplitudes (|a| + sqrt(b^2 + c^2) per channel)."""
    u = run.u
    amplitude = numpy.array([abs(a) + math.hypot(b, c) for a, b, c in zip(u.offset, u.cos, u.sin)])
    C = numpy.abs(numpy.asarray(run.model.C.subs(parameter_substitution(run.model, run.values)).evalf(20).tolist(),
                                dtype=float))
    return float((C @ amplitude).max())


def series_vs_driven_mean(run: Any) -> ClaimResult:
    """Engine series terms vs the Cauchy coefficients of the engine's all-order driven mean (module docstring)."""
    if run.order < 1:
        return skipped_claim("series_vs_driven_mean", EXPANSION_DIGITS, "the spec's order is 0 (no series terms)")
    if run.model.input_placement == "additive":
        return skipped_claim("series_vs_driven_mean", EXPANSION_DIGITS, "an additive input has no contact terms to "
                             "check against the all-order drift (its series and driven mean are each compared by "
                             "forward_fokker_planck)")
    bound = _input_bound(run)
    radius = min(1.0, 0.5 / bound) if bound > 0 else 1.0
    K = CIRCLE_POINTS
    theta = 2 * math.pi * numpy.arange(K) / K
    points = radius * numpy.exp(1j * theta)
    half = [run.engine_driven_mean_at(complex(e)) for e in points[: K // 2 + 1]]
    values = numpy.array(half + [numpy.conj(v) for v in half[1: K // 2][::-1]])  # M(conj eps) = conj M(eps)
    terms = run.engine_series()
    tally = Tally(16.0)
    alias = 0.0
    coefficients = []
    for n in range(run.order + 1):
        c = numpy.real(numpy.mean(values * numpy.exp(-1j * n * theta)[:, None], axis=0)) / radius**n
        coarse = numpy.real(numpy.mean(values[::2] * numpy.exp(-1j * n * theta[::2])[:, None], axis=0)) / radius**n
        coefficients.append(c * run.eps**n)
        alias = max(alias, float(numpy.abs(c - coarse).max() * abs(run.eps) ** n))
    coefficients = numpy.array(coefficients)
    for n, row in enumerate(coefficients):
        scale = max(float(numpy.abs(row).max()), float(numpy.abs(coefficients).max()) * 1e-2, 1e-300)
        for q in range(row.shape[0]):
            tally.compare(float(terms[n][q]), float(row[q]), scale, f"series term {n} of f{q + 1}")
    return tally.result("series_vs_driven_mean", EXPANSION_DIGITS,
                        f"engine series terms at t={run.t:g}, eps={run.eps:g} vs the Cauchy coefficients of the "
                        f"engine's all-order driven mean on |eps| = {radius:.3g} ({K} points, max |C u| <= {bound:.3g}); "
                        f"the coefficients move by {alias:.1e} with every other point")
