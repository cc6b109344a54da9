"""Actions of the discrete semigroup: e^{t A} V by a truncated Taylor series with scaling.

The algorithm of Al-Mohy and Higham (SIAM J. Sci. Comput. 33, 2011), with the 1-norm of A - shift I
in place of their norm estimates: the number s of sub-steps and the degree m are chosen so that
t ||A - shift I||_1 / s <= theta_m, which bounds the backward error by the unit roundoff; the series
of each sub-step stops early once two successive terms are negligible. It needs only products with
A (a sparse matrix or a function), never eigenvectors, so it is indifferent to A being non-normal
or having complex eigenvalues (the generator of a non-reversible network).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy

__all__ = ["THETA", "taylor_plan", "expmv", "sweep"]

#: theta_m for the unit roundoff 2^-53 (Al-Mohy & Higham 2011, Table 3.1)
THETA = {1: 2.29e-16, 2: 2.58e-8, 3: 1.39e-5, 4: 3.40e-4, 5: 2.40e-3, 6: 9.07e-3, 7: 2.38e-2, 8: 5.00e-2,
         9: 8.96e-2, 10: 1.44e-1, 11: 2.14e-1, 12: 3.00e-1, 13: 4.00e-1, 14: 5.14e-1, 15: 6.41e-1, 16: 7.81e-1,
         17: 9.31e-1, 18: 1.09, 19: 1.26, 20: 1.44, 21: 1.62, 22: 1.82, 23: 2.01, 24: 2.22, 25: 2.43, 26: 2.64,
         27: 2.86, 28: 3.08, 29: 3.31, 30: 3.54, 35: 4.7, 40: 6.0, 45: 7.2, 50: 8.5, 55: 9.9}
UNIT_ROUNDOFF = 2.0**-53


def taylor_plan(size: float) -> tuple[int, int]:
    """(m, s): degree and sub-steps for ||t (A - shift I)||_1 = ``size``, minimising m * s.

    >>> taylor_plan(0.0)
    (1, 1)
    >>> taylor_plan(100.0)
    (50, 12)
    """
    if size <= 0:
        return 1, 1
    best = None
    for m, theta in THETA.items():
        s = max(1, math.ceil(size / theta))
        if best is None or m * s < best[0] * best[1]:
            best = (m, s)
    return best


def expmv(apply: Callable[[numpy.ndarray], numpy.ndarray], V: numpy.ndarray, t: float, norm: float,
          shift: float = 0.0) -> numpy.ndarray:
    """e^{t A} V, where ``apply(X) = A @ X`` and ``norm`` >= ||A - shift I||_1 (module docstring).

    >>> A = numpy.array([[-1.0, 2.0], [0.0, -3.0]])
    >>> got = expmv(lambda X: A @ X, numpy.eye(2), 0.7, numpy.abs(A).sum(axis=0).max())
    >>> expected = numpy.array([[numpy.exp(-0.7), numpy.exp(-0.7) - numpy.exp(-2.1)], [0.0, numpy.exp(-2.1)]])
    >>> bool(numpy.allclose(got, expected, rtol=1e-14, atol=0))
    True
    """
    F = numpy.array(V, dtype=numpy.result_type(numpy.asarray(V).dtype, numpy.float64))  # complex V stays complex
    if t == 0 or F.size == 0:
        return F
    m, s = taylor_plan(abs(t) * norm)
    eta = math.exp(t * shift / s)
    B = F.copy()
    for _ in range(s):
        c1 = float(numpy.abs(B).max())
        for j in range(1, m + 1):
            B = (t / (s * j)) * (apply(B) - shift * B)
            c2 = float(numpy.abs(B).max())
            F += B
            if c1 + c2 <= UNIT_ROUNDOFF * float(numpy.abs(F).max()):
                break
            c1 = c2
        F *= eta
        B = F.copy()
    return F


#: a sweep proceeds in steps of at most this much t ||A - shift I||_1 and stops once the vector no longer changes
SWEEP_CHUNK = 64.0


def sweep(apply: Callable[[numpy.ndarray], numpy.ndarray], V: numpy.ndarray, times: Sequence[float], norm: float,
          shift: float = 0.0) -> numpy.ndarray:
    """e^{t A} V for each of ``times`` (non-negative, increasing), shape (len(times),) + V.shape; each
    value is propagated from the previous one, so the work is that of the largest time. For a
    generator (every eigenvalue but one decaying) e^{t A} V settles: once a step of SWEEP_CHUNK / norm
    changes it by less than the unit roundoff of its size, later times take the settled value."""
    times = numpy.asarray(times, dtype=numpy.float64)
    if times.size and (times[0] < 0 or numpy.any(numpy.diff(times) < 0)):
        raise ValueError("sweep times must be non-negative and increasing")
    out = numpy.empty((len(times),) + numpy.shape(V))
    current, now = numpy.array(V, dtype=numpy.float64), 0.0
    scale = float(numpy.abs(current).max(initial=0.0))
    chunk = SWEEP_CHUNK / norm if norm > 0 else math.inf
    settled = False
    for i, t in enumerate(times):
        while t > now and not settled:
            step = min(float(t - now), chunk)
            new = expmv(apply, current, step, norm, shift)
            change = float(numpy.abs(new - current).max(initial=0.0))
            settled = step == chunk and change <= UNIT_ROUNDOFF * max(scale, float(numpy.abs(new).max(initial=0.0)))
            current, now = new, now + step
        out[i] = current
    return out
