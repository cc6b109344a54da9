"""The truncated Volterra series at one time t, in O(steps) work.

For the OU class the n-th term is  eps^n <M^(n), Z^(n)(t)>  with the nested simplex integral

    Z^(n)(t) = int_{0 < s_n < ... < s_1 < t} (e^{A(t-s_1)} C u_{s_1}) (x) ... (x) (e^{A(t-s_n)} C u_{s_n}) ds.

Splitting off s_1 gives Z^(n)(t) = int_0^t (e^{A(t-s)})^{(x) n} [C u_s (x) Z^(n-1)(s)] ds, i.e.

    dZ^(n)/dt = (A (+) ... (+) A) Z^(n) + (C u_t) (x) Z^(n-1),     Z^(0) = 1,  Z^(n)(0) = 0,

a lower block-triangular linear ODE (axis 0 of Z^(n) belongs to the latest time s_1). It is
integrated by classical RK4 with Richardson extrapolation, doubling the step count until two
extrapolated values agree to ``tol``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy

from ...errors import DerivationError, InputError
from ...inputs import check_input_rate
from ..engine import SeriesResult
from .evaluate import NumericKernels

__all__ = ["SeriesResult", "series_terms"]

_DENSE_LIMIT = 1500
_MAX_STEPS = 2**18
MAX_RATE_TIME = 2e4  # t times the fastest rate of A


def _operator(nk: NumericKernels, order: int) -> tuple[Callable, int]:
    """Return apply(Y, u) = G(u) Y on the flat state Y = (Z^0, Z^1, ..., Z^order)."""
    A, C = nk.A, nk.C
    n = A.shape[0]
    sizes = [n**k for k in range(order + 1)]
    offsets = numpy.concatenate([[0], numpy.cumsum(sizes)])
    D = int(offsets[-1])
    if D <= _DENSE_LIMIT:
        L = numpy.zeros((D, D))
        B = numpy.zeros((C.shape[1], D, D))
        for k in range(1, order + 1):
            block = slice(offsets[k], offsets[k + 1])
            lower = slice(offsets[k - 1], offsets[k])
            ksum = numpy.zeros((sizes[k], sizes[k]))
            for axis in range(k):
                ksum += numpy.kron(numpy.kron(numpy.eye(n**axis), A), numpy.eye(n ** (k - 1 - axis)))
            L[block, block] = ksum
            for c in range(C.shape[1]):
                B[c, block, lower] = numpy.kron(C[:, c : c + 1], numpy.eye(sizes[k - 1]))

        def apply(Y: numpy.ndarray, u: numpy.ndarray) -> numpy.ndarray:
            return (L + numpy.tensordot(u, B, axes=1)) @ Y

        return apply, D

    def apply(Y: numpy.ndarray, u: numpy.ndarray) -> numpy.ndarray:
        out = numpy.zeros_like(Y)
        drive = C @ u
        for k in range(1, order + 1):
            Z = Y[offsets[k] : offsets[k + 1]].reshape((n,) * k)
            dZ = numpy.zeros_like(Z)
            for axis in range(k):
                dZ += numpy.moveaxis(numpy.tensordot(A, Z, axes=([1], [axis])), 0, axis)
            dZ += numpy.multiply.outer(drive, Y[offsets[k - 1] : offsets[k]].reshape((n,) * (k - 1)))
            out[offsets[k] : offsets[k + 1]] = dZ.ravel()
        return out

    return apply, D


def _rk4(apply: Callable, D: int, u: Callable, t: float, steps: int) -> numpy.ndarray:
    h = t / steps
    grid = numpy.linspace(0.0, t, 2 * steps + 1)
    U = numpy.asarray(u(grid), dtype=numpy.float64)
    Y = numpy.zeros(D)
    Y[0] = 1.0
    for i in range(steps):
        u0, uh, u1 = U[2 * i], U[2 * i + 1], U[2 * i + 2]
        k1 = apply(Y, u0)
        k2 = apply(Y + 0.5 * h * k1, uh)
        k3 = apply(Y + 0.5 * h * k2, uh)
        k4 = apply(Y + h * k3, u1)
        Y = Y + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
    return Y


def series_terms(
    nk: NumericKernels,
    u: Callable[[numpy.ndarray], numpy.ndarray],
    t: float,
    eps: float,
    *,
    order: int | None = None,
    tol: float = 1e-11,
) -> SeriesResult:
    """Terms 0..order of the series at time ``t`` for a smooth input ``u(times) -> (len, m)``."""
    order = nk.order if order is None else order
    if not 0 <= order <= nk.order:
        raise InputError(f"order {order} is outside 0..{nk.order} (the derived order)", field="order")
    if not numpy.isfinite(t) or t < 0:
        raise InputError(f"time {t} must be finite and >= 0", field="t")
    if not numpy.isfinite(eps) or abs(eps) > 1e100:
        raise InputError(f"eps {eps} must be finite and |eps| <= 1e100", field="eps")
    m = nk.C.shape[1]
    probe = numpy.asarray(u(numpy.array([0.0, t])), dtype=numpy.float64)
    if probe.shape != (2, m):
        raise InputError(f"the input gives shape {probe.shape[1:]} per time; the model has {m} input channel(s)",
                         field="inputs")
    if t > 0 and order > 0:
        check_input_rate(u, t)
    n = nk.A.shape[0]
    apply, D = _operator(nk, order)
    sizes = [n**k for k in range(order + 1)]
    offsets = numpy.concatenate([[0], numpy.cumsum(sizes)])

    def contract(Y: numpy.ndarray, absolute: bool = False) -> numpy.ndarray:
        out = numpy.empty((order + 1, nk.moments[0].shape[0]))
        for k in range(order + 1):
            M = nk.moments[k].reshape(nk.moments[k].shape[0], -1)
            Z = Y[offsets[k] : offsets[k + 1]]
            out[k] = numpy.abs(M) @ numpy.abs(Z) * abs(eps) ** k if absolute else M @ Z * eps**k
        return out

    if t == 0 or order == 0:
        Y = numpy.zeros(D)
        Y[0] = 1.0
        return SeriesResult(t, eps, contract(Y), 0, 0.0)

    rate = max(1.0, float(numpy.abs(numpy.linalg.eigvals(nk.A)).max()))
    if t * rate > MAX_RATE_TIME:
        raise InputError(
            f"t = {t:g} is {t * rate:.3g} relaxation times of the fastest mode; the adaptive integrator is limited "
            f"to {MAX_RATE_TIME:g} (use a generated module's series() for long sampled inputs)",
            field="t",
        )
    steps = int(min(_MAX_STEPS // 4, max(16, numpy.ceil(2 * t * rate))))
    coarse = _rk4(apply, D, u, t, steps)
    previous = None
    while True:
        fine = _rk4(apply, D, u, t, 2 * steps)
        extrapolated = fine + (fine - coarse) / 15.0
        terms = contract(extrapolated)
        scale = contract(extrapolated, absolute=True)
        if not numpy.all(numpy.isfinite(terms)):
            raise InputError("the series is not finite (input or eps too large)", field="eps")
        if previous is not None:
            error = numpy.abs(terms - previous)
            # relative to each order's largest term, with a rounding floor from the whole state
            bound = tol * numpy.abs(terms).max(axis=1, keepdims=True) + 1e-14 * scale.max(axis=1, keepdims=True)
            if numpy.all(error <= bound):
                return SeriesResult(t, eps, terms, 2 * steps, float(error.max()))
        if 4 * steps > _MAX_STEPS:
            worst = float(numpy.abs(terms - previous).max()) if previous is not None else float("nan")
            raise DerivationError(
                f"the series did not converge to {tol:g} within {2 * steps} RK4 steps (last change {worst:.3g}); "
                "the input probably varies too fast for this horizon"
            )
        previous = terms
        steps *= 2
        coarse = fine
