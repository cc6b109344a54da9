"""Does E[g(h)] exist? Singularities of a readout on the real line, found before any quadrature.

The stationary laws of this package (a Gaussian N(mu, S) with S > 0, or a gradient-class density
exp(-2U/s^2)) have full support on R^n: E[g(h)] exists only if g is real and finite on R^n up to
integrable singularities, and a symmetric quadrature rule can return 0 or 2e-16 for E[1/h1] or
E[tan(10 h1)] because its nodes straddle the pole. :func:`expectation_problem` walks the
expression tree and names the first node that breaks this:

* a negative power of a quantity that vanishes somewhere (``1/h1``, ``h1**-5``, ``1/(h1 - h2)``);
* ``tan`` of a quantity reaching pi/2 + k pi (its cosine vanishes);
* ``log`` of a quantity that is <= 0 somewhere, a fractional power of one that is < 0 somewhere;
* the imaginary unit, and Dirac deltas (derivatives of ``Abs``/``sign``: quadrature misses them).

"Vanishes somewhere" is decided exactly for a polynomial in one variable (real-root count over the
rationals), otherwise by a sign change (or an exact zero) over a deterministic set of points
spread over many scales around the law's centre: a sign change of a continuous quantity proves a
zero. No sign change found is not a proof; the quadrature then still requires E|g| to settle
(:func:`volterra_sym.gaussian.gauss_hermite_means`). Integrable singularities (log|h|) are
refused too: their quadrature cannot reach the stated accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy
import sympy

__all__ = ["expectation_problem"]

_SAMPLES = 4096
_SWEEP = numpy.concatenate([-numpy.logspace(4, -4, 400), [0.0], numpy.logspace(-4, 4, 400),
                            numpy.linspace(-12.0, 12.0, 2401)])


def expectation_problem(expr: sympy.Expr, hidden: Sequence[sympy.Symbol], *,
                        centre: Sequence[float] | None = None, scale: Sequence[float] | None = None,
                        values: Mapping[sympy.Symbol, float] | None = None) -> str | None:
    """Why E[expr(h)] over a law with full support on R^n does not exist (or cannot be computed
    reliably), as a phrase such as ``"1/h1 is singular where h1 = 0"``; ``None`` when nothing was found.

    ``centre`` and ``scale`` (per hidden variable) place the sample points (default 0 and 1);
    ``values`` substitutes parameters first.

    >>> h1 = sympy.Symbol("h1", real=True)
    >>> expectation_problem(1 / h1, [h1])
    'is singular where h1 = 0'
    >>> expectation_problem(sympy.tanh(h1) / (1 + h1**2), [h1]) is None
    True
    """
    hidden = list(hidden)
    g = sympy.sympify(expr)
    if values:
        g = g.subs({k: sympy.Float(v, 30) if isinstance(v, float) else v for k, v in values.items()})
    if g.has(sympy.I, sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        return "is not real and finite"
    if g.has(sympy.DiracDelta):
        return "has a Dirac delta (a derivative of |x| or sign(x)): the expectation needs the density there"
    n = len(hidden)
    c = numpy.zeros(n) if centre is None else numpy.asarray(centre, dtype=float)
    s = numpy.ones(n) if scale is None else numpy.where(numpy.asarray(scale, dtype=float) > 0,
                                                         numpy.asarray(scale, dtype=float), 1.0)
    points = _points(c, s)
    for node in sympy.preorder_traversal(g):
        reason = _node_problem(node, hidden, points)
        if reason is not None:
            return reason
    return None


def _points(centre: numpy.ndarray, scale: numpy.ndarray) -> numpy.ndarray:
    """Sample points (d, K): sweeps along every axis and along the diagonal through the centre,
    and Gaussian clouds of widths 1, 10 and 1000 (in units of ``scale``), from a fixed seed."""
    n = centre.size
    sweeps = []
    for axis in range(n):
        p = numpy.repeat(centre[:, None], _SWEEP.size, axis=1)
        p[axis] += _SWEEP * scale[axis]
        sweeps.append(p)
    sweeps.append(centre[:, None] + scale[:, None] * _SWEEP[None, :])
    rng = numpy.random.default_rng(20240611)
    clouds = [centre[:, None] + width * scale[:, None] * rng.standard_normal((n, _SAMPLES // 3))
              for width in (1.0, 10.0, 1000.0)]
    return numpy.concatenate(sweeps + clouds, axis=1)


def _node_problem(node: sympy.Expr, hidden: list[sympy.Symbol], points: numpy.ndarray) -> str | None:
    if isinstance(node, sympy.Pow):
        base, e = node.args
        if not (base.free_symbols & set(hidden)) or not e.is_number:
            return None
        if e.is_negative and _vanishes(base, hidden, points):
            return f"is singular where {_short(base)} = 0"
        if not e.is_integer and _negative_somewhere(base, hidden, points, strict=True):
            return f"is not real where {_short(base)} < 0"
        return None
    if isinstance(node, sympy.log) and node.args[0].free_symbols & set(hidden):
        if _negative_somewhere(node.args[0], hidden, points, strict=False):
            return f"takes the logarithm of {_short(node.args[0])}, which is not positive everywhere"
        return None
    if isinstance(node, sympy.tan) and node.args[0].free_symbols & set(hidden):
        if _vanishes(sympy.cos(node.args[0]), hidden, points):
            return f"is singular where cos({_short(node.args[0])}) = 0 (a pole of tan)"
    return None


def _short(expr: sympy.Expr) -> str:
    text = sympy.sstr(expr)
    return text if len(text) <= 60 else text[:57] + "..."


def _univariate(expr: sympy.Expr, hidden: list[sympy.Symbol]) -> sympy.Poly | None:
    free = expr.free_symbols & set(hidden)
    if len(free) != 1 or not expr.is_polynomial(*free):
        return None
    (x,) = free
    try:
        exact = expr.replace(lambda e: e.is_Float, lambda e: sympy.Rational(float(e)))
        return sympy.Poly(exact, x, domain="QQ")
    except (sympy.PolynomialError, sympy.CoercionFailed, ValueError, TypeError):
        return None


def _sample(expr: sympy.Expr, hidden: list[sympy.Symbol], points: numpy.ndarray) -> numpy.ndarray | None:
    try:
        f = sympy.lambdify(hidden, expr, modules="numpy")
        with numpy.errstate(all="ignore"):
            values = numpy.broadcast_to(numpy.asarray(f(*points), dtype=complex), points.shape[1:])
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, NameError, AttributeError):
        return None
    return values


def _vanishes(expr: sympy.Expr, hidden: list[sympy.Symbol], points: numpy.ndarray) -> bool:
    """True when ``expr`` provably has a real zero (exact for one-variable polynomials; else an
    exact zero or a sign change of its real values among the sample points)."""
    poly = _univariate(expr, hidden)
    if poly is not None:
        return poly.degree() > 0 and poly.count_roots() > 0
    values = _sample(expr, hidden, points)
    if values is None:
        return False
    real = values.real[numpy.isfinite(values) & (numpy.abs(values.imag) <= 1e-12 * numpy.abs(values.real))]
    return bool(real.size and (numpy.any(real == 0) or (real.min() < 0 < real.max())))


def _negative_somewhere(expr: sympy.Expr, hidden: list[sympy.Symbol], points: numpy.ndarray, *,
                        strict: bool) -> bool:
    """True when ``expr`` is found < 0 (``strict``) or <= 0 somewhere on R^n."""
    poly = _univariate(expr, hidden)
    if poly is not None:
        if poly.degree() % 2 == 1:
            return True
        if poly.LC() < 0:
            return True
        roots = poly.real_roots()
        if not roots:
            return False
        if not strict:
            return True
        x = poly.gens[0]
        # between and around the real roots: the sign at a midpoint decides
        probes = [roots[0] - 1, roots[-1] + 1] + [(a + b) / 2 for a, b in zip(roots, roots[1:])]
        return any(poly.as_expr().subs(x, p) < 0 for p in probes)
    values = _sample(expr, hidden, points)
    if values is None:
        return False
    bad = numpy.abs(values.imag) > 1e-12 * numpy.abs(values.real)
    real = values.real
    return bool(numpy.any(bad) or numpy.any(real < 0) or (not strict and numpy.any(real == 0)))
