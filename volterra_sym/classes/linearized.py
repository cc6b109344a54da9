"""The linearized engine: OU kernels of the network linearized about its stable fixed point.

An approximation for a nonlinear activation (theory.md 5, "Linearization"); exact for a linear one.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import numpy

from ..model import SymbolicModel, linearize
from .engine import Engine, Estimate, InputSignal, SeriesResult
from .ou.engine import OUEngine

__all__ = ["LinearizedEngine"]


class LinearizedEngine(Engine):
    """Delegates to :class:`~volterra_sym.classes.ou.engine.OUEngine` on ``linearize(model, values)``."""

    name = "linearized"
    method = "closed forms of the network linearized about its stable fixed point"
    has_driven_mean = True

    @property
    def kind(self) -> str:  # type: ignore[override]
        """``"exact"`` for an affine drift (the linearization is the network), else ``"approximate"``."""
        return "exact" if self.model.affine else "approximate"

    @classmethod
    def applies(cls, model: SymbolicModel) -> str | None:
        return None

    @functools.cached_property
    def linear_model(self) -> SymbolicModel:
        """The linearized OU model (numbers only; ``fixed_point`` holds h*)."""
        return linearize(self.model, self.values)

    @functools.cached_property
    def ou(self) -> OUEngine:
        return OUEngine(self.linear_model, {}, order=self.order)

    @property
    def derivation(self):
        return self.ou.derivation

    @property
    def numeric(self):
        return self.ou.numeric

    def affine_kernels(self):
        return self.ou.numeric

    def _named(self, estimate: Estimate) -> Estimate:
        return Estimate(estimate.value, self.name, estimate.error, estimate.stderr)

    def stationary_mean(self) -> Estimate:
        return self._named(self.ou.stationary_mean())

    def kernel(self, lags: Sequence[numpy.typing.ArrayLike], composition: Sequence[int] | None = None) -> Estimate:
        return self._named(self.ou.kernel(lags, composition))

    def series(self, u: InputSignal, t: float, eps: float, *, order: int | None = None,
               tol: float | None = None) -> SeriesResult:
        return dataclasses.replace(self.ou.series(u, t, eps, order=order, tol=tol), engine=self.name)

    def driven_mean(self, u: InputSignal, times: numpy.typing.ArrayLike, eps: float, *,
                    tol: float = 1e-10) -> Estimate:
        return self._named(self.ou.driven_mean(u, times, eps, tol=tol))
