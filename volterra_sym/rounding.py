"""A first-order bound of the rounding error of a SymPy expression evaluated in float64, as a
SymPy expression of the same variables (so it can be printed or lambdified beside the value).

The bound follows the evaluation tree (a running error analysis, Wilkinson / Higham ch. 3): with
u = 2^-53 and e(x) the bound of a subexpression x,

    e(a_1 + ... + a_k) = sum e(a_i) + (k - 1) u sum |a_i|
    e(a_1 ... a_k)     = sum_i e(a_i) prod_{j != i} |a_j| + (k - 1) u |a_1 ... a_k|
    e(a^p)             = |p| |a|^(p - 1) e(a) + (|p| + 1) u |a^p|
    e(exp(a))          = exp(a) (e(a) + u)
    e(sin(a)), e(cos(a)) = e(a) + u,     e(sinc(a)) = (1.5 e(a) + 4.5 u |a| + 2 u) / (1 + |a|) + u |sinc(a)|
    e(literal)         = u |literal| (exact small integers: 0),   e(parameter) = 0,   e(lag) = u |lag|

and the total is doubled (a safety factor for second-order terms and the library functions'
last-bit errors). An operation it does not know makes the bound infinite: the value is then never
trusted on its own.

>>> import sympy
>>> t = sympy.Symbol("t")
>>> bool(rounding_bound(sympy.exp(-t), lags={t}).subs(t, 1) < 1e-15)
True
"""

from __future__ import annotations

from collections.abc import Iterable

import sympy

__all__ = ["rounding_bound", "UNIT"]

UNIT = sympy.Float(2.0**-53)
_EXACT_INTEGER = 2**53


def rounding_bound(expr: sympy.Expr, *, lags: Iterable[sympy.Symbol] = ()) -> sympy.Expr:
    """An upper bound (to first order in u) of |fl(expr) - expr|; ``lags`` are inputs carrying one
    rounding of their own (sums of lags), other symbols are exact inputs."""
    lags = frozenset(lags)
    cache: dict[sympy.Expr, sympy.Expr] = {}

    def bound(e: sympy.Expr) -> sympy.Expr:
        if e in cache:
            return cache[e]
        cache[e] = out = _bound(e)
        return out

    def _bound(e: sympy.Expr) -> sympy.Expr:
        u = UNIT
        if e.is_Integer:
            return sympy.Integer(0) if abs(int(e)) < _EXACT_INTEGER else u * abs(e)
        if e.is_Number or e.is_NumberSymbol:
            return u * abs(e)
        if e.is_Symbol:
            return u * sympy.Abs(e) if e in lags else sympy.Integer(0)
        if isinstance(e, sympy.Add):
            args = e.args
            return sympy.Add(*[bound(a) for a in args]) + (len(args) - 1) * u * sympy.Add(*[sympy.Abs(a) for a in args])
        if isinstance(e, sympy.Mul):
            args = e.args
            absolute = [sympy.Abs(a) for a in args]
            terms = [bound(a) * sympy.Mul(*(absolute[:i] + absolute[i + 1:])) for i, a in enumerate(args)]
            return sympy.Add(*terms) + (len(args) - 1) * u * sympy.Abs(e)
        if isinstance(e, sympy.Pow):
            base, p = e.args
            if not p.is_Rational:
                return sympy.oo
            growth = sympy.Abs(p) * sympy.Abs(base) ** (p - 1) * bound(base) if bound(base) != 0 else 0
            return growth + (sympy.Abs(p) + 1) * u * sympy.Abs(e)
        if isinstance(e, sympy.exp):
            return e * (bound(e.args[0]) + u)
        if isinstance(e, (sympy.sin, sympy.cos)):
            return bound(e.args[0]) + u
        if isinstance(e, sympy.sinc):
            # |sinc'(a)| <= 1.5 / (1 + |a|); numpy.sinc(a / pi) rounds the argument twice more and
            # evaluates sin(pi a) / (pi a): absolute error u / |a| from the sine
            a = sympy.Abs(e.args[0])
            return (3 * bound(e.args[0]) + 9 * u * a + 4 * u) / (2 + 2 * a) + u * sympy.Abs(e)
        if isinstance(e, sympy.Abs):
            return bound(e.args[0])
        return sympy.oo

    return 2 * bound(sympy.sympify(expr))
