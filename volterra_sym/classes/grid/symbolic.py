"""Symbolic data of the grid engine: generator words and their means under the grid's density.

Small-lag expansion (theory.md 5): R^(1)_{f;k}(tau) = sum_p tau^p / p! <C_k . grad L0^p f>_inf for any
class; the words C_k . grad L0^p f are SymPy expressions of the model, their stationary means need a
density (here the grid's; the verification claims use an independent one).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy
import sympy

from ...model import SymbolicModel

__all__ = ["generator_words", "node_means", "GENERATOR"]

#: the generator, as shown by ``derive``
GENERATOR = "L0 g = F(h) . grad g + 1/2 Sigma : hess g"


def generator_words(model: SymbolicModel, output: int, k: int, degree: int, *, budget: float = 10.0,
                    max_size: int = 20_000) -> tuple[sympy.Expr, ...]:
    """The words C_k . grad L0^p f_q for p = 0..degree, stopping early when the next word would exceed
    ``max_size`` characters (predicted from the last growth) or ``budget`` seconds are spent. With the input
    inside the activation C_k . grad is sum_i a'((W h + b)_i) C_ik d_i (theory.md 7.1)."""
    slopes = model.input_coefficients(1)
    f = sympy.sympify(model.readout[output])
    words: list[sympy.Expr] = []
    sizes: list[int] = []
    start = time.perf_counter()
    for p in range(degree + 1):
        words.append(sympy.expand(sum((slopes[i] * model.C[i, k] * sympy.diff(f, x) for i, x in enumerate(model.hidden)),
                                      sympy.Integer(0))))
        sizes.append(len(str(words[-1])) + 1)
        if p == degree:
            break
        growth = sizes[-1] / sizes[-2] if len(sizes) > 1 else 1.0
        if sizes[-1] * max(growth, 1.0) > max_size or time.perf_counter() - start > budget:
            break
        f = sympy.expand(model.generator(f))
    return tuple(words)


def node_means(model: SymbolicModel, values: Mapping[str, float], nodes: numpy.ndarray, mass: numpy.ndarray,
               exprs: Sequence[sympy.Expr]) -> numpy.ndarray:
    """sum_j mass_j g(h_j) for each expression g: stationary means under a density given by the
    probabilities ``mass`` of the ``nodes`` (n, M)."""
    subs = {model.spec.parameters[name]: sympy.Float(v, 30) for name, v in values.items()}
    rows = list(nodes)
    out = []
    with numpy.errstate(all="ignore"):
        for e in exprs:
            g = sympy.lambdify(model.hidden, sympy.sympify(e).subs(subs), modules="numpy")
            out.append(float(mass @ numpy.broadcast_to(numpy.asarray(g(*rows), dtype=numpy.float64), mass.shape)))
    return numpy.array(out)
