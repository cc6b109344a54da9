"""Shared helpers of the code-generation tests: paths, module generation, independent oracles.

The oracles never use the engine's closed forms: e^{A s} comes from ``mpmath.expm``, mu and S
from mpmath linear solves, Gaussian expectations from Gauss-Hermite rules, and the kernels from
the exact resummation E f(mu + xi + sum_j a_j e^{A s_j} C_kj) (theory.md 4): the kernel is its
mixed derivative in a_1..a_n at 0 and the series terms are the eps-Taylor coefficients of
E f(mu + xi + eps delta_t), delta_t = int_0^t e^{A(t-s)} C u_s ds from scipy's ODE solver.
Polynomial readouts are extracted exactly by sums over roots of unity.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import mpmath
import numpy
import sympy

from volterra_sym.codegen.pipeline import generate_module
from volterra_sym.codegen.loader import load_generated
from volterra_sym.spec import DerivationSpec, load_spec

ROOT = Path(__file__).resolve().parent.parent
# spec files only: companions such as ``name.reference.toml`` have a dot in their stem
DERIVATIONS = sorted(p for p in (ROOT / "derivations").glob("*.toml") if "." not in p.stem)
SPECS = Path(__file__).resolve().parent / "specs"
TOY = SPECS / "toy.toml"
AWKWARD = SPECS / "awkward.toml"
GOLDEN = Path(__file__).resolve().parent / "golden"


def relative(path: Path) -> str:
    """``path`` relative to the repository root, as the tests pass it (cwd = ROOT)."""
    return path.relative_to(ROOT).as_posix()


def generate_into(spec: Path, folder: Path):
    """Generate ``spec`` (given relative to ROOT, as on the command line) into ``folder``; import it."""
    result = generate_module(relative(spec), folder)
    return result, load_generated(result.path)


# --- independent oracle -------------------------------------------------------------------------


@dataclass
class MpModel:
    """The network at fixed parameter values, in mpmath (dps set by the caller's context)."""

    spec: DerivationSpec
    A: mpmath.matrix
    b: mpmath.matrix
    C: mpmath.matrix
    mu: mpmath.matrix
    S: mpmath.matrix
    L: mpmath.matrix
    readout: list  # per output: (function of hidden values, indices it uses, polynomial degree or None)


def _mp_matrix(matrix: sympy.MatrixBase, symbols, values) -> mpmath.matrix:
    out = mpmath.matrix(matrix.shape[0], matrix.shape[1])
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            f = sympy.lambdify(symbols, matrix[i, j], modules="mpmath")
            out[i, j] = mpmath.mpf(f(*values))
    return out


def mp_model(spec: DerivationSpec, params: dict[str, float] | None = None) -> MpModel:
    values = dict(spec.defaults)
    values.update(params or {})
    symbols = list(spec.parameters.values())
    vals = [mpmath.mpf(values[str(s)]) for s in symbols]
    A = _mp_matrix(spec.W - spec.Gamma, symbols, vals)
    b = _mp_matrix(spec.b, symbols, vals)
    C = _mp_matrix(spec.C, symbols, vals)
    sig = _mp_matrix(spec.sigma, symbols, vals)
    Sigma = sig * sig.T
    n = A.rows
    mu = mpmath.lu_solve(A, -b)
    # (I (x) A + A (x) I) vec(S) = -vec(Sigma)
    K = mpmath.matrix(n * n, n * n)
    rhs = mpmath.matrix(n * n, 1)
    for i, j in itertools.product(range(n), repeat=2):
        rhs[i * n + j] = -Sigma[i, j]
        for k in range(n):
            K[i * n + j, k * n + j] += A[i, k]
            K[i * n + j, i * n + k] += A[j, k]
    vecS = mpmath.lu_solve(K, rhs)
    S = mpmath.matrix(n, n)
    for i, j in itertools.product(range(n), repeat=2):
        S[i, j] = (vecS[i * n + j] + vecS[j * n + i]) / 2
    L = mpmath.cholesky(S)
    readout = []
    hidden = list(spec.hidden)
    subs = {s: sympy.Float(mpmath.nstr(v, 40), 40) for s, v in zip(symbols, vals)}
    for f in spec.readout:
        g = f.xreplace(subs)
        used = [i for i, h in enumerate(hidden) if h in g.free_symbols]
        degree = sympy.Poly(g, *hidden).total_degree() if g.is_polynomial(*hidden) else None
        readout.append((sympy.lambdify(hidden, g, modules="mpmath"), used, degree))
    return MpModel(spec, A, b, C, mu, S, L, readout)


def _hermite_rule(count: int):
    x, w = numpy.polynomial.hermite_e.hermegauss(count)
    return [mpmath.mpf(float(v)) for v in x], [mpmath.mpf(float(v)) / mpmath.sqrt(2 * mpmath.pi) for v in w]


def gaussian_expectation(model: MpModel, q: int, shift) -> mpmath.mpc:
    """E f_q(mu + xi + shift), xi ~ N(0, S), by a tensor Gauss-Hermite rule on the variables f_q uses
    (exact for polynomials; 80 / 40 nodes per variable otherwise). ``shift`` may be complex."""
    func, used, degree = model.readout[q]
    n = model.A.rows
    d = len(used)
    if d == 0:
        return func(*[model.mu[i] + shift[i] for i in range(n)])
    Ssub = mpmath.matrix(d, d)
    for a, i in enumerate(used):
        for c, j in enumerate(used):
            Ssub[a, c] = model.S[i, j]
    L = mpmath.cholesky(Ssub)
    count = (degree // 2 + 1) if degree is not None else (80 if d == 1 else 40)
    x, w = _hermite_rule(count)
    total = mpmath.mpf(0)
    for idx in itertools.product(range(count), repeat=d):
        weight = mpmath.fprod(w[i] for i in idx)
        point = [model.mu[i] + shift[i] for i in range(n)]
        for a, i in enumerate(used):
            point[i] += mpmath.fsum(L[a, c] * x[idx[c]] for c in range(d))
        total += weight * func(*point)
    return total


def _expm(model: MpModel, s) -> mpmath.matrix:
    return mpmath.expm(model.A * mpmath.mpf(s))


def oracle_kernel(model: MpModel, lags, output: int, indices) -> mpmath.mpf:
    """R^(n)_{output; indices}(lags) as the a_1..a_n mixed derivative of the exact resummation."""
    n = len(lags)
    sigma = list(itertools.accumulate(float(t) for t in lags))
    directions = [_expm(model, s) * model.C[:, k] for s, k in zip(sigma, indices)]
    nh = model.A.rows

    def F(*a):
        shift = [mpmath.fsum(a[j] * directions[j][i] for j in range(n)) for i in range(nh)]
        return gaussian_expectation(model, output, shift)

    degree = model.readout[output][2]
    if degree is not None:
        K = degree + 1  # F has degree <= degree in each a_j: no aliasing onto a_1 ... a_n
        roots = [mpmath.expjpi(mpmath.mpf(2 * r) / K) for r in range(K)]
        total = mpmath.mpc(0)
        for combo in itertools.product(range(K), repeat=n):
            point = [roots[r] for r in combo]
            total += F(*point) / mpmath.fprod(point)
        return mpmath.re(total) / K**n
    return mpmath.diff(F, (0,) * n, (1,) * n)


def delta(model: MpModel, u, times) -> numpy.ndarray:
    """delta_t = int_0^t e^{A(t-s)} C u_s ds at ``times``, by a tight DOP853 solve."""
    from scipy.integrate import solve_ivp

    A = numpy.array(model.A.tolist(), dtype=float)
    C = numpy.array(model.C.tolist(), dtype=float)
    solution = solve_ivp(lambda t, y: A @ y + C @ u(numpy.array([t]))[0], (0.0, float(times[-1])),
                         numpy.zeros(A.shape[0]), method="DOP853", t_eval=times, rtol=1e-13, atol=1e-15)
    assert solution.success
    return solution.y.T


def oracle_series(model: MpModel, d, eps: float, order: int) -> numpy.ndarray:
    """Terms 0..order, shape (order + 1, p), from the eps-Taylor coefficients of E f(mu + xi + eps d)."""
    p = len(model.readout)
    out = numpy.zeros((order + 1, p))
    for q in range(p):
        def G(e):
            return gaussian_expectation(model, q, [e * mpmath.mpf(float(v)) for v in d])

        degree = model.readout[q][2]
        if degree is not None:
            K = max(degree, order) + 1
            values = [G(mpmath.expjpi(mpmath.mpf(2 * r) / K)) for r in range(K)]
            for k in range(order + 1):
                c = mpmath.fsum(values[r] * mpmath.expjpi(-mpmath.mpf(2 * r * k) / K) for r in range(K)) / K
                out[k, q] = float(mpmath.re(c)) * eps**k
        else:
            coefficients = mpmath.taylor(G, 0, order)
            for k in range(order + 1):
                out[k, q] = float(coefficients[k]) * eps**k
    return out


def all_indices(m: int, n: int):
    return list(itertools.product(range(m), repeat=n))


def smooth_input(m: int):
    def u(t):
        t = numpy.asarray(t, dtype=float)
        return numpy.stack([numpy.sin(1.1 * t + 0.7 * c) + 0.4 * numpy.cos(2.3 * t) for c in range(m)], axis=-1)

    return u


def spec_of(path: Path) -> DerivationSpec:
    return load_spec(relative(path))

