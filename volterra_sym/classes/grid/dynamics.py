"""The driven network on the grid: series terms and the all-order driven mean E f(h_t).

In row form (theory.md 3a, discretised) the density seen through the weight evolves as
z' = z (H + eps sum_k u_k(t) B_k) from z(0) = pi, and E f(h_t) = z(t) . (w f). Its eps-expansion is
the cascade z^(0) = pi, z^(n)' = z^(n) H + sum_k u_k(t) z^(n-1) B_k, term n = eps^n z^(n)(t) . (w f),
whose nested integrals are the simplex integrals of the kernels (:mod:`.kernels`). With the input inside
the activation (:mod:`.inside`, theory.md 7.1) the cascade gains the contact couplings,
z^(n)' = z^(n) H + sum_{j=1}^{n} z^(n-j) L_j(u(t)), and the driven mean is z' = z (H + B_{V(t)}) with the
whole perturbation V(t) = a(z + eps C u(t)) - a(z) (eps may be complex).

Both are linear and non-autonomous; they are integrated in column form by the fourth-order
commutator-free Magnus method of Blanes and Moan (2006),

    y_{i+1} = exp(h (a1 A(t_i + c1 h) + a2 A(t_i + c2 h))) exp(h (a2 A(t_i + c1 h) + a1 A(t_i + c2 h))) y_i,
    a1,2 = 1/4 -+ sqrt(3)/6, c1,2 = 1/2 -+ sqrt(3)/6,

each exponential applied by :func:`.expmv.expmv` (exact in H up to rounding, so the stiffness of the
generator does not limit the step). The combination at the two Gauss points is taken of the input
values for an additive input (its operators are linear in u) and of the operators' fields otherwise
(L_j(u) and B_{V} are linear in their fields, not in u). The number of steps per output interval is doubled until the
recorded values change by at most ``tol`` (relative to max(1, |value|)), or until two successive
Richardson extrapolations (the method is symmetric: errors in even powers h^4, h^6, ...) do; the
change is returned as the error estimate.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy
import scipy.sparse

from ...errors import DerivationError, InputError
from .expmv import expmv
from .inside import cascade_fields, field_matrix, field_norm, perturbation_field, real_matmul
from .operator import GridOperator

__all__ = ["integrate", "series_on_grid", "driven_mean_on_grid", "MAX_STEPS"]

A1, A2 = (3 - 2 * math.sqrt(3)) / 12, (3 + 2 * math.sqrt(3)) / 12
C1, C2 = 0.5 - math.sqrt(3) / 6, 0.5 + math.sqrt(3) / 6
MAX_STEPS = 2**14


def _coupling(op: GridOperator, coeff: numpy.ndarray):
    """sum_k coeff_k B_k^T (sparse, or dense on a small grid) and its 1-norm bound."""
    parts = [(c, B, nb) for c, B, nb in zip(coeff, op.inputsT, op.input_norms) if c != 0]
    if not parts:
        return None, 0.0
    total = parts[0][0] * parts[0][1]
    for c, B, _ in parts[1:]:
        total = total + c * B
    if scipy.sparse.issparse(total):
        total = scipy.sparse.csr_matrix(total)
    return total, float(sum(abs(c) * nb for c, _, nb in parts))


def _driven_step(op: GridOperator, y: numpy.ndarray, h: float, weights: tuple[float, float], u1: numpy.ndarray,
                 u2: numpy.ndarray) -> numpy.ndarray:
    """exp(h/2 H^T + sum_k coeff_k B_k^T) y, coeff = h (a u1 + b u2) for the weights (a, b)."""
    a, b = weights
    D, dnorm = _coupling(op, h * (a * u1 + b * u2))
    Omega = 0.5 * h * op.HT if D is None else 0.5 * h * op.HT + D
    return expmv(Omega.__matmul__, y, 1.0, 0.5 * h * op.norm_T + dnorm, 0.5 * h * op.shift_T)


def _cascade_step(op: GridOperator, Y: numpy.ndarray, h: float, weights: tuple[float, float], u1: numpy.ndarray,
                  u2: numpy.ndarray) -> numpy.ndarray:
    """The same exponential on the block lower-bidiagonal cascade: columns are the orders."""
    a, b = weights
    D, dnorm = _coupling(op, h * (a * u1 + b * u2))
    half = 0.5 * h * op.HT

    def apply(X: numpy.ndarray) -> numpy.ndarray:
        out = half @ X
        if D is not None:
            out[:, 1:] += D @ X[:, :-1]
        return out

    return expmv(apply, Y, 1.0, 0.5 * h * op.norm_T + dnorm, 0.5 * h * op.shift_T)


def _inside_driven_step(op: GridOperator, eps: complex, y: numpy.ndarray, h: float, weights: tuple[float, float],
                        u1: numpy.ndarray, u2: numpy.ndarray) -> numpy.ndarray:
    """exp(h/2 H^T + B_v^T) y with the field v = h (a V(t1) + b V(t2)) of the whole perturbation."""
    field = perturbation_field(op, weights, u1, u2, h, eps)
    D = field_matrix(op, field)
    half = 0.5 * h * op.HT
    if D is None:
        return expmv(lambda X: real_matmul(half, X), y, 1.0, 0.5 * h * op.norm_T, 0.5 * h * op.shift_T)
    Omega = half + D
    return expmv(Omega.__matmul__, y, 1.0, 0.5 * h * op.norm_T + field_norm(op, field), 0.5 * h * op.shift_T)


def _inside_cascade_step(op: GridOperator, Y: numpy.ndarray, h: float, weights: tuple[float, float],
                         u1: numpy.ndarray, u2: numpy.ndarray) -> numpy.ndarray:
    """The cascade's exponential with the couplings h (a L_j(u(t1)) + b L_j(u(t2))) from order n - j to n."""
    order = Y.shape[1] - 1
    fields = cascade_fields(op, weights, u1, u2, h, order)
    couplings = [(j, field_matrix(op, field)) for j, field in enumerate(fields, start=1)]
    couplings = [(j, D) for j, D in couplings if D is not None]
    half = 0.5 * h * op.HT

    def apply(X: numpy.ndarray) -> numpy.ndarray:
        out = half @ X
        for j, D in couplings:
            out[:, j:] += D @ X[:, :-j]
        return out

    bound = 0.5 * h * op.norm_T + sum(field_norm(op, f) for f in fields)
    return expmv(apply, Y, 1.0, bound, 0.5 * h * op.shift_T)


