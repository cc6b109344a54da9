"""Exact-start sampling of the invariant law rho_inf ~ exp(-2U/s^2) of a gradient-class network.

The density is tabulated on a fine grid of the box outside which rho_inf < e^{-2 KAPPA} relative to
its peak (:func:`.spectral._box`) and sampled from its piecewise-linear (1 unit) or bilinear
(2 units) interpolant exactly: a cell by inverse CDF of the cell masses, then the point inside the
cell by inverting the interpolant's CDF (a quadratic). The interpolant differs from rho_inf by
O(h^2) with h = box / GRID_1D or box / GRID_2D (relative ~1e-6 and ~1e-5), far below Monte-Carlo
errors; draws use only ``rng.random``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy

from ...errors import DerivationError
from .law import GradientLaw
from .spectral import _box, _numeric

__all__ = ["GridSampler", "grid_sampler", "GRID_1D", "GRID_2D"]

GRID_1D = 1 << 12  # cells of a scalar network (interpolation error ~(box/4096)^2, ~1e-6 relative)
GRID_2D = 1 << 10  # cells per axis of a 2-unit network


def _linear_inverse(a: numpy.ndarray, b: numpy.ndarray, r: numpy.ndarray) -> numpy.ndarray:
    """x in [0, 1] with int_0^x (a + (b - a) s) ds = r (a, b >= 0 and r <= (a + b) / 2)."""
    with numpy.errstate(all="ignore"):
        x = 2.0 * r / (a + numpy.sqrt(numpy.maximum(a * a + 2.0 * (b - a) * r, 0.0)))  # no cancellation
    return numpy.clip(numpy.nan_to_num(x, nan=0.5), 0.0, 1.0)


class GridSampler:
    """``sampler(rng, size) -> (size, n)``: draws from the interpolated invariant density (picklable)."""

    def __init__(self, axes: tuple[numpy.ndarray, ...], weights: numpy.ndarray):
        self.axes = axes
        self.weights = weights  # unnormalised density at the grid points
        if len(axes) == 1:
            w = weights
            masses = 0.5 * (w[:-1] + w[1:])
        else:
            w = weights
            masses = 0.25 * (w[:-1, :-1] + w[1:, :-1] + w[:-1, 1:] + w[1:, 1:])
        cdf = numpy.cumsum(masses.ravel())
        if not (numpy.isfinite(cdf[-1]) and cdf[-1] > 0):
            raise DerivationError("the invariant density is not normalisable on its box")
        self.cdf = cdf / cdf[-1]
        self.cells = masses.shape

    def __call__(self, rng: numpy.random.Generator, size: int) -> numpy.ndarray:
        r = rng.random((size, len(self.axes) + 1))
        cell = numpy.minimum(numpy.searchsorted(self.cdf, r[:, 0], side="right"), self.cdf.size - 1)
        if len(self.axes) == 1:
            (x,) = self.axes
            w = self.weights
            a, b = w[cell], w[cell + 1]
            s = _linear_inverse(a, b, r[:, 1] * 0.5 * (a + b))
            return (x[cell] + s * (x[cell + 1] - x[cell]))[:, None]
        x, y = self.axes
        i, j = numpy.unravel_index(cell, self.cells)
        w = self.weights
        w00, w10, w01, w11 = w[i, j], w[i + 1, j], w[i, j + 1], w[i + 1, j + 1]
        # x from the cell's marginal (linear in x), then y from the conditional (linear in y)
        s = _linear_inverse(w00 + w01, w10 + w11, r[:, 1] * 0.5 * (w00 + w01 + w10 + w11))
        lower, upper = w00 + s * (w10 - w00), w01 + s * (w11 - w01)
        v = _linear_inverse(lower, upper, r[:, 2] * 0.5 * (lower + upper))
        return numpy.stack([x[i] + s * (x[i + 1] - x[i]), y[j] + v * (y[j + 1] - y[j])], axis=1)


def grid_sampler(law: GradientLaw, values: Mapping[str, float]) -> GridSampler:
    """The exact-start sampler of ``law`` at parameter ``values`` (1 or 2 hidden units)."""
    n = law.model.n_hidden
    if n not in (1, 2):
        raise DerivationError(f"grid sampling of the invariant density handles 1 or 2 units, not {n}")
    num = _numeric(law, values)
    box = _box(num, n)
    cells = GRID_1D if n == 1 else GRID_2D
    axes = tuple(numpy.linspace(lo, hi, cells + 1) for lo, hi in box)
    grid = numpy.meshgrid(*axes, indexing="ij")
    with numpy.errstate(all="ignore"):
        logr = -2.0 * numpy.broadcast_to(numpy.asarray(num["U"](*grid), dtype=float), grid[0].shape) / num["s2"]
    if not numpy.all(numpy.isfinite(logr)):
        raise DerivationError("the potential is not finite on the density's box")
    return GridSampler(axes, numpy.exp(logr - logr.max()))
