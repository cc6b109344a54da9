"""The Ornstein-Uhlenbeck engine: closed-form kernels of a network with an affine drift (theory.md 4)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import numpy
import sympy

from ...errors import SymbolicBudgetError
from ...model import SymbolicModel, with_values
from ..engine import Engine, Estimate, InputSignal, SeriesResult, check_composition, check_lags, zero_kernel
from .derive import KernelSet, derive_kernels
from .evaluate import NumericKernels, kernel_values, numeric_kernels
from .resummation import forced_response, shifted_means
from .series import series_terms

__all__ = ["OUEngine"]


class OUEngine(Engine):
    """Linear activation: stationary law N(mu, S), e^{A tau} and moment tensors in closed form
    (:mod:`.derive`), evaluated in float64 (:mod:`.evaluate`); series by linear filters
    (:mod:`.series`); the driven mean by the exact resummation (:mod:`.resummation`)."""

    name = "ou"
    method = "closed forms (SymPy) of the Ornstein-Uhlenbeck network"
    kind = "exact"
    has_driven_mean = True

    @classmethod
    def applies(cls, model: SymbolicModel) -> str | None:
        return None if model.affine else f"the activation {model.spec.activation!r} is not linear"

    @functools.cached_property
    def derivation(self) -> KernelSet:
        """The symbolic derivation (parameters kept as symbols)."""
        return derive_kernels(self.model, order=self.order)

    @functools.cached_property
    def numeric(self) -> NumericKernels:
        """Float64 arrays at the engine's parameter values (stability checked there). e^{A tau} comes
        from the error-bounded float64 routes on the exact drift (no closed form is needed for numbers,
        and they do not depend on whether :attr:`derivation` was asked for first). When the symbolic
        derivation is over its budget (many units and parameters), it is made at these values instead."""
        try:
            kset = derive_kernels(self.model, order=self.order, propagator=False)
        except SymbolicBudgetError:
            self.check()
            kset = derive_kernels(with_values(self.model, self.values), order=self.order, propagator=False)
        return numeric_kernels(kset, self.values)

    def affine_kernels(self) -> NumericKernels:
        return self.numeric

    def stationary_mean(self) -> Estimate:
        return Estimate(self.numeric.stationary_mean.copy(), self.name)

    def kernel(self, lags: Sequence[numpy.typing.ArrayLike], composition: Sequence[int] | None = None) -> Estimate:
        """Contact kernels (a composition entry > 1) vanish: the drift is affine in the input."""
        arrays = check_lags(lags)
        composition = check_composition(arrays, composition, self.order)
        if any(j > 1 for j in composition):
            model = self.model
            return Estimate(zero_kernel(arrays, model.n_outputs, model.n_inputs, sum(composition)), self.name)
        return Estimate(kernel_values(self.numeric, arrays), self.name)

    def series(self, u: InputSignal, t: float, eps: float, *, order: int | None = None,
               tol: float | None = None) -> SeriesResult:
        result = series_terms(self.numeric, u, t, eps, order=self.check_order(order),
                              **({} if tol is None else {"tol": tol}))
        return dataclasses.replace(result, engine=self.name)

    def driven_mean(self, u: InputSignal, times: numpy.typing.ArrayLike, eps: float, *,
                    tol: float = 1e-10) -> Estimate:
        """E f(mu + xi + eps delta_t), xi ~ N(0, S), without the kernels (theory.md 4)."""
        nk = self.numeric
        model = self.model
        subs = {model.spec.parameters[k]: sympy.Float(v, 30) for k, v in self.values.items()}
        readout = [sympy.sympify(f).subs(subs) for f in model.readout]
        delta = forced_response(nk.A, nk.C, u, times)
        shifts = nk.mu[None, :] + float(eps) * delta
        return Estimate(shifted_means(readout, model.hidden, shifts, nk.S), self.name)

    def forced_response(self, u: InputSignal, times: numpy.typing.ArrayLike) -> numpy.ndarray:
        """delta_t = int_0^t e^{A(t-s)} C u_s ds at ``times`` (shape (T, n))."""
        return forced_response(self.numeric.A, self.numeric.C, u, times)


