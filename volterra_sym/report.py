"""The theory-verification report: kernels, series, simulation and exact resummation side by side.

``volterra-sym report SPEC --input EXPR ...`` writes into one directory:

============================  ==============================================================
``kernels.png``               R^(1)(tau) curves and R^(2)(tau1, tau2) heat maps
``mean_output.png``           E y_t over time: Monte-Carlo band (mean +- 2 s.e.), the truncated
                              series of each order N and, for the linear class, the exact
                              resummation (gradient class: the exact series of each order, the
                              linearized series and the exact all-order mean output)
``truncation_error.png``      log-log |truncated series - reference| at t = T against eps for
                              N = 1, 2, 3 with fitted slopes (theory: N + 1)
``kernels_r1.csv`` ...        the numbers behind every figure (``*.csv``)
``report.md``                 the figures, summary tables and what they show
============================  ==============================================================

Routes, all independent of each other:

* series: :func:`~volterra_sym.derive.derive_kernels` + :func:`~volterra_sym.series.series_terms`
  (for a nonlinear activation: of the network linearized about its stable fixed point);
* Monte Carlo: :mod:`volterra_sym.simulate` on the network itself (any activation), all eps on
  common random numbers;
* exact resummation (linear activation only, theory.md 4): E f(mu + xi + eps delta_t),
  xi ~ N(0, S), delta_t = int_0^t e^{A(t-s)} C u_s ds. delta_t comes from composite
  Gauss-Legendre quadrature of the convolution (numeric e^{A tau}, panels doubled to 1e-13), S from
  a Kronecker Lyapunov solve, and the expectation from f directly: exact Gaussian moments for the
  polynomial part of f and vectorised Gauss-Hermite quadrature for the rest. No kernel enters.

Gradient class (nonlinear activation, reversible drift F = -grad U, isotropic noise; theory.md 5):
the exact nonlinear kernels and series come from the spectral representation
(:mod:`volterra_sym.spectral`) and are shown next to the linearized ones; the exact all-order mean
output E f(h_t) (:func:`~volterra_sym.spectral.spectral_mean_output`, the forward equation in the
eigenbasis) is the reference of the truncation error, whose slopes are then N + 1.

For the truncation error the reference is the exact resummation (linear class) or the exact
all-order mean output (gradient class). For any other nonlinear activation it is the simulated response E f(h^eps_T) - E f(h^0_T) (pathwise differences on common
random numbers), compared with the linearized series without its order-0 term: the error then
measures how wrong the linearized kernels are, and its slope is ~1 (an O(eps) error of R^(1))
wherever the error is resolved above the Monte-Carlo noise, instead of N + 1.

Every file is rendered in memory first and then written atomically (a temporary file in the
target directory, then :func:`os.replace`), so a bad input writes nothing. Figures need
matplotlib (``pip install 'volterra-sym[plot]'``); without it the tables are still written.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy
import sympy

from .derive import derive_kernels
from .errors import DerivationError, InputError
from .evaluate import kernel_values, numeric_kernels
from .gaussian import gaussian_mean, split_polynomial
from .model import SymbolicModel, build_model, linearize, resolve_parameters
from .propagator import expm
from .series import series_terms
from .simulate import input_signal, numeric_srnn, simulate_responses
from .spectral import SpectralKernels, spectral_kernel_values, spectral_kernels
from .spec import DerivationSpec, check_order, load_spec

__all__ = [
    "KernelTable",
    "MeanOutputTable",
    "TruncationTable",
    "VerificationReport",
    "forced_response",
    "ou_exact_mean",
    "build_report",
    "render_tables",
    "render_figures",
    "write_report",
    "fit_slope",
    "PLOT_HINT",
]

PLOT_HINT = "pip install 'volterra-sym[plot]'"
#: Gauss-Hermite node counts per dimension, tried in turn until two rules agree
_GH_LADDER = {1: (24, 48, 96, 192), 2: (16, 32, 64, 128), 3: (12, 24, 48, 64), 4: (8, 16, 24, 32)}
_GH_TOL = 1e-12
_QUAD_TOL = 1e-13
_SERIES_TOL = 1e-8  # relative, per term: curves for figures (absolute errors ~1e-11)
_FINAL_SERIES_TOL = 1e-12  # the truncation-error study at t = T
_EXACT_FINAL_TOL = 1e-11  # gradient class: exact series and mean output at t = T (ETDRK4 doubling)
_REPORT_TOLERANCE = 1e-10  # gradient class: modes kept (kernel change relative to each order's largest)
_ERROR_FLOOR = 1e-10  # relative; errors below it are numerical noise and are not fitted
_MAX_TIMES = 401
_MAX_EPS = 12
#: error-study amplitudes, in units of eps0 = min_i sqrt(S_ii) / max_t |delta_t|
_ERROR_EPS_GRID = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32)
_MAX_HEATMAPS = 4


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KernelTable:
    """R^(1) on ``lags`` (shape (L, p, m)) and R^(2) on ``lags2`` x ``lags2`` ((G, G, p, m, m) or None).

    Gradient class: ``r1``/``r2`` are the exact kernels and ``r1_linearized`` those of the
    linearized network (otherwise ``None``).
    """

    lags: numpy.ndarray
    r1: numpy.ndarray
    lags2: numpy.ndarray
    r2: numpy.ndarray | None
    r1_linearized: numpy.ndarray | None = None


@dataclass(frozen=True, slots=True)
class MeanOutputTable:
    """E y_t on ``times`` for each of ``eps``.

    ``mc_mean``/``mc_stderr``/``exact``: (E, T, p); ``terms``: (T, K + 1, p), the series terms at
    eps = 1 (term n scales as eps^n); ``exact`` is the exact resummation (linear class), the exact
    all-order mean output (gradient class) or ``None``. Gradient class: ``terms`` are the linearized
    network's and ``exact_terms`` (T, K + 1, p) the exact nonlinear series terms.
    """

    times: numpy.ndarray
    eps: numpy.ndarray
    mc_mean: numpy.ndarray
    mc_stderr: numpy.ndarray
    terms: numpy.ndarray
    exact: numpy.ndarray | None
    mc_stationary: numpy.ndarray  # (p,): simulated E y_0 at eps = 0, the stationary mean
    mc_stationary_stderr: numpy.ndarray
    exact_terms: numpy.ndarray | None = None

    @property
    def exact_partial_sums(self) -> numpy.ndarray | None:
        """Exact nonlinear series truncated at N, shape (E, K + 1, T, p) (gradient class), else None."""
        if self.exact_terms is None:
            return None
        powers = self.eps[:, None] ** numpy.arange(self.exact_terms.shape[1])[None, :]
        scaled = powers[:, None, :, None] * self.exact_terms[None]
        return numpy.moveaxis(numpy.cumsum(scaled, axis=2), 2, 1)

    @property
    def partial_sums(self) -> numpy.ndarray:
        """Truncated series, shape (E, K + 1, T, p): index N sums the terms of order 0..N."""
        powers = self.eps[:, None] ** numpy.arange(self.terms.shape[1])[None, :]  # (E, K+1)
        scaled = powers[:, None, :, None] * self.terms[None]  # (E, T, K+1, p)
        return numpy.moveaxis(numpy.cumsum(scaled, axis=2), 2, 1)

    @property
    def z_scores(self) -> numpy.ndarray | None:
        """(Monte Carlo - exact) / standard error, (E, T, p); None without an exact resummation."""
        if self.exact is None:
            return None
        with numpy.errstate(divide="ignore", invalid="ignore"):
            return (self.mc_mean - self.exact) / self.mc_stderr


@dataclass(frozen=True, slots=True)
class TruncationTable:
    """|truncated series - reference| at time ``t`` against ``eps`` for each order in ``orders``.

    ``kind`` is ``"exact"`` (reference: exact resummation of E y_t, linear class, or the exact
    all-order mean output, gradient class, against the exact series) or ``"monte-carlo"``
    (reference: simulated response E y^eps - E y^0, linearized series without its order-0 term).
    ``series``/``error``: (len(orders), k, p); ``slopes``: (len(orders), p), NaN where fewer than
    two points are resolved (``resolved``); ``floor`` is the level below which errors are noise.
    """

    kind: str
    t: float
    eps: numpy.ndarray
    orders: tuple[int, ...]
    reference: numpy.ndarray
    reference_stderr: numpy.ndarray | None
    series: numpy.ndarray
    error: numpy.ndarray
    floor: numpy.ndarray
    resolved: numpy.ndarray
    slopes: numpy.ndarray


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """All numbers of one report (see the module docstring); rendering adds nothing new."""

    spec: DerivationSpec
    inputs: tuple[str, ...]
    values: Mapping[str, float]
    linear: bool
    fixed_point: numpy.ndarray | None
    linear_eigenvalues: numpy.ndarray
    t: float
    dt: float
    paths: int
    seed: int
    scheme: str
    burn_in: float
    order: int
    kernels: KernelTable
    mean_output: MeanOutputTable
    truncation: TruncationTable
    gradient: bool = False  # exact nonlinear kernels from the spectral representation (theory.md 5)
    spectral_modes: int = 0


# ----------------------------------------------------------------------------------------------
# independent oracle of the linear class
# ----------------------------------------------------------------------------------------------


def forced_response(
    A: numpy.ndarray,
    C: numpy.ndarray,
    u: Callable[[numpy.ndarray], numpy.ndarray],
    times: Sequence[float],
    *,
    tol: float = _QUAD_TOL,
) -> numpy.ndarray:
    """delta_t = int_0^t e^{A(t-s)} C u_s ds at increasing ``times`` (shape (T, n)).

    Interval by interval, delta_{t'} = e^{A(t'-t)} delta_t + int_t^{t'} e^{A(t'-s)} C u_s ds, the
    integral by composite 8-point Gauss-Legendre; the panel count is doubled until two rules agree
    to ``tol`` (relative to max(1, |delta|)).

    >>> import math, numpy
    >>> d = forced_response(numpy.array([[-1.0]]), numpy.array([[1.0]]), lambda s: numpy.ones((len(s), 1)), [0, 1])
    >>> abs(float(d[1, 0]) - (1 - math.exp(-1))) < 1e-13
    True
    """
    times = numpy.asarray(times, dtype=numpy.float64)
    if times.ndim != 1 or numpy.any(numpy.diff(times) < 0) or (times.size and times[0] < 0):
        raise InputError("times must be increasing and >= 0", field="times")
    nodes, weights = numpy.polynomial.legendre.leggauss(8)

    def integrate(panels: int) -> numpy.ndarray:
        n = A.shape[0]
        out = numpy.zeros((len(times), n))
        current = numpy.zeros(n)
        previous = 0.0
        for i, ti in enumerate(times):
            if ti > previous:
                edges = numpy.linspace(previous, ti, panels + 1)
                half = (edges[1:] - edges[:-1])[:, None] / 2
                s = (edges[:-1, None] + half * (nodes + 1)).ravel()
                w = (half * weights).ravel()
                U = numpy.asarray(u(s), dtype=numpy.float64)
                propagated = expm((ti - s)[:, None, None] * A) @ (U @ C.T)[:, :, None]
                current = expm(A * (ti - previous)) @ current + numpy.einsum("k,ki->i", w, propagated[:, :, 0])
            out[i] = current
            previous = ti
        return out

    panels = 4
    coarse = integrate(panels)
    while True:
        panels *= 2
        fine = integrate(panels)
        if numpy.all(numpy.abs(fine - coarse) <= tol * max(1.0, float(numpy.abs(fine).max(initial=0.0)))):
            return fine
        if panels >= 1024:
            warnings.warn(f"delta_t quadrature did not converge to {tol:g} (input not smooth?); "
                          f"last change {numpy.abs(fine - coarse).max():.2g}", RuntimeWarning, stacklevel=2)
            return fine
        coarse = fine


def _shifted_means(
    readout: Sequence[sympy.Expr], hidden: Sequence[sympy.Symbol], shifts: numpy.ndarray, S: numpy.ndarray
) -> numpy.ndarray:
    """E f_q(m + xi), xi ~ N(0, S), for every row m of ``shifts`` (K, n); returns (K, p).

    Polynomial part: exact Gaussian moments, as a polynomial in m. Remainder: tensor Gauss-Hermite on
    the variables it depends on (at most 4), node count doubled until two rules agree.
    """
    n = len(hidden)
    m_syms = sympy.symbols(f"_m0:{n}", real=True)
    S_exact = sympy.Matrix(n, n, lambda i, j: sympy.Float(float(S[i, j]), 17))
    out = numpy.zeros((shifts.shape[0], len(readout)))
    for q, f in enumerate(readout):
        poly, rest = split_polynomial(f, hidden)
        if poly != 0:
            mean_poly = gaussian_mean(poly, hidden, sympy.Matrix(m_syms), S_exact)
            func = sympy.lambdify(m_syms, mean_poly, modules="numpy")
            out[:, q] += numpy.broadcast_to(numpy.asarray(func(*shifts.T), dtype=numpy.float64), shifts.shape[:1])
        if rest != 0:
            out[:, q] += _gauss_hermite(rest, hidden, shifts, S)
    return out


def _gauss_hermite(
    g: sympy.Expr, hidden: Sequence[sympy.Symbol], shifts: numpy.ndarray, S: numpy.ndarray
) -> numpy.ndarray:
    idx = [i for i, h in enumerate(hidden) if h in g.free_symbols]
    d = len(idx)
    func = sympy.lambdify([hidden[i] for i in idx], g, modules="numpy")
    if d == 0:
        return numpy.full(shifts.shape[0], float(func()))
    if d > max(_GH_LADDER):
        raise DerivationError(
            f"exact resummation: the non-polynomial readout term {g} depends on {d} hidden units; "
            f"Gauss-Hermite quadrature is limited to {max(_GH_LADDER)}"
        )
    L = numpy.linalg.cholesky(S[numpy.ix_(idx, idx)])
    previous = None
    for K in _GH_LADDER[d]:
        x, w = numpy.polynomial.hermite_e.hermegauss(K)
        w = w / math.sqrt(2 * math.pi)
        grids = numpy.meshgrid(*([x] * d), indexing="ij")
        Z = numpy.stack([gr.ravel() for gr in grids])  # (d, K^d)
        weights = numpy.ones(1)
        for _ in range(d):
            weights = numpy.multiply.outer(weights, w).ravel()
        H = shifts[:, idx, None] + (L @ Z)[None]  # (rows, d, K^d)
        with numpy.errstate(all="ignore"):
            values = numpy.broadcast_to(numpy.asarray(func(*H.transpose(1, 0, 2)), dtype=numpy.float64), H.shape[::2])
        value = values @ weights
        change = numpy.abs(value - previous) if previous is not None else None
        if change is not None and numpy.all(change <= _GH_TOL * numpy.maximum(1, numpy.abs(value))):
            return value
        previous = value
    warnings.warn(f"Gauss-Hermite quadrature of E[{g}] did not converge to {_GH_TOL:g}", RuntimeWarning, stacklevel=2)
    return value


def ou_exact_mean(
    model: SymbolicModel,
    u: Callable[[numpy.ndarray], numpy.ndarray],
    times: Sequence[float],
    eps: Sequence[float],
    params: Mapping[str, float] | None = None,
) -> numpy.ndarray:
    """Exact E f(h_t) of a linear-activation SRNN started in N(mu, S), shape (len(eps), len(times), p).

    E f(h_t) = E f(mu + xi + eps delta_t), xi ~ N(0, S) (theory.md 4), computed without the
    kernels: :func:`forced_response` for delta_t and Gaussian moments / Gauss-Hermite of f.
    """
    if not model.linear:
        raise DerivationError("the exact resummation needs a linear activation (or a linearized model)")
    net = numeric_srnn(model, params)
    values = resolve_parameters(model.spec, params or {})
    subs = {model.spec.parameters[k]: sympy.Float(v, 30) for k, v in values.items()}
    readout = [sympy.sympify(f).subs(subs) for f in model.readout]
    delta = forced_response(net.A, net.C, u, times)  # (T, n)
    eps = numpy.asarray(list(eps), dtype=numpy.float64)
    shifts = net.mu[None, None, :] + eps[:, None, None] * delta[None]  # (E, T, n)
    flat = _shifted_means(readout, model.hidden, shifts.reshape(-1, net.n_hidden), net.S)
    return flat.reshape(len(eps), len(delta), -1)


# ----------------------------------------------------------------------------------------------
# building the report
# ----------------------------------------------------------------------------------------------


def fit_slope(eps: numpy.ndarray, error: numpy.ndarray, use: numpy.ndarray) -> float:
    """Least-squares slope of log(error) against log(eps) over the points ``use``; NaN if < 2.

    >>> import numpy
    >>> e = numpy.array([0.1, 0.2, 0.4])
    >>> round(fit_slope(e, 3 * e**2, numpy.ones(3, bool)), 12)
    2.0
    """
    use = numpy.asarray(use, dtype=bool) & (error > 0)
    if use.sum() < 2:
        return float("nan")
    return float(numpy.polyfit(numpy.log(eps[use]), numpy.log(error[use]), 1)[0])


def _series_terms_on(nk, u, times: numpy.ndarray, order: int, progress: bool) -> numpy.ndarray:
    out = numpy.empty((len(times), order + 1, nk.moments[0].shape[0]))
    bar = _bar(len(times), progress, "series")
    try:
        for i, t in enumerate(times):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # non-convergence shows in the tables
                out[i] = series_terms(nk, u, float(t), 1.0, order=order, tol=_SERIES_TOL).terms
            bar.update(1)
    finally:
        bar.close()
    return out


def _spectral_on_grid(sk: SpectralKernels, u, times: numpy.ndarray, *, order: int | None = None,
                      eps: float = 1.0, tol: float) -> numpy.ndarray:
    """Exact nonlinear quantities on a uniform time grid from ONE forward integration in the eigenbasis.

    ``order`` given: the series terms at eps = 1, shape (T, order + 1, p), from the filters
    dz^(n)/dt = -z^(n) Lam + sum_k u_k z^(n-1) B_k (as :func:`~volterra_sym.spectral.spectral_series`);
    ``order`` None: the all-order mean output at ``eps``, shape (T, p), from dy/dt = -Lam y + eps u.B^T y
    (as :func:`~volterra_sym.spectral.spectral_mean_output`). ETDRK4 steps (Cox-Matthews, coefficients by
    contour means) are doubled until every recorded value changes by less than ``tol`` (relative to
    max(1, |value|)); the engine's functions do the same one time point at a time.
    """
    from .spectral import _phi_functions

    times = numpy.asarray(times, dtype=numpy.float64)
    K = len(sk.lam)
    BT = numpy.transpose(sk.B, (0, 2, 1))
    if order is None:
        lam_all = sk.lam

        def drive(uv, y):
            return eps * (numpy.tensordot(uv, BT, axes=1) @ y)

        y0 = numpy.zeros(K)
        y0[0] = 1.0

        def record(y):
            return y @ sk.fhat
    else:
        lam_all = numpy.tile(sk.lam, order + 1)

        def drive(uv, y):
            out = numpy.zeros_like(y)
            Y = y.reshape(order + 1, K)
            out.reshape(order + 1, K)[1:] = Y[:-1] @ numpy.tensordot(uv, BT, axes=1).T
            return out

        y0 = numpy.zeros((order + 1) * K)
        y0[0] = 1.0

        def record(y):
            return y.reshape(order + 1, K) @ sk.fhat

    intervals = len(times) - 1
    if intervals == 0:
        return numpy.array([record(y0)])
    delta = float(times[1] - times[0])
    if not numpy.allclose(numpy.diff(times), delta, rtol=1e-9, atol=0):
        raise ValueError("the time grid must be uniform")

    def run(sub: int) -> numpy.ndarray:
        h = delta / sub
        z = -lam_all * h
        E, E2 = numpy.exp(z), numpy.exp(z / 2)
        Q, f1, f2, f3 = (c * h for c in _phi_functions(z))
        fine = numpy.linspace(0.0, float(times[-1]), 2 * sub * intervals + 1)
        U = numpy.asarray(u(fine), dtype=numpy.float64)
        out = numpy.empty((len(times),) + numpy.shape(record(y0)))
        out[0] = record(y0)
        y = y0.copy()
        for i in range(sub * intervals):
            u0, uh, u1 = U[2 * i], U[2 * i + 1], U[2 * i + 2]
            Nv = drive(u0, y)
            a = E2 * y + Q * Nv
            Na = drive(uh, a)
            b = E2 * y + Q * Na
            Nb = drive(uh, b)
            c = E2 * a + Q * (2 * Nb - Nv)
            Nc = drive(u1, c)
            y = E * y + f1 * Nv + 2 * f2 * (Na + Nb) + f3 * Nc
            if (i + 1) % sub == 0:
                out[(i + 1) // sub] = record(y)
        return out

    sub = max(2, int(numpy.ceil(4 * delta)))
    previous = run(sub)
    while True:
        sub *= 2
        current = run(sub)
        change = numpy.abs(current - previous)
        if numpy.all(change <= tol * numpy.maximum(1.0, numpy.abs(current))) or sub * intervals > 2**17:
            if sub * intervals > 2**17:
                warnings.warn(f"exact series/mean output not converged to {tol:g} (change {change.max():.1e})",
                              RuntimeWarning, stacklevel=2)
            return current
        previous = current


def _float_propagator(kset):
    """The linearized network's closed-form e^{A tau} with its numbers as 30-digit floats.

    A linearized A holds 17-digit rationals, so a 2x2 closed form can carry sqrt(<integer beyond
    int64>), which the NumPy lambdify of :func:`~volterra_sym.evaluate.numeric_kernels` cannot
    evaluate (TypeError on an object array). The same expression with Float numbers evaluates fine.
    """
    prop = kset.propagator
    if not prop.closed_form:
        return kset
    return dataclasses.replace(kset, propagator=dataclasses.replace(prop, matrix=sympy.ImmutableMatrix(sympy.nfloat(prop.matrix, n=30))))


def _gradient_representation(model: SymbolicModel, values: Mapping[str, float], order: int) -> SpectralKernels | None:
    """The spectral representation when the network is in the gradient class (theory.md 5), else None."""
    from .gradient import gradient_law, is_gradient_class

    if model.linear or is_gradient_class(model) is not None or model.n_hidden > 2:
        return None
    from .spectral_codegen import reduce_representation

    sk = spectral_kernels(gradient_law(model), values, order=min(order, 3))
    # the modes the kernels need to REPORT_TOLERANCE (every lag, orders <= 3): the forward
    # integrations below cost K^2 per step
    reduced = reduce_representation(sk, tolerance=_REPORT_TOLERANCE)
    return dataclasses.replace(sk, lam=reduced.lam, B=reduced.B, fhat=reduced.fhat)


def _bar(total: int, enabled: bool, desc: str):
    if enabled:
        from tqdm import tqdm

        return tqdm(total=total, file=sys.stderr, desc=desc, leave=False, mininterval=0.5)

    class _No:
        def update(self, n: int) -> None:
            pass

        def close(self) -> None:
            pass

    return _No()


def _check_eps_list(eps_list: Sequence[float]) -> numpy.ndarray:
    eps = numpy.asarray(list(eps_list), dtype=numpy.float64).ravel()
    if eps.size == 0 or eps.size > _MAX_EPS:
        raise InputError(f"give 1..{_MAX_EPS} eps values", field="--eps-list")
    if not numpy.all(numpy.isfinite(eps)) or numpy.any(eps <= 0):
        raise InputError(f"eps values {eps.tolist()} must be finite and > 0", field="--eps-list")
    return eps


def build_report(
    spec: DerivationSpec | str | Path,
    inputs: Sequence[str],
    *,
    eps_list: Sequence[float] = (0.2, 1.0),
    t: float = 5.0,
    paths: int = 100_000,
    seed: int = 0,
    dt: float | None = None,
    params: Mapping[str, float] | None = None,
    order: int | None = None,
    n_times: int = 41,
    error_eps: Sequence[float] | None = None,
    progress: bool = False,
) -> VerificationReport:
    """Compute every number of the report (nothing is written).

    Parameters
    ----------
    spec : DerivationSpec or path
        Any activation; a nonlinear one is linearized for the series, and a gradient-class one
        (theory.md 5) also gets its exact kernels, series and all-order mean output.
    inputs : sequence of str
        One expression in ``t`` per input channel.
    eps_list : sequence of float
        Amplitudes of the mean-output figure.
    t : float
        Horizon T; the truncation error is measured at t = T.
    paths, seed, dt :
        Monte-Carlo settings (:func:`volterra_sym.simulate.simulate`).
    params : mapping, optional
        Parameter values overriding the spec defaults.
    order : int, optional
        Highest series order K (default max(spec order, 3)); the error study uses N = 1..min(K, 3).
    n_times : int
        Points of the time grid on [0, T].
    error_eps : sequence of float, optional
        Amplitudes of the truncation-error study; default a geometric grid scaled by eps0
        (module constant ``_ERROR_EPS_GRID``; gradient class: x2, other nonlinear: x10).
    progress : bool
        tqdm bars on stderr.
    """
    if not isinstance(spec, DerivationSpec):
        spec = load_spec(spec)
    eps = _check_eps_list(eps_list)
    if not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0:
        raise InputError(f"horizon {t!r} must be finite and > 0", field="--t")
    if isinstance(n_times, bool) or not isinstance(n_times, int) or not 2 <= n_times <= _MAX_TIMES:
        raise InputError(f"{n_times!r} time points: give an integer in 2..{_MAX_TIMES}", field="--times")
    model = build_model(spec)
    values = resolve_parameters(spec, params or {})
    u = input_signal(spec, inputs, values)
    order = max(spec.order, 3) if order is None else order
    order = check_order(order, n_hidden=spec.n_hidden, key="--order")
    if order < 1:
        raise InputError("the report needs order >= 1", field="--order")
    net = numeric_srnn(model, values)
    if net.A is None:
        raise DerivationError("the network has no stable fixed point: no linearized series to compare with")
    series_model = model if model.linear else linearize(model, values)
    sk = _gradient_representation(model, values, order)

    # time grid: steps a multiple of n_times - 1 so that the simulation records exactly these times
    target = dt if dt is not None else min(0.01, 0.1 / net.fastest_rate)
    if not isinstance(target, (int, float)) or not math.isfinite(target) or target <= 0:
        raise InputError(f"time step {dt!r} must be finite and > 0", field="--dt")
    intervals = n_times - 1
    steps = intervals * max(1, math.ceil(t / target / intervals - 1e-9))
    dt_used = t / steps
    times = numpy.arange(steps + 1)[:: steps // intervals] * dt_used
    times[-1] = t

    # error-study amplitudes
    delta = forced_response(net.A, net.C, u, times)  # nonlinear: of the linearization, sets the scale only
    scale = float(numpy.sqrt(numpy.diag(net.S)).min() / max(numpy.abs(delta).max(), 1e-300))
    if error_eps is None:
        grid = numpy.array(_ERROR_EPS_GRID) * (1 if model.linear else 2 if sk is not None else 10)
        err_eps = grid * scale
    else:
        err_eps = _check_eps_list(error_eps)
        err_eps = numpy.sort(err_eps)

    kset = derive_kernels(series_model, order=order)
    if series_model is not model:
        kset = _float_propagator(kset)
    nk = numeric_kernels(kset, values if series_model is model else {})

    # (1) kernels
    lag_max = 5 * net.relaxation_time
    lags = numpy.linspace(0.0, lag_max, 101)
    r1 = kernel_values(nk, [lags])
    lags2 = numpy.linspace(0.0, lag_max, 41)
    T1, T2 = numpy.meshgrid(lags2, lags2, indexing="ij")
    r2 = kernel_values(nk, [T1, T2]) if order >= 2 else None
    kernels = KernelTable(lags=lags, r1=r1, lags2=lags2, r2=r2)
    if sk is not None:  # the exact kernels, the linearized R^(1) beside them
        kernels = KernelTable(lags=lags, r1=spectral_kernel_values(sk, [lags]), lags2=lags2,
                              r2=spectral_kernel_values(sk, [T1, T2]) if order >= 2 else None, r1_linearized=r1)

    # (2) mean output: series, simulation, exact
    terms = _series_terms_on(nk, u, times, order, progress)
    mc_eps = eps if (model.linear or sk is not None) else numpy.concatenate([eps, err_eps])
    sim = simulate_responses(net, u, t=float(t), eps=mc_eps, paths=paths, seed=seed, dt=dt_used,
                             record_every=steps // intervals, progress=progress)
    if not numpy.allclose(sim.times, times, rtol=0, atol=1e-9 * t):
        raise AssertionError("simulation grid does not match the report grid")
    n_fig = len(eps)
    exact = ou_exact_mean(model, u, times, eps, values) if model.linear else None
    exact_terms = None
    if sk is not None:
        exact_terms = _spectral_on_grid(sk, u, times, order=order, tol=_SERIES_TOL)
        exact = numpy.stack([_spectral_on_grid(sk, u, times, eps=float(e), tol=_SERIES_TOL * 1e-2) for e in eps])
    mean_output = MeanOutputTable(times=times, eps=eps, mc_mean=sim.mean[1 : 1 + n_fig],
                                  mc_stderr=sim.stderr[1 : 1 + n_fig], terms=terms, exact=exact,
                                  mc_stationary=sim.mean[0, 0], mc_stationary_stderr=sim.stderr[0, 0],
                                  exact_terms=exact_terms)

    # (3) truncation error at t = T
    orders = tuple(range(1, min(order, 3) + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        final_terms = series_terms(nk, u, float(t), 1.0, order=order, tol=_FINAL_SERIES_TOL).terms  # (K + 1, p)
    powers = err_eps[:, None] ** numpy.arange(order + 1)[None, :]  # (k, K + 1)
    if model.linear:
        reference = ou_exact_mean(model, u, [t], err_eps, values)[:, 0, :]  # (k, p)
        ref_se = None
        series = numpy.stack([powers[:, : N + 1] @ final_terms[: N + 1] for N in orders])
        error = numpy.abs(series - reference[None])
        floor = numpy.broadcast_to(_ERROR_FLOOR * numpy.maximum(1.0, numpy.abs(reference))[None], error.shape)
        kind = "exact"
    elif sk is not None:  # the exact series against the exact all-order mean output (same representation)
        ends = numpy.array([0.0, float(t)])
        exact_final = _spectral_on_grid(sk, u, ends, order=order, tol=_EXACT_FINAL_TOL)[-1]
        reference = numpy.stack([_spectral_on_grid(sk, u, ends, eps=float(e), tol=_EXACT_FINAL_TOL)[-1]
                                 for e in err_eps])
        ref_se = None
        series = numpy.stack([powers[:, : N + 1] @ exact_final[: N + 1] for N in orders])
        error = numpy.abs(series - reference[None])
        floor = numpy.broadcast_to(_ERROR_FLOOR * numpy.maximum(1.0, numpy.abs(reference))[None], error.shape)
        kind = "exact"
    else:
        reference = sim.response[1 + n_fig :, -1, :]
        ref_se = sim.response_stderr[1 + n_fig :, -1, :]
        series = numpy.stack([powers[:, 1 : N + 1] @ final_terms[1 : N + 1] for N in orders])
        error = numpy.abs(series - reference[None])
        floor = numpy.broadcast_to(3 * ref_se[None], error.shape)
        kind = "monte-carlo"
    resolved = error > floor
    slopes = numpy.array([[fit_slope(err_eps, error[a, :, q], resolved[a, :, q]) for q in range(error.shape[2])]
                          for a in range(len(orders))])
    truncation = TruncationTable(kind=kind, t=float(t), eps=err_eps, orders=orders, reference=reference,
                                 reference_stderr=ref_se, series=series, error=error,
                                 floor=numpy.array(floor), resolved=resolved, slopes=slopes)

    return VerificationReport(
        spec=spec, inputs=tuple(inputs), values=dict(values), linear=model.linear,
        fixed_point=None if model.linear else net.fixed_point,
        linear_eigenvalues=numpy.linalg.eigvals(net.A), t=float(t), dt=dt_used, paths=paths, seed=seed,
        scheme=sim.scheme, burn_in=sim.burn_in, order=order, kernels=kernels, mean_output=mean_output,
        truncation=truncation, gradient=sk is not None, spectral_modes=0 if sk is None else int(len(sk.lam)),
    )


# ----------------------------------------------------------------------------------------------
# rendering: tables (always) and figures (matplotlib, optional)
# ----------------------------------------------------------------------------------------------


def _g(x: float) -> str:
    return "nan" if not numpy.isfinite(x) else f"{x:.10g}"


def _csv(header: Sequence[str], rows: Sequence[Sequence[float]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_g(float(v)) for v in row])
    return buf.getvalue()


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _f(x: float, digits: int = 4) -> str:
    return "nan" if not numpy.isfinite(x) else f"{x:.{digits}g}"


def _index_names(report: VerificationReport) -> tuple[list[str], list[str]]:
    p, m = report.spec.n_outputs, report.spec.n_inputs
    return [f"f{q + 1}" for q in range(p)], [f"u{k + 1}" for k in range(m)]


def render_tables(report: VerificationReport, *, figures: bool = True) -> dict[str, str]:
    """CSV files with the numbers behind every figure, and ``report.md``.

    ``figures`` says whether the PNGs are written beside it (report.md links them or says how to
    get them).
    """
    outs, ins = _index_names(report)
    K = report.kernels
    files: dict[str, str] = {}
    r1_cols = [(q, k) for q in range(len(outs)) for k in range(len(ins))]
    lin_cols = r1_cols if K.r1_linearized is not None else []
    files["kernels_r1.csv"] = _csv(["tau"] + [f"R1[{outs[q]},{ins[k]}]" for q, k in r1_cols]
                                   + [f"R1_linearized[{outs[q]},{ins[k]}]" for q, k in lin_cols],
                                   [[tau] + [K.r1[i, q, k] for q, k in r1_cols]
                                    + [K.r1_linearized[i, q, k] for q, k in lin_cols] for i, tau in enumerate(K.lags)])
    r2_cols = [(q, a, b) for q in range(len(outs)) for a in range(len(ins)) for b in range(len(ins))]
    if K.r2 is not None:
        files["kernels_r2.csv"] = _csv(
            ["tau1", "tau2"] + [f"R2[{outs[q]},{ins[a]},{ins[b]}]" for q, a, b in r2_cols],
            [[t1, t2] + [K.r2[i, j, q, a, b] for q, a, b in r2_cols]
             for i, t1 in enumerate(K.lags2) for j, t2 in enumerate(K.lags2)])

    M = report.mean_output
    sums = M.partial_sums
    exact_sums = M.exact_partial_sums
    order = M.terms.shape[1] - 1
    prefix = "linearized_series" if report.gradient else "series"
    header = ["eps", "t"]
    for name in outs:
        header += [f"mc_mean[{name}]", f"mc_stderr[{name}]"] + [f"{prefix}_N{N}[{name}]" for N in range(order + 1)]
        if exact_sums is not None:
            header += [f"exact_series_N{N}[{name}]" for N in range(order + 1)]
        if M.exact is not None:
            header += [f"exact[{name}]", f"z[{name}]"]
    rows = []
    z = M.z_scores
    for e, eps in enumerate(M.eps):
        for i, t in enumerate(M.times):
            row = [eps, t]
            for q in range(len(outs)):
                row += [M.mc_mean[e, i, q], M.mc_stderr[e, i, q]] + [sums[e, N, i, q] for N in range(order + 1)]
                if exact_sums is not None:
                    row += [exact_sums[e, N, i, q] for N in range(order + 1)]
                if M.exact is not None:
                    row += [M.exact[e, i, q], z[e, i, q]]
            rows.append(row)
    files["mean_output.csv"] = _csv(header, rows)

    T = report.truncation
    header = ["eps"]
    for name in outs:
        header += [f"reference[{name}]"] + ([f"reference_stderr[{name}]"] if T.reference_stderr is not None else [])
        header += [c for N in T.orders for c in (f"series_N{N}[{name}]", f"error_N{N}[{name}]")]
    rows = []
    for j, eps in enumerate(T.eps):
        row = [eps]
        for q in range(len(outs)):
            row += [T.reference[j, q]] + ([T.reference_stderr[j, q]] if T.reference_stderr is not None else [])
            row += [v for a in range(len(T.orders)) for v in (T.series[a, j, q], T.error[a, j, q])]
        rows.append(row)
    files["truncation_error.csv"] = _csv(header, rows)
    files["report.md"] = _markdown(report, figures)
    return files


def _markdown(report: VerificationReport, figures: bool) -> str:
    spec = report.spec
    outs, ins = _index_names(report)
    M, T, K = report.mean_output, report.truncation, report.kernels
    order = M.terms.shape[1] - 1
    L: list[str] = []
    add = L.append
    add(f"# Verification report: {spec.name}\n")
    if spec.description:
        add(f"{spec.description}\n")
    add(f"- spec: `{Path(spec.source).name}`; activation `{spec.activation}`; {spec.n_hidden} hidden units, "
        f"{spec.n_inputs} input(s), {spec.n_outputs} output(s): "
        + ", ".join(f"{outs[q]} = `{text}`" for q, text in enumerate(spec.readout_text)))
    if report.values:
        add("- parameters: " + ", ".join(f"{k} = {_f(v, 10)}" for k, v in report.values.items()))
    add("- inputs: " + ", ".join(f"{ins[k]}(t) = `{text}`" for k, text in enumerate(report.inputs)))
    add(f"- horizon T = {_f(report.t)}, series orders 0..{report.order}")
    burn = f", burn-in {_f(report.burn_in)} (unforced, before t = 0)" if report.burn_in else ""
    add(f"- Monte Carlo: {report.paths} paths, seed {report.seed}, scheme `{report.scheme}`, "
        f"dt = {_f(report.dt, 6)}{burn}; all eps on common random numbers")
    eig = ", ".join(_f(complex(v).real, 5) + (f"{complex(v).imag:+.4g}i" if abs(complex(v).imag) > 1e-12 else "")
                    for v in report.linear_eigenvalues)
    if report.linear:
        add(f"- linear activation: exact stationary start N(mu, S) and exact OU transition; eigenvalues of A: {eig}")
    elif report.gradient:
        hstar = ", ".join(_f(v, 6) for v in report.fixed_point)
        add(f"- nonlinear activation, **gradient class** (F = -grad U, isotropic noise; theory.md 5): the exact "
            f"kernels, series and all-order mean output come from the spectral representation of the generator "
            f"({report.spectral_modes} modes); the network **linearized** about h* = ({hstar}) (eigenvalues "
            f"of the Jacobian: {eig}) is shown beside them, and the simulation is of the nonlinear network itself.")
    else:
        hstar = ", ".join(_f(v, 6) for v in report.fixed_point)
        add(f"- nonlinear activation: kernels and series are those of the network **linearized** about "
            f"h* = ({hstar}) (eigenvalues of the Jacobian: {eig}); the simulation is of the nonlinear "
            "network itself. Exact nonlinear kernels: not available in this version.")
    add("")

    def figure(name: str, caption: str) -> None:
        if figures:
            add(f"![{caption}]({name})\n")
        else:
            add(f"*Figure `{name}` not drawn: matplotlib is not installed ({PLOT_HINT}).*\n")

    add("## 1. Kernels\n")
    which = "" if (report.linear or report.gradient) else " of the linearized network"
    figure("kernels.png", "kernels")
    add(f"R^(1)(tau){which} at selected lags (all {len(K.lags)} lags: `kernels_r1.csv`):\n")
    pick = numpy.unique(numpy.linspace(0, len(K.lags) - 1, 6).round().astype(int))
    cols = [(q, k) for q in range(len(outs)) for k in range(len(ins))]
    lin_cols = cols if K.r1_linearized is not None else []
    add(_md_table(["tau"] + [f"R1[{outs[q]},{ins[k]}]" for q, k in cols]
                  + [f"linearized R1[{outs[q]},{ins[k]}]" for q, k in lin_cols],
                  [[_f(K.lags[i])] + [_f(K.r1[i, q, k], 6) for q, k in cols]
                   + [_f(K.r1_linearized[i, q, k], 6) for q, k in lin_cols] for i in pick]))
    add("")
    if K.r2 is not None:
        pick2 = numpy.unique(numpy.linspace(0, len(K.lags2) - 1, 5).round().astype(int))
        add(f"R^(2)[{outs[0]},{ins[0]},{ins[0]}](tau1, tau2){which}, rows tau1, columns tau2 "
            f"(full {len(K.lags2)} x {len(K.lags2)} grid for every component: `kernels_r2.csv`):\n")
        add(_md_table(["tau1 \\ tau2"] + [_f(K.lags2[j]) for j in pick2],
                      [[_f(K.lags2[i])] + [_f(K.r2[i, j, 0, 0, 0], 5) for j in pick2] for i in pick2]))
        add("")

    add("## 2. Mean output E y_t\n")
    figure("mean_output.png", "mean output")
    series_name = "series" if report.linear else "linearized series"
    exact_sums = M.exact_partial_sums
    for e, eps in enumerate(M.eps):
        add(f"eps = {_f(eps)} (every time point: `mean_output.csv`):\n")
        pick = numpy.unique(numpy.linspace(0, len(M.times) - 1, 6).round().astype(int))
        for q, name in enumerate(outs):
            if exact_sums is not None:  # exact series of every order, the linearized one at the top order
                header = (["t", f"MC {name}", "s.e."] + [f"exact series N={N}" for N in range(order + 1)]
                          + [f"{series_name} N={order}"])
            else:
                header = ["t", f"MC {name}", "s.e."] + [f"{series_name} N={N}" for N in range(order + 1)]
            if M.exact is not None:
                header += ["exact (all orders)" if report.gradient else "exact", "(MC - exact)/s.e."]
            rows = []
            for i in pick:
                row = [_f(M.times[i]), _f(M.mc_mean[e, i, q], 6), _f(M.mc_stderr[e, i, q], 2)]
                if exact_sums is not None:
                    row += [_f(exact_sums[e, N, i, q], 6) for N in range(order + 1)]
                    row += [_f(M.partial_sums[e, order, i, q], 6)]
                else:
                    row += [_f(M.partial_sums[e, N, i, q], 6) for N in range(order + 1)]
                if M.exact is not None:
                    row += [_f(M.exact[e, i, q], 6), f"{M.z_scores[e, i, q]:+.2f}"]
                rows.append(row)
            add(_md_table(header, rows))
            add("")
    if M.exact is not None:
        z = numpy.abs(M.z_scores)
        what = "exact all-order mean output (spectral)" if report.gradient else "exact resummation"
        add(f"Monte Carlo against the {what}: max |MC - exact| / s.e. = {z.max():.2f} over "
            f"{z.size} comparisons (every time, eps and output); a correct simulator stays below ~4.\n")
        if report.gradient:
            for q, name in enumerate(outs):
                for e, eps in enumerate(M.eps):
                    lin = M.partial_sums[e, order, -1, q] - M.exact[e, -1, q]
                    ex = exact_sums[e, order, -1, q] - M.exact[e, -1, q]
                    add(f"- {name}, eps = {_f(eps)}, t = T: exact series (N = {order}) misses the exact mean output "
                        f"by {_f(ex, 3)}, the linearized series by {_f(lin, 3)}.")
            add("")
    else:
        add("What it shows:\n")
        for q, name in enumerate(outs):
            diff = M.terms[0, 0, q] - M.mc_stationary[q]
            se = M.mc_stationary_stderr[q]
            add(f"- stationary mean of {name}: simulated {_f(M.mc_stationary[q], 6)} +- {_f(se, 2)}, "
                f"linearized <f> {_f(M.terms[0, 0, q], 6)}: the linearization is off by {_f(diff, 3)} "
                f"({abs(diff) / se:.1f} s.e.) before any input.")
            for e, eps in enumerate(M.eps):
                d = M.partial_sums[e, order, -1, q] - M.mc_mean[e, -1, q]
                se = M.mc_stderr[e, -1, q]
                add(f"- eps = {_f(eps)}, t = T: simulated {_f(M.mc_mean[e, -1, q], 6)} +- {_f(se, 2)}, "
                    f"linearized series (N = {order}) {_f(M.partial_sums[e, order, -1, q], 6)}: "
                    f"difference {_f(d, 3)} ({abs(d) / se:.1f} s.e.).")
        add("")

    add("## 3. Truncation error at t = T\n")
    figure("truncation_error.png", "truncation error")
    if T.kind == "exact" and report.gradient:
        add("Reference: the exact all-order mean output E y_T (forward equation in the eigenbasis), against the "
            "exact nonlinear series of the same spectral representation. Theory: |E y_T - series_N| = "
            f"O(eps^(N+1)), so the log-log slope is N + 1. Points below {_ERROR_FLOOR:g} (relative) are at the "
            "numerical floor and are not fitted.\n")
    elif T.kind == "exact":
        add("Reference: the exact resummation. Theory: |E y_T - series_N| = O(eps^(N+1)), so the log-log "
            f"slope is N + 1 (N + 2 where the order-(N+1) term happens to vanish at T). Points below "
            f"{_ERROR_FLOOR:g} (relative) are at the numerical floor and are not fitted; a series that terminates "
            "(polynomial readout of degree <= N) has no slope.\n")
    else:
        add("Reference: the simulated response E y^eps_T - E y^0_T (pathwise differences, common random "
            "numbers), against the linearized series without its order-0 term. Points within 3 s.e. of "
            "the Monte-Carlo noise are not fitted. With exact kernels the slope would be N + 1. The "
            "linearized kernels are themselves wrong at every order (R^(1) at O(eps), R^(2) at "
            "O(eps^2), ...), so the error is dominated by the linearization, not the truncation: slopes "
            "between 1 and 2, and higher orders need not reduce it.\n")
        for q, name in enumerate(outs):
            first, last = T.error[0, -1, q], T.error[-1, -1, q]
            verdict = ("adding orders does not reduce the error" if last >= first
                       else f"higher orders reduce the error {first / max(last, 1e-300):.2g}-fold")
            add(f"- {name}, eps = {_f(T.eps[-1])}: error {_f(first, 3)} at N = {T.orders[0]} and "
                f"{_f(last, 3)} at N = {T.orders[-1]}: {verdict}.")
        add("")
    header = ["eps"] + [f"{name}: error N={N}" for name in outs for N in T.orders]
    if T.reference_stderr is not None:
        header += [f"{name}: 3 s.e." for name in outs]
    rows = []
    for j, eps in enumerate(T.eps):
        row = [_f(eps)] + [_f(T.error[a, j, q], 3) for q in range(len(outs)) for a in range(len(T.orders))]
        if T.reference_stderr is not None:
            row += [_f(3 * T.reference_stderr[j, q], 2) for q in range(len(outs))]
        rows.append(row)
    add(_md_table(header, rows))
    add("")
    rows = []
    for q, name in enumerate(outs):
        for a, N in enumerate(T.orders):
            slope = T.slopes[a, q]
            note = ("not fitted (series terminates or error below the floor)" if not numpy.isfinite(slope)
                    else f"fitted on {int(T.resolved[a, :, q].sum())} points")
            rows.append([name, str(N), _f(slope, 3), str(N + 1), note])
    add(_md_table(["output", "N", "fitted slope", "theory (exact kernels)", ""], rows))
    add("")
    add("## Files\n")
    add("`kernels_r1.csv`, " + ("`kernels_r2.csv`, " if K.r2 is not None else "")
        + "`mean_output.csv`, `truncation_error.csv`: the numbers behind every figure"
        + (" (`kernels.png`, `mean_output.png`, `truncation_error.png`)." if figures else "."))
    return "\n".join(L) + "\n"


def render_figures(report: VerificationReport, *, dpi: int = 100) -> dict[str, bytes]:
    """PNG bytes of ``kernels.png``, ``mean_output.png`` and ``truncation_error.png``.

    Uses matplotlib's object API with the Agg canvas (no pyplot, no global state). Raises
    :class:`ModuleNotFoundError` when matplotlib is not installed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def png(fig) -> bytes:
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()

    outs, ins = _index_names(report)
    name = report.spec.name
    lin = "" if (report.linear or report.gradient) else " (linearized)"
    out: dict[str, bytes] = {}

    K = report.kernels
    comps = [(q, a, b) for q in range(len(outs)) for a in range(len(ins)) for b in range(len(ins))]
    heat = comps[:_MAX_HEATMAPS] if K.r2 is not None else []
    fig = Figure(figsize=(4.2 * (1 + len(heat)), 3.4), layout="constrained")
    axes = fig.subplots(1, 1 + len(heat), squeeze=False)[0]
    ax = axes[0]
    for q in range(len(outs)):
        for k in range(len(ins)):
            line, = ax.plot(K.lags, K.r1[:, q, k], label=f"{outs[q]}, {ins[k]}" + (" exact" if report.gradient else ""))
            if K.r1_linearized is not None:
                ax.plot(K.lags, K.r1_linearized[:, q, k], ls="--", color=line.get_color(),
                        label=f"{outs[q]}, {ins[k]} linearized")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set(xlabel="lag tau", ylabel="R^(1)(tau)", title=f"{name}: first-order kernel{lin}")
    ax.legend(fontsize="small")
    extent = (K.lags2[0], K.lags2[-1], K.lags2[0], K.lags2[-1])
    for ax, (q, a, b) in zip(axes[1:], heat):
        data = K.r2[:, :, q, a, b]
        vmax = float(numpy.abs(data).max()) or 1.0
        im = ax.imshow(data.T, origin="lower", extent=extent, aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set(xlabel="tau1 (latest kick to t)", ylabel="tau2", title=f"R^(2)[{outs[q]}; {ins[a]},{ins[b]}]{lin}")
        fig.colorbar(im, ax=ax, shrink=0.85)
    out["kernels.png"] = png(fig)

    M = report.mean_output
    sums = M.partial_sums
    exact_sums = M.exact_partial_sums
    order = M.terms.shape[1] - 1
    E, p = len(M.eps), len(outs)
    fig = Figure(figsize=(4.6 * E, 4.6 * p), layout="constrained")
    axes = fig.subplots(2 * p, E, squeeze=False, sharex=True, gridspec_kw={"height_ratios": [2, 1] * p})
    colors = ["tab:gray", "tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink"]
    series_label = "series" if report.linear else "linearized series"
    for q in range(p):
        for e, eps in enumerate(M.eps):
            ax, res = axes[2 * q, e], axes[2 * q + 1, e]
            mc, se = M.mc_mean[e, :, q], M.mc_stderr[e, :, q]
            # residuals against the exact resummation (linear class) or the simulation (nonlinear)
            ref = M.exact[e, :, q] if M.exact is not None else mc
            if exact_sums is not None:  # exact series of every order; the linearized one at the top order
                for N in range(order + 1):
                    style = {"color": colors[N % len(colors)], "lw": 1.1, "ls": ":" if N == 0 else "-"}
                    ax.plot(M.times, exact_sums[e, N, :, q], label=f"exact series N={N}", **style)
                    if N:
                        res.plot(M.times, exact_sums[e, N, :, q] - ref, **style)
                style = {"color": "tab:olive", "lw": 1.3, "ls": "-."}
                ax.plot(M.times, sums[e, order, :, q], label=f"linearized series N={order}", **style)
                res.plot(M.times, sums[e, order, :, q] - ref, **style)
            else:
                for N in range(order + 1):
                    style = {"color": colors[N % len(colors)], "lw": 1.1, "ls": ":" if N == 0 else "-"}
                    ax.plot(M.times, sums[e, N, :, q], label=f"{series_label} N={N}", **style)
                    if N:
                        res.plot(M.times, sums[e, N, :, q] - ref, **style)
            if M.exact is not None:
                ax.plot(M.times, M.exact[e, :, q], color="black", ls="--", lw=1.1,
                        label="exact (all orders)" if report.gradient else "exact resummation")
            ax.fill_between(M.times, mc - 2 * se, mc + 2 * se, color="tab:red", alpha=0.3, lw=0, zorder=3)
            ax.plot(M.times, mc, color="tab:red", lw=1.0, ls="--", zorder=4, label="Monte Carlo (+- 2 s.e.)")
            res.fill_between(M.times, mc - ref - 2 * se, mc - ref + 2 * se, color="tab:red", alpha=0.3, lw=0)
            res.axhline(0, color="black" if M.exact is not None else "tab:red", lw=0.8, ls="--")
            ax.set(ylabel=f"E {outs[q]}(h_t)", title=f"{name}: eps = {_f(eps)}")
            res.set(ylabel="minus exact" if M.exact is not None else "minus MC")
            if q == p - 1:
                res.set(xlabel="t")
            if q == 0 and e == 0:
                ax.legend(fontsize="x-small")
    out["mean_output.png"] = png(fig)

    T = report.truncation
    fig = Figure(figsize=(4.6 * p, 3.6), layout="constrained")
    axes = fig.subplots(1, p, squeeze=False)[0]
    for q, ax in enumerate(axes):
        for a, N in enumerate(T.orders):
            err = T.error[a, :, q]
            ok = T.resolved[a, :, q]
            color = colors[N % len(colors)]
            slope = T.slopes[a, q]
            label = f"N={N}: slope {_f(slope, 3)} (theory {N + 1})" if numpy.isfinite(slope) else f"N={N}: not fitted"
            ax.loglog(T.eps[ok], err[ok], "o-", color=color, label=label)
            if (~ok).any():
                ax.loglog(T.eps[~ok], numpy.maximum(err[~ok], 1e-300), "x", color=color, alpha=0.5)
        if T.reference_stderr is not None:
            ax.loglog(T.eps, 3 * T.reference_stderr[:, q], color="0.5", ls="--", label="3 s.e. (MC noise)")
        ref = ("exact mean output" if report.gradient else "exact resummation") if T.kind == "exact" else "simulated response"
        ax.set(xlabel="eps", ylabel=f"|series - {ref}|", title=f"{name}: {outs[q]} at t = {_f(T.t)}{lin}")
        ax.legend(fontsize="x-small")
    out["truncation_error.png"] = png(fig)
    return out


# ----------------------------------------------------------------------------------------------
# writing and the command line
# ----------------------------------------------------------------------------------------------


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{str(out_dir)!r} exists and is not a directory", field="-o")
    parent = out_dir
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write into {str(parent)!r}", field="-o")


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_report(report: VerificationReport, out_dir: str | Path, *, figures: bool = True,
                 dpi: int = 100) -> tuple[tuple[Path, ...], bool]:
    """Render and write every file of ``report`` into ``out_dir`` (created if needed), atomically.

    Returns the written paths and whether figures were drawn (``False`` when ``figures`` is off or
    matplotlib is missing; the tables are written either way).
    """
    out_dir = Path(out_dir)
    _check_out_dir(out_dir)
    pngs: dict[str, bytes] = {}
    drawn = False
    if figures:
        try:
            pngs = render_figures(report, dpi=dpi)
            drawn = True
        except ModuleNotFoundError as err:
            if err.name is None or not err.name.startswith("matplotlib"):
                raise
    tables = render_tables(report, figures=drawn)
    files: dict[str, bytes] = {name: text.encode("utf-8") for name, text in tables.items()}
    files.update(pngs)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name in sorted(files):
            _atomic_write(out_dir / name, files[name])
            written.append(out_dir / name)
    except OSError as err:
        raise InputError(f"cannot write the report into {str(out_dir)!r} ({err.strerror or err})", field="-o") from err
    return tuple(written), drawn


def _parse_floats(text: str, field: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise InputError(f"{text!r} is not a comma-separated list of numbers", field=field) from err
    return values


def _cli_params(args) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in args.param:
        if name in values:
            raise InputError(f"{name} given twice", field="--param")
        values[name] = value
    return values


def run_cli(args) -> int:
    """``volterra-sym report``: compute, then write (nothing is written on an error)."""
    out_dir = Path(args.output)
    _check_out_dir(out_dir)
    eps_list = _parse_floats(args.eps_list, "--eps-list")
    error_eps = _parse_floats(args.error_eps, "--error-eps") if args.error_eps else None
    progress = sys.stderr.isatty()
    report = build_report(args.spec, args.input, eps_list=eps_list, t=args.t, paths=args.paths, seed=args.seed,
                          dt=args.dt, params=_cli_params(args), order=args.order, n_times=args.times,
                          error_eps=error_eps, progress=progress)
    written, drawn = write_report(report, out_dir, figures=not args.no_figures)
    if not drawn and not args.no_figures:
        print(f"volterra-sym: matplotlib is not installed: figures skipped, tables written; "
              f"to draw them: {PLOT_HINT}", file=sys.stderr)
    print(f"wrote {len(written)} files to {out_dir}/ (report.md)")
    T = report.truncation
    for q in range(report.spec.n_outputs):
        slopes = ", ".join(f"N={N}: {_f(T.slopes[a, q], 3)}" for a, N in enumerate(T.orders))
        print(f"  f{q + 1}: truncation-error slopes ({T.kind} reference) {slopes}")
    z = report.mean_output.z_scores
    if z is not None:
        what = "exact all-order mean output" if report.gradient else "exact resummation"
        print(f"  Monte Carlo vs {what}: max |z| = {numpy.abs(z).max():.2f}")
    return 0
