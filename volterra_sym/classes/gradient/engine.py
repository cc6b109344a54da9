"""The gradient-class engine: nonlinear networks with a known invariant density (theory.md 5),
kernels by a Fourier spectral method (:mod:`.spectral`) on the symbolic law of :mod:`.law`."""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence

import numpy

from ...model import SymbolicModel
from ..engine import Engine, Estimate, InputSignal, SeriesResult, check_composition, check_lags
from .law import GradientLaw, gradient_law, is_gradient_class
from .reduce import reduce_representation
from .sampler import GridSampler, grid_sampler
from .spectral import (SpectralKernels, spectral_kernel_values, spectral_kernels, spectral_mean_on_grid,
                       spectral_series, spectral_series_on_grid)

__all__ = ["GradientEngine", "MAX_HIDDEN"]

MAX_HIDDEN = 2  # the Fourier collocation grid of the Schroedinger operator


class GradientEngine(Engine):
    """Gradient drift F = -grad U (n = 1, or symmetric Gamma and diagonal W) with isotropic noise."""

    name = "gradient"
    method = "symbolic invariant density exp(-2U/s^2); Fourier spectral method for the generator"
    kind = "exact"
    has_driven_mean = True

    @classmethod
    def applies(cls, model: SymbolicModel) -> str | None:
        if model.affine:
            return "the activation is linear (the OU engine applies)"
        reason = is_gradient_class(model)
        if reason is not None:
            return f"no known invariant density: {reason}"
        if model.n_hidden > MAX_HIDDEN:
            return f"the spectral method handles 1 or {MAX_HIDDEN} hidden units, not {model.n_hidden}"
        return None

    @functools.cached_property
    def law(self) -> GradientLaw:
        """Potential, density, score and conjugate variables (SymPy)."""
        return gradient_law(self.model)

    @functools.cached_property
    def representation(self) -> SpectralKernels:
        """The converged eigen-representation at the engine's parameter values."""
        return spectral_kernels(self.law, self.values, order=self.order)

    def stationary_sampler(self) -> GridSampler:
        """Draws from exp(-2U/s^2) interpolated on a fine grid (:mod:`.sampler`)."""
        return grid_sampler(self.law, self.values)

    def coarsened(self, tolerance: float) -> GradientEngine:
        """The lowest modes reproducing the kernels to ``tolerance`` (forward integrations cost K^2 per step)."""
        reduced = reduce_representation(self.representation, tolerance=tolerance)
        other = copy.copy(self)
        other.__dict__["representation"] = self.representation.truncated(reduced.modes)
        return other

    def stationary_mean(self) -> Estimate:
        sk = self.representation
        return Estimate(sk.stationary_mean, self.name, error=sk.error_estimate)

    def kernel(self, lags: Sequence[numpy.typing.ArrayLike], composition: Sequence[int] | None = None) -> Estimate:
        sk = self.representation
        arrays = check_lags(lags)
        composition = check_composition(arrays, composition, self.order)
        return Estimate(spectral_kernel_values(sk, arrays, composition), self.name, error=sk.error_estimate)

    def series(self, u: InputSignal, t: float, eps: float, *, order: int | None = None,
               tol: float | None = None) -> SeriesResult:
        return spectral_series(self.representation, u, t, eps, order=self.check_order(order),
                               **({} if tol is None else {"tol": tol}))

    def series_on_grid(self, u: InputSignal, times: numpy.typing.ArrayLike, *, order: int | None = None,
                       tol: float = 1e-8) -> numpy.ndarray:
        terms, _, _ = spectral_series_on_grid(self.representation, u, times, order=self.check_order(order), tol=tol)
        return terms

    def driven_mean(self, u: InputSignal, times: numpy.typing.ArrayLike, eps: float, *,
                    tol: float = 1e-10) -> Estimate:
        values, _, change = spectral_mean_on_grid(self.representation, u, times, eps, tol=tol)
        return Estimate(values, self.name, error=change)
