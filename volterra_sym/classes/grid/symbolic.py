"""Symbolic data of the grid engine: generator words and their means under the grid's density.

Small-lag expansion (theory.md 5): R^(1)_{f;k}(tau) = sum_p tau^p / p! <C_k . grad L0^p f>_inf for any
class; the words C_k . grad L0^p f are SymPy expressions of the model, their stationary means need a
density (here the grid's; the verification claims use an independent one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy
import sympy

from ...model import SymbolicModel, generator_words

__all__ = ["generator_words", "node_means", "GENERATOR"]

#: the generator, as shown by ``derive``
GENERATOR = "L0 g = F(h) . grad g + 1/2 Sigma : hess g"




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
