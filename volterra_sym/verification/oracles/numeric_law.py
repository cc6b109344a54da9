"""A gradient-class law at numeric parameter values, for the oracles (:mod:`.fourier`, :mod:`.density`):
float64 callables of U, the drift and the density, and the box outside which the density is negligible."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import mpmath
import numpy
import sympy

from ...classes.gradient.law import GradientLaw
from ...errors import DerivationError
from .gaussian_path import parameter_substitution

__all__ = ["NumericLaw", "numeric_law", "law_function", "level_box", "to_mpf", "level_crossing"]


# --- the law at numeric parameter values -----------------------------------------------------------


@dataclass(frozen=True)
class NumericLaw:
    """SymPy pieces of a gradient-class law with the parameters substituted (exact rationals)."""

    law: GradientLaw
    hidden: tuple[sympy.Symbol, ...]
    s2: sympy.Expr
    potential: sympy.Expr
    drift: tuple[sympy.Expr, ...]
    divergence: sympy.Expr
    readout: tuple[sympy.Expr, ...]
    conjugates: tuple[sympy.Expr, ...]
    C: sympy.ImmutableMatrix
    #: b_{k,i}(h) of the order-1 input operator b_k . grad: C_ik (additive), a'((W h + b)_i) C_ik (inside)
    input_fields: tuple[tuple[sympy.Expr, ...], ...] = ()
    inside: bool = False

    @property
    def n(self) -> int:
        return len(self.hidden)

    def observable(self, k: int) -> sympy.Expr:
        """C_k . h, the observable of the FDT derivative form."""
        return sum((self.C[i, k] * x for i, x in enumerate(self.hidden)), sympy.Integer(0))


def numeric_law(law: GradientLaw, values: Mapping[str, float]) -> NumericLaw:
    """Substitute the parameters (at their binary64 values, as exact rationals)."""
    model = law.model
    subs = parameter_substitution(model, values)

    def sub(e):
        return sympy.sympify(e).subs(subs)

    C = sympy.ImmutableMatrix(model.C.subs(subs))
    slopes = [sub(c) for c in model.input_coefficients(1)]
    fields = tuple(tuple(slopes[i] * C[i, k] for i in range(model.n_hidden)) for k in range(model.n_inputs))
    inside = model.input_placement != "additive"
    return NumericLaw(law=law, hidden=tuple(model.hidden), s2=sub(law.noise_variance), potential=sub(law.potential),
                      drift=tuple(sub(e) for e in model.drift), divergence=sub(law.divergence),
                      readout=tuple(sub(f) for f in model.readout), conjugates=tuple(sub(a) for a in law.conjugates),
                      C=C, input_fields=fields, inside=inside)


def law_function(nl: NumericLaw, expr: sympy.Expr):
    f = sympy.lambdify(nl.hidden, expr, modules="numpy", docstring_limit=0)

    def call(*grid):
        with numpy.errstate(all="ignore"):
            return numpy.broadcast_to(numpy.asarray(f(*grid), dtype=numpy.float64), grid[0].shape)

    return call


def level_box(nl: NumericLaw, kappa: float) -> tuple[numpy.ndarray, tuple[tuple[float, float], ...]]:
    """Minimiser of U and an axis-aligned box containing {U - U_min < kappa s^2} (coarse grid, then a
    margin of a tenth of the box)."""
    n = nl.n
    U = law_function(nl, nl.potential)
    s2 = float(nl.s2)
    half = 3.0
    for _ in range(30):
        axis = numpy.linspace(-half, half, 601 if n == 1 else 201)
        grid = numpy.meshgrid(*([axis] * n), indexing="ij")
        values = U(*grid)
        if not numpy.all(numpy.isfinite(values)):
            raise DerivationError("the potential is not finite on the search box")
        inside = values - values.min() < kappa * s2
        border = numpy.zeros_like(inside)
        for d in range(n):
            sl = [slice(None)] * n
            for edge in (0, -1):
                sl[d] = edge
                border[tuple(sl)] = True
        if not numpy.any(inside & border):
            break
        half *= 1.5
    else:
        raise DerivationError("no normalisable invariant density: the potential does not grow")
    argmin = numpy.unravel_index(numpy.argmin(values), values.shape)
    centre = numpy.array([g[argmin] for g in grid])
    box = []
    for d in range(n):
        coords = grid[d][inside]
        lo, hi = float(coords.min()), float(coords.max())
        pad = 0.1 * (hi - lo) + 2 * (axis[1] - axis[0])
        box.append((lo - pad, hi + pad))
    return centre, tuple(box)


def to_mpf(value) -> mpmath.mpf:
    number = sympy.nsimplify(value) if not isinstance(value, sympy.Basic) else value
    return mpmath.mpf(sympy.N(number, mpmath.mp.dps + 10)._mpf_) if number != 0 else mpmath.mpf(0)


def level_crossing(U, level, start, direction: int):
    """The point where U crosses ``level`` walking from ``start`` in ``direction`` (bisection)."""
    ctx = mpmath.mp
    step = ctx.mpf(1)
    a = start
    b = start + direction * step
    for _ in range(200):
        if U(b) > level:
            break
        a, b = b, b + direction * step
        step *= 1.5
    else:
        raise DerivationError("no normalisable invariant density: the potential does not grow")
    for _ in range(ctx.prec + 20):
        mid = (a + b) / 2
        if U(mid) > level:
            b = mid
        else:
            a = mid
    return b
