"""Path statistics with a control variate, pooled block by block in a fixed order.

Every estimator of the engine produces, per path, a value Y (the network's) and, with the control
variate, a value L (the same functional of the linearized network driven by the same noise) whose
expectation is replaced by a closed form X. The answer is

    estimate = mean(Y - beta L) + beta X,     beta = Cov(Y, L) / Var(L)   (fitted per entry),

with the standard error of the residual Y - beta L (theory.md 8). Per-block means and co-moments
are combined in block order (Chan et al.'s pairwise update), so the numbers depend on the blocks
(fixed by the seed) and never on how many blocks were advanced together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

__all__ = ["PathStats", "Pooled"]


@dataclass(frozen=True, slots=True)
class Pooled:
    """Pooled statistics of E entries over ``count`` paths (arrays of shape (E,)).

    ``value``/``stderr``: the control-variate estimate and its standard error (the plain ones when
    there is no control variate); ``plain``/``plain_stderr``: mean(Y) and its standard error;
    ``beta``: the fitted coefficient (0 without a control variate); ``variance_reduction``:
    Var(Y) / Var(Y - beta L) (1 without a control variate; inf when the residual vanishes).
    """

    count: int
    value: numpy.ndarray
    stderr: numpy.ndarray
    plain: numpy.ndarray
    plain_stderr: numpy.ndarray
    beta: numpy.ndarray
    variance_reduction: numpy.ndarray


class PathStats:
    """Accumulates per-block (count, means, co-moments) of Y and optionally L, for E entries."""

    def __init__(self, entries: int, *, control: bool):
        self.entries = entries
        self.control = control
        self._blocks: dict[int, tuple[int, numpy.ndarray, ...]] = {}

    def add_block(self, index: int, Y: numpy.ndarray, L: numpy.ndarray | None = None) -> None:
        """Per-path values of block ``index``: Y (and L) of shape (E, paths in the block)."""
        count = Y.shape[1]
        my = Y.mean(axis=1)
        dy = Y - my[:, None]
        syy = numpy.einsum("ei,ei->e", dy, dy)
        if self.control:
            ml = L.mean(axis=1)
            dl = L - ml[:, None]
            self._blocks[index] = (count, my, ml, syy, numpy.einsum("ei,ei->e", dl, dl),
                                   numpy.einsum("ei,ei->e", dy, dl))
        else:
            self._blocks[index] = (count, my, syy)

    def pooled(self, exact: numpy.ndarray | None = None) -> Pooled:
        """Combine the blocks in index order; ``exact`` (E,) is the closed-form mean of L."""
        order = sorted(self._blocks)
        if not order:
            raise ValueError("no paths")
        if self.control:
            n, *arrays = self._blocks[order[0]]
            my, ml, syy, sll, syl = (a.copy() for a in arrays)
            for key in order[1:]:
                nb, by, bl, byy, bll, byl = self._blocks[key]
                total = n + nb
                ddy, ddl = by - my, bl - ml
                w = n * nb / total
                syy = syy + byy + ddy * ddy * w
                sll = sll + bll + ddl * ddl * w
                syl = syl + byl + ddy * ddl * w
                my = my + ddy * nb / total
                ml = ml + ddl * nb / total
                n = total
        else:
            n, my, syy = self._blocks[order[0]]
            my, syy = my.copy(), syy.copy()
            for key in order[1:]:
                nb, by, byy = self._blocks[key]
                total = n + nb
                d = by - my
                syy = syy + byy + d * d * n * nb / total
                my = my + d * nb / total
                n = total
        var_y = syy / (n - 1)
        plain_se = numpy.sqrt(var_y / n)
        if not self.control:
            ones = numpy.ones_like(my)
            return Pooled(n, my, plain_se, my, plain_se, numpy.zeros_like(my), ones)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            beta = numpy.where(sll > 0, syl / sll, 0.0)
        residual = numpy.clip(syy - beta * syl, 0.0, None) / max(n - 2, 1)
        value = my - beta * ml + (0.0 if exact is None else beta * exact)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            reduction = numpy.where(residual > 0, var_y / residual, numpy.inf)
        return Pooled(n, value, numpy.sqrt(residual / n), my, plain_se, beta, reduction)
