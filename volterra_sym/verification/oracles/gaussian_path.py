"""Independent high-precision routes to what the engine derives (mpmath only), for ``verify``.

Nothing here reads a :class:`~volterra_sym.derive.KernelSet` or a model built by
:mod:`volterra_sym.model`. Every route starts from the network as the spec writes it (A, b, C,
Sigma and the readout f at numeric parameter values, parsed again by :mod:`.spec_parse`) and never
differentiates f symbolically except where the quantity is defined that way (the zero-lag mean
<C_k . grad f>).
All functions compute at the *current* mpmath precision; callers wrap them in
:func:`mpmath.workdps`, so the global context is never changed for good.

Routes (theory.md sections 3c and 4):

* :func:`stationary_law`: mu = -A^-1 b and S from the Kronecker form of A S + S A^T + Sigma = 0,
  by LU in mpmath (the engine solves the Lyapunov equation exactly in SymPy).
* :func:`correlation_kernel`: the correlation form R^(n) = E[g_{n-1}(h_{tau_n}) A_{k_n}(h_0)]
  as an expectation over a Gaussian path of the stationary process. The joint law of
  (h_0, h_{tau_n}) is h_{tau_n} = mu + E_n (h_0 - mu) + xi_n with E = mpmath.expm(A tau) and
  xi ~ N(0, S - E S E^T). The inner functions g_j = C_{k_j} . grad P_{tau_j} g_{j-1} are unrolled
  with Bismut's formula for the gradient of a Gaussian transition,
  grad P_tau g(x) = E[g(mu + E(x - mu) + xi) E^T Q^-1 xi], so no derivative of f is ever taken:

      R^(n) = E[ f(Y_0) w_1 ... w_{n-1} A_{k_n}(h_0) ],   w_j = (E_j C_{k_j})^T Q_j^-1 xi_j,
      Y_{n-1} = h_{tau_n},  Y_{j-1} = mu + E_j (Y_j - mu) + xi_j.

  The weights are linear in the Gaussians, so conditioning on the |J| coordinates of Y_0 that a
  readout term depends on leaves E[prod w | Y_0] as a polynomial (Isserlis, by hafnians of the
  conditional covariance). What remains is a |J|-dimensional Gaussian integral: exact
  Gauss-Hermite for polynomial terms, a converged trapezoidal rule on R^|J| (|J| <= 2) for other
  terms; beyond that there is no oracle (:class:`NoOracle`).
* :func:`zero_lag_mean`: <C_k . grad f>_inf by the same Gaussian quadrature.
* :func:`forced_mean_shift`: delta_t = int_0^t e^{A(t-s)} C u_s ds for a trigonometric input, as
  an exact solve of the augmented linear ODE (state, input generator) with one mpmath.expm
  (Van Loan), not through the engine's propagator.
* :func:`resummation_coefficients`: the w-Taylor coefficients of F(w) = E f(mu + xi + w delta)
  (theory.md 4, exact resummation) from the Taylor expansion of the shifted Gaussian density
  (Cameron-Martin): E g(u + w a) = sum_n w^n |a|^n / n! E[g(u) He_n(a.u / |a|)].
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import mpmath
import sympy

from .spec_parse import mp_number, network_of
from .trig_input import TrigInput

__all__ = [
    "NoOracle",
    "MpModel",
    "ReadoutTerm",
    "TrigInput",
    "mp_model",
    "to_mp",
    "stationary_law",
    "gauss_hermite_rule",
    "standard_expectation",
    "gaussian_expectation",
    "correlation_kernel",
    "zero_lag_mean",
    "forced_mean_shift",
    "resummation_coefficients",
]

#: trapezoidal rules for two-dimensional non-polynomial expectations stop at this many nodes
MAX_TRAPEZOID_NODES = 160_000


class NoOracle(Exception):
    """No independent route for this quantity in this class; ``str(err)`` says why."""


@dataclass(frozen=True)
class ReadoutTerm:
    """Additive part of one readout depending on the hidden units ``variables`` only.

    ``degree`` is the total degree for a polynomial term, ``None`` otherwise; ``func`` evaluates
    the term in mpmath from the values of ``variables``.
    """

    variables: tuple[int, ...]
    expr: sympy.Expr
    degree: int | None
    func: Callable[..., object]


@dataclass(frozen=True)
class MpModel:
    """The model at numeric parameter values, as mpmath objects at the precision it was built.

    ``mu`` and ``S`` come from :func:`stationary_law` (independent of the derivation).
    """

    prec: int
    A: mpmath.matrix
    b: mpmath.matrix
    C: mpmath.matrix
    Sigma: mpmath.matrix
    mu: mpmath.matrix
    S: mpmath.matrix
    hidden: tuple[sympy.Symbol, ...]
    readout: tuple[sympy.Expr, ...]
    terms: tuple[tuple[ReadoutTerm, ...], ...]

    @property
    def n_hidden(self) -> int:
        return self.A.rows

    @property
    def n_inputs(self) -> int:
        return self.C.cols

    @property
    def n_outputs(self) -> int:
        return len(self.readout)


def to_mp(value: sympy.Expr | float | int) -> mpmath.mpf:
    """A real SymPy number (or float) as an mpf at the current precision."""
    try:
        return mp_number(value)
    except ValueError as err:
        raise NoOracle(str(err)) from err


def parameter_substitution(model, values: Mapping[str, float]) -> dict[sympy.Symbol, sympy.Rational]:
    """Parameters of ``model.spec`` as exact rationals equal to their binary64 values (the float64
    engine's numbers); used where the engine's own expressions are evaluated."""
    return {model.spec.parameters[k]: sympy.Rational(float(v)) for k, v in values.items()}


def _binary64(M: mpmath.matrix) -> mpmath.matrix:
    return M.apply(lambda x: mpmath.mpf(float(x)))


def mp_model(spec, values: Mapping[str, float], *,
             linearization: tuple[mpmath.matrix, mpmath.matrix] | None = None) -> MpModel:
    """The network of ``spec`` (a :class:`~volterra_sym.spec.DerivationSpec`, of which only the raw
    TOML data is read) at numeric parameter values and the current precision.

    ``linearization``: (A, b) of a network linearized about its fixed point. The linearization is
    defined by these binary64 numbers (checked separately against an mpmath linearization), and C
    and Sigma are rounded to binary64 like the linearized model's.
    """
    net = network_of(spec)
    A, b, C, Sigma = net.mp_matrices(values)
    if linearization is not None:
        A, b = linearization
        C, Sigma = _binary64(C), _binary64(Sigma)
    mu, S = stationary_law(A, b, Sigma)
    readout = net.readout_at(values)
    terms = tuple(_split_readout(f, net.hidden) for f in readout)
    return MpModel(mpmath.mp.prec, A, b, C, Sigma, mu, S, tuple(net.hidden), readout, terms)


def _split_readout(f: sympy.Expr, hidden: Sequence[sympy.Symbol]) -> tuple[ReadoutTerm, ...]:
    """Polynomial terms in one group, other terms grouped by the hidden units they depend on."""
    poly = sympy.Integer(0)
    other: dict[tuple[int, ...], sympy.Expr] = {}
    for term in sympy.Add.make_args(f):
        if term.is_polynomial(*hidden):
            poly += term
        else:
            key = tuple(i for i, h in enumerate(hidden) if term.has(h))
            other[key] = other.get(key, sympy.Integer(0)) + term
    groups = []
    if poly != 0:
        key = tuple(i for i, h in enumerate(hidden) if poly.has(h))
        groups.append((key, poly, sympy.Poly(poly, *hidden).total_degree()))
    groups.extend((key, expr, None) for key, expr in sorted(other.items()))
    out = []
    for key, expr, degree in groups:
        symbols = [hidden[i] for i in key]
        out.append(ReadoutTerm(key, expr, degree, sympy.lambdify(symbols, expr, modules="mpmath", docstring_limit=0)))
    return tuple(out)


# --- linear algebra -----------------------------------------------------------------------------


def stationary_law(A: mpmath.matrix, b: mpmath.matrix, Sigma: mpmath.matrix) -> tuple[mpmath.matrix, mpmath.matrix]:
    """mu = -A^-1 b and S with A S + S A^T + Sigma = 0 via (I (x) A + A (x) I) vec S = -vec Sigma."""
    n = A.rows
    mu = -mpmath.lu_solve(A, b)
    K = mpmath.zeros(n * n, n * n)
    for i, j, k in itertools.product(range(n), repeat=3):
        K[i * n + j, k * n + j] += A[i, k]  # (A S)_ij
        K[i * n + j, i * n + k] += A[j, k]  # (S A^T)_ij
    rhs = mpmath.matrix([-Sigma[i, j] for i in range(n) for j in range(n)])
    vec = mpmath.lu_solve(K, rhs)
    S = mpmath.matrix(n, n)
    for i in range(n):
        for j in range(n):
            S[i, j] = (vec[i * n + j] + vec[j * n + i]) / 2
    return mu, S


def _sub(M: mpmath.matrix, rows: Sequence[int], cols: Sequence[int] | None = None) -> mpmath.matrix:
    cols = range(M.cols) if cols is None else cols
    return mpmath.matrix([[M[i, j] for j in cols] for i in rows])


def _lower_solve(L: mpmath.matrix, B: mpmath.matrix) -> mpmath.matrix:
    """L^-1 B for a lower-triangular L (forward substitution, column by column)."""
    n = L.rows
    X = mpmath.matrix(n, B.cols)
    for c in range(B.cols):
        for i in range(n):
            s = B[i, c]
            for k in range(i):
                s -= L[i, k] * X[k, c]
            X[i, c] = s / L[i, i]
    return X


# --- Gaussian quadrature ------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _hermite_rule(K: int, prec: int) -> tuple[tuple[mpmath.mpf, ...], tuple[mpmath.mpf, ...]]:
    with mpmath.workprec(prec):
        J = mpmath.zeros(K, K)
        for i in range(1, K):
            J[i - 1, i] = J[i, i - 1] = mpmath.sqrt(i)
        E, Q = mpmath.eigsy(J)
        nodes = tuple(E[i] for i in range(K))
        weights = tuple(Q[0, i] ** 2 for i in range(K))
    return nodes, weights


def gauss_hermite_rule(K: int) -> tuple[tuple[mpmath.mpf, ...], tuple[mpmath.mpf, ...]]:
    """Nodes and weights of the K-point rule for E g(u), u ~ N(0, 1) (Golub-Welsch in mpmath).

    Exact for polynomials of degree <= 2K - 1.

    >>> with mpmath.workdps(30):
    ...     x, w = gauss_hermite_rule(3)
    ...     print(mpmath.nstr(sum(wi * xi**4 for xi, wi in zip(x, w)), 20))
    3.0
    """
    return _hermite_rule(K, mpmath.mp.prec)


def standard_expectation(
    g: Callable[[Sequence[mpmath.mpf]], object], dim: int, degree: int | None, *, method: str = "trapezoid"
) -> object:
    """E g(u) for u ~ N(0, I_dim); ``degree`` is g's polynomial degree, or None if g is not one.

    Polynomials: the tensor Gauss-Hermite rule with degree // 2 + 1 nodes per axis (exact).
    Otherwise (dim <= 2): the trapezoidal rule, step halved until converged (:func:`_trapezoid`),
    or with ``method="quad"`` in one dimension ``mpmath.quad`` (tanh-sinh) with its error estimate;
    more dimensions raise :class:`NoOracle`.
    """
    if dim == 0:
        return g(())
    if degree is not None:
        x, w = gauss_hermite_rule(degree // 2 + 1)
        total = mpmath.mpf(0)
        for idx in itertools.product(range(len(x)), repeat=dim):
            weight = mpmath.fprod(w[i] for i in idx)
            total += weight * g(tuple(x[i] for i in idx))
        return total
    if dim > 2:
        raise NoOracle(f"a non-polynomial readout term in {dim} hidden units (quadrature is limited to 2)")
    if method == "quad" and dim == 1:
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)
        value, error = mpmath.quad(lambda x: g((x,)) * mpmath.exp(-x * x / 2), [-mpmath.inf, 0, mpmath.inf],
                                   error=True)
        if error > mpmath.mpf(10) ** (-mpmath.mp.dps + 3) * max(1, abs(value)):
            raise NoOracle(f"mpmath.quad did not converge (error estimate {mpmath.nstr(error, 3)})")
        return value * norm
    return _trapezoid(g, dim)


def _trapezoid(g: Callable, dim: int) -> object:
    """E g(u), u ~ N(0, I_dim), dim <= 2, by the trapezoidal rule on R^dim truncated where the
    Gaussian weight drops below 10^-(dps + 8); the step is halved until two rules agree to
    10^-(dps - 3) (the error falls like exp(-2 pi d / h) for g analytic in a strip |Im u| < d, so
    the difference bounds the coarser rule's error)."""
    tol = mpmath.mpf(10) ** (-mpmath.mp.dps + 3)
    cut = mpmath.sqrt(2 * (mpmath.mp.dps + 8) * mpmath.log(10)) + 1
    norm = (2 * mpmath.pi) ** (-mpmath.mpf(dim) / 2)
    h = mpmath.mpf(1) / 2
    M = int(mpmath.ceil(cut / h))
    total = mpmath.mpf(0)
    seen = 0
    odd_only = False
    previous = None
    while True:
        grid = [k * h for k in range(-M, M + 1) if not odd_only or k % 2]
        if dim == 1:
            total += mpmath.fsum(g((x,)) * mpmath.exp(-x * x / 2) for x in grid)
        else:
            full = [k * h for k in range(-M, M + 1)]
            weights = {x: mpmath.exp(-x * x / 2) for x in full}
            total = mpmath.fsum(weights[x] * weights[y] * g((x, y)) for x in full for y in full)
        seen += len(grid) ** dim
        value = total * h**dim * norm
        if previous is not None and abs(value - previous) <= tol * max(1, abs(value)):
            return value
        if seen > MAX_TRAPEZOID_NODES:
            raise NoOracle("the trapezoidal rule did not converge within its node budget")
        previous = value
        h /= 2
        M *= 2
        odd_only = dim == 1  # in one dimension the finer rule reuses the coarser nodes


def gaussian_expectation(
    g: Callable[..., object], mean: mpmath.matrix, cov: mpmath.matrix, degree: int | None, *,
    method: str = "trapezoid",
) -> object:
    """E g(*x) for x ~ N(mean, cov) (whitened by the Cholesky factor of ``cov``)."""
    d = mean.rows
    if d == 0:
        return g()
    L = mpmath.cholesky(cov)

    def standard(u):
        return g(*[mean[i] + mpmath.fsum(L[i, k] * u[k] for k in range(i + 1)) for i in range(d)])

    return standard_expectation(standard, d, degree, method=method)


# --- correlation form ---------------------------------------------------------------------------


def _hafnian(G: mpmath.matrix, items: tuple[int, ...]) -> mpmath.mpf:
    if not items:
        return mpmath.mpf(1)
    first, rest = items[0], items[1:]
    return mpmath.fsum(G[first, j] * _hafnian(G, rest[:k] + rest[k + 1:]) for k, j in enumerate(rest))


def _weighted_expectation(term: ReadoutTerm, mu: mpmath.matrix, Y: mpmath.matrix, forms: list[mpmath.matrix]) -> object:
    """E[term(mu + Y G) prod_i (d_i . G)], G standard normal, Y (n x N), forms d_i (N-vectors).

    Conditions on Z = Y_J G (its law: N(0, K = Y_J Y_J^T)); given Z = L_K u, d_i . G has mean
    a_i . u, a_i = L_K^-1 Y_J d_i, and covariance d_i . d_j - a_i . a_j.
    """
    J = term.variables
    YJ = _sub(Y, J)
    K = YJ * YJ.T
    LK = mpmath.cholesky(K)
    a = [_lower_solve(LK, YJ * d) for d in forms]
    r = len(forms)
    G = mpmath.matrix(r, r)
    for i in range(r):
        for j in range(r):
            G[i, j] = mpmath.fdot(forms[i], forms[j]) - mpmath.fdot(a[i], a[j])
    subsets = []
    for size in range(0, r + 1, 2):
        for U in itertools.combinations(range(r), size):
            h = _hafnian(G, U)
            if h != 0:
                subsets.append((h, tuple(i for i in range(r) if i not in U)))
    dim = len(J)
    muJ = [mu[i] for i in J]

    def integrand(u):
        means = [mpmath.fsum(a[i][k] * u[k] for k in range(dim)) for i in range(r)]
        weight = mpmath.fsum(h * mpmath.fprod(means[i] for i in rest) for h, rest in subsets)
        x = [muJ[i] + mpmath.fsum(LK[i, k] * u[k] for k in range(i + 1)) for i in range(dim)]
        return term.func(*x) * weight

    degree = None if term.degree is None else term.degree + r
    return standard_expectation(integrand, dim, degree)


def _transition(om: MpModel, lag: object) -> tuple:
    """E = e^{A lag} and the Cholesky factor of Q = S - E S E^T, memoized per (precision, lag) on the
    model (kernel components at the same lags share them)."""
    cache = om.__dict__.setdefault("_transitions", {})
    key = (mpmath.mp.prec, lag)
    if key not in cache:
        E = mpmath.expm(om.A * lag)
        Q = om.S - E * om.S * E.T
        cache[key] = (E, mpmath.cholesky((Q + Q.T) / 2))
    return cache[key]


def correlation_kernel(om: MpModel, output: int, indices: Sequence[int], lags: Sequence[object]) -> object:
    """R^(n)_{f_output; indices}(lags) by the correlation form (module docstring), n = len(indices).

    ``lags`` must be positive (the Bismut weights need Q = S - E S E^T invertible).
    """
    n, nh = len(indices), om.n_hidden
    N = nh * (n + 1)
    LS = mpmath.cholesky(om.S)
    X = mpmath.zeros(nh, N)  # Y_j - mu as a linear map of the standard Gaussians, block 0 = h_0
    for i in range(nh):
        for k in range(nh):
            X[i, k] = LS[i, k]
    forms = []
    final = mpmath.zeros(N, 1)  # A_{k_n}(h_0) = C_k^T S^-1 L_S G_0 = (L_S^-1 C_k) . G_0
    LC = _lower_solve(LS, _sub(om.C, range(nh), [indices[-1]]))
    for i in range(nh):
        final[i] = LC[i, 0]
    forms.append(final)
    for j in range(n, 0, -1):  # lag tau_j moves Y_j -> Y_{j-1}; j = n starts from h_0
        E, LQ = _transition(om, lags[j - 1])
        X = E * X
        for i in range(nh):
            for k in range(nh):
                X[i, j * nh + k] += LQ[i, k]
        if j < n:
            w = _lower_solve(LQ, E * _sub(om.C, range(nh), [indices[j - 1]]))
            d = mpmath.zeros(N, 1)
            for i in range(nh):
                d[j * nh + i] = w[i, 0]
            forms.append(d)
    return mpmath.fsum(_weighted_expectation(term, om.mu, X, forms) for term in om.terms[output])


def zero_lag_mean(om: MpModel, output: int, k: int) -> object:
    """<C_k . grad f_output>_inf (the definition: symbolic gradient, Gaussian quadrature)."""
    total = mpmath.mpf(0)
    for term in om.terms[output]:
        symbols = [om.hidden[i] for i in term.variables]
        mean = mpmath.matrix([om.mu[i] for i in term.variables])
        cov = _sub(om.S, term.variables, term.variables)
        degree = None if term.degree is None else max(term.degree - 1, 0)
        for i, x in zip(term.variables, symbols):
            derivative = sympy.diff(term.expr, x)
            if om.C[i, k] == 0 or derivative == 0:
                continue
            func = sympy.lambdify(symbols, derivative, modules="mpmath", docstring_limit=0)
            total += om.C[i, k] * gaussian_expectation(func, mean, cov, degree)
    return total


# --- resummation --------------------------------------------------------------------------------


def forced_mean_shift(om: MpModel, u: TrigInput, t: object) -> mpmath.matrix:
    """delta_t = int_0^t e^{A(t-s)} C u_s ds: exp of the augmented system [[A, C U], [0, Omega]].

    The input is the output U x_s of the linear system x' = Omega x, x = (1, cos w s, sin w s) per
    channel, so (delta, x) solves one linear ODE whose solution is a single matrix exponential.
    """
    nh, m = om.n_hidden, om.n_inputs
    D = nh + 3 * m
    M = mpmath.zeros(D, D)
    for i in range(nh):
        for j in range(nh):
            M[i, j] = om.A[i, j]
    x0 = mpmath.zeros(D, 1)
    for c in range(m):
        base = nh + 3 * c
        w = mpmath.mpf(u.freq[c])
        M[base + 1, base + 2] = -w
        M[base + 2, base + 1] = w
        x0[base] = x0[base + 1] = 1
        coeffs = (mpmath.mpf(u.offset[c]), mpmath.mpf(u.cos[c]), mpmath.mpf(u.sin[c]))
        for i in range(nh):
            for q in range(3):
                M[i, base + q] += om.C[i, c] * coeffs[q]
    z = mpmath.expm(M * t) * x0
    return mpmath.matrix([z[i] for i in range(nh)])


def _hermite_e(n: int, x: object) -> object:
    if n == 0:
        return mpmath.mpf(1)
    prev, cur = mpmath.mpf(1), x
    for k in range(1, n):
        prev, cur = cur, x * cur - k * prev
    return cur


def resummation_coefficients(om: MpModel, output: int, delta: mpmath.matrix, order: int) -> list[object]:
    """c_0..c_order with E f(mu + xi + w delta) = sum_n c_n w^n, xi ~ N(0, S) (module docstring)."""
    coeffs = [mpmath.mpf(0)] * (order + 1)
    for term in om.terms[output]:
        J = term.variables
        dim = len(J)
        mean = [om.mu[i] for i in J]
        if dim == 0:
            coeffs[0] += term.func()
            continue
        L = mpmath.cholesky(_sub(om.S, J, J))
        a = _lower_solve(L, mpmath.matrix([delta[i] for i in J]))
        norm = mpmath.norm(a)
        unit = [a[i] / norm for i in range(dim)] if norm != 0 else [mpmath.mpf(0)] * dim
        for n in range(order + 1):
            if n and norm == 0:
                break

            def integrand(uu, n=n, term=term, mean=mean, L=L, unit=unit, dim=dim):
                x = [mean[i] + mpmath.fsum(L[i, k] * uu[k] for k in range(i + 1)) for i in range(dim)]
                return term.func(*x) * _hermite_e(n, mpmath.fsum(unit[k] * uu[k] for k in range(dim)))

            degree = None if term.degree is None else term.degree + n
            coeffs[n] += norm**n / math.factorial(n) * standard_expectation(integrand, dim, degree)
    return coeffs