def _uniform(times: numpy.ndarray) -> float:
    delta = float(times[1] - times[0])
    if abs(times[0]) > 0 or not numpy.allclose(numpy.diff(times), delta, rtol=1e-9, atol=0):
        raise InputError("the time grid must be uniform and start at 0", field="times")
    return delta


def integrate(step: Callable, y0: numpy.ndarray, record: Callable, u: Callable, coupling: float,
              times: numpy.typing.ArrayLike, tol: float, h0: float,
              screen: Callable | None = None) -> tuple[numpy.ndarray, int, float]:
    """Records of the Magnus integration at a uniform grid of ``times`` from 0; the input enters as
    ``coupling * u``, and ``step(y, h, (a, b), u1, u2)`` applies exp(h (a A(t1) + b A(t2))) for the input
    values u1, u2 at the Gauss points. ``screen(records)``, if given, sees the first (coarsest) run and
    may raise to stop before the refinement. Returns (records, steps of the last run, last change)."""
    times = numpy.asarray(times, dtype=numpy.float64)
    first = record(y0)
    if len(times) < 2 or times[-1] == 0:
        return numpy.stack([first] * len(times)), 0, 0.0
    delta = _uniform(times)
    intervals = len(times) - 1

    def run(sub: int) -> numpy.ndarray:
        h = delta / sub
        starts = numpy.arange(sub * intervals) * h
        U1 = coupling * numpy.asarray(u(starts + C1 * h), dtype=numpy.float64)
        U2 = coupling * numpy.asarray(u(starts + C2 * h), dtype=numpy.float64)
        if not (numpy.all(numpy.isfinite(U1)) and numpy.all(numpy.isfinite(U2))):
            raise InputError("the input is not finite on [0, t]", field="inputs")
        out = numpy.empty((len(times),) + numpy.shape(first), dtype=numpy.result_type(first, numpy.float64))
        out[0] = first
        y = y0.copy()
        for i in range(sub * intervals):
            y = step(y, h, (A2, A1), U1[i], U2[i])
            y = step(y, h, (A1, A2), U1[i], U2[i])
            if (i + 1) % sub == 0:
                out[(i + 1) // sub] = record(y)
        return out

    sub = max(1, math.ceil(delta / h0))
    if 2 * sub * intervals > MAX_STEPS:  # no room to double: refuse before the first run
        raise InputError(f"the time integration needs at least {2 * sub * intervals} steps (limit {MAX_STEPS}) "
                         f"over t = {float(times[-1]):g}: use a shorter horizon", field="t")
    previous, extrapolated = run(sub), None
    if screen is not None:
        screen(previous)
    while True:
        if 2 * sub * intervals > MAX_STEPS:
            raise DerivationError(f"the time integration did not converge to {tol:g} within {sub * intervals} steps; "
                                  "the input varies too fast for this horizon")
        sub *= 2
        current = run(sub)
        change = numpy.abs(current - previous)
        if numpy.all(change <= tol * numpy.maximum(1.0, numpy.abs(current))):
            return current, sub * intervals, float(change.max(initial=0.0))
        # the method is symmetric (global error c4 h^4 + c6 h^6 + ...): Richardson-extrapolate, and accept
        # when two successive extrapolations agree
        richer = current + (current - previous) / 15
        if extrapolated is not None:
            change = numpy.abs(richer - extrapolated)
            if numpy.all(change <= tol * numpy.maximum(1.0, numpy.abs(richer))):
                return richer, sub * intervals, float(change.max(initial=0.0))
        previous, extrapolated = current, richer


def _check_input(op: GridOperator, u: Callable, t: float) -> None:
    m = len(op.inputs)
    probe = numpy.asarray(u(numpy.array([0.0, t])), dtype=numpy.float64)
    if probe.shape != (2, m):
        raise InputError(f"the input gives shape {probe.shape[1:]} per time; the model has {m} input channel(s)",
                         field="inputs")


def series_on_grid(op: GridOperator, pi: numpy.ndarray, u: Callable, times: numpy.typing.ArrayLike, *, order: int,
                   eps: float = 1.0, tol: float, h0: float) -> tuple[numpy.ndarray, int, float]:
    """Terms 0..order at every time of a uniform grid from 0, shape (T, order + 1, p)."""
    times = numpy.asarray(times, dtype=numpy.float64)
    _check_input(op, u, float(times[-1]))
    Y0 = numpy.zeros((op.size, order + 1))
    Y0[:, 0] = pi
    powers = (float(eps) ** numpy.arange(order + 1))[:, None]

    def record(Y):
        return (Y.T @ op.readout) * powers

    step = _inside_cascade_step if op.inside else _cascade_step
    return integrate(lambda Y, *args: step(op, Y, *args), Y0, record, u, 1.0, times, tol, h0)


def driven_mean_on_grid(op: GridOperator, pi: numpy.ndarray, u: Callable, times: numpy.typing.ArrayLike,
                        eps: complex, *, tol: float, h0: float, screen_wall: Callable[[float], None] | None = None
                        ) -> tuple[numpy.ndarray, int, float, numpy.ndarray]:
    """E f(h_t) of the driven network (all orders) at every time of a uniform grid from 0, shape (T, p)
    (complex for a complex ``eps``),
    the steps, the last change, and the largest (probability, readout-weighted probability) of the driven
    density on the walls of the box over the recorded times: the input may push the density out of the
    box that holds the stationary one (the kernels and series terms do not move; this does).
    ``screen_wall(probability)`` sees the coarsest run's largest probability on the walls first."""
    from .operator import wall_nodes

    times = numpy.asarray(times, dtype=numpy.float64)
    _check_input(op, u, float(times[-1]))
    edge = wall_nodes(op.n, op.N)
    f_edge = numpy.abs(op.readout[edge] / op.weight[edge, None])
    p = op.readout.shape[1]

    def record(y):
        mass = numpy.abs(y[edge] * op.weight[edge])
        return numpy.concatenate([y @ op.readout, [mass.sum(), float((mass @ f_edge).max(initial=0.0))]])

    screen = None if screen_wall is None else (lambda records: screen_wall(float(numpy.real(records[:, p]).max())))
    complex_eps = numpy.iscomplexobj(eps)
    y0 = pi.astype(complex) if complex_eps else pi.copy()
    if op.inside:
        records, steps, change = integrate(lambda y, *args: _inside_driven_step(op, eps, y, *args), y0, record, u,
                                           1.0, times, tol, h0, screen)
    else:
        coupling = complex(eps) if complex_eps else float(eps)
        records, steps, change = integrate(lambda y, *args: _driven_step(op, y, *args), y0, record, u, coupling,
                                           times, tol, h0, screen)
    return records[:, :p], steps, change, numpy.real(records[:, p:]).max(axis=0)
