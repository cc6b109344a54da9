"""The grid engine: any drift F(h) = -Gamma h + a(W h + b) with positive definite noise, 1-3 hidden units."""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence

import numpy

from ...errors import DerivationError, InputError, SpecError
from ...inputs import check_input_rate
from ...model import SymbolicModel, numeric_matrix
from ...network import NumericSRNN, numeric_srnn
from ...simulate import MAX_EPS
from ..engine import Engine, Estimate, InputSignal, SeriesResult, check_composition, check_lags, zero_kernel
from .box import noise_factor

__all__ = ["GridEngine", "MAX_HIDDEN", "TIME_TOL_FLOOR"]

MAX_HIDDEN = 3
#: the time integration is not asked for more than this (relative): the grid's own accuracy is coarser
TIME_TOL_FLOOR = {1: 1e-12, 2: 1e-11, 3: 1e-9}
DEFAULT_SERIES_TOL = {1: 1e-10, 2: 1e-10, 3: 1e-8}
#: the driven mean is refused when the input pushes more probability than this onto the box's walls (below it,
#: the readout-weighted probability on the walls is added to its error estimate)
DRIVEN_WALL = 1e-4
#: the coarsest time integration already refuses at this multiple of DRIVEN_WALL (a margin for its error)
WALL_SCREEN = 30.0
#: longest horizon of series and driven mean: the integrator's first run takes steps of at most 0.25 and must
#: leave room for one doubling within dynamics.MAX_STEPS
MAX_HORIZON = 2048.0
#: matrix-vector products a driven-mean run may take (Taylor actions of norm t (||H|| + |eps| max|u| ||B||),
#: ~5.6 products per unit of norm): beyond it the answer would take many minutes, or forever
MAX_DRIVEN_PRODUCTS = 1e6


class GridEngine(Engine):
    """Fourier collocation of the Fokker-Planck (backward) operator on a box; no closed form needed."""

    name = "grid"
    method = ("Fourier collocation of the backward generator on a whitened box, stationary density as the null "
              "vector of the discretised adjoint, semigroup by Taylor matrix-exponential actions, driven network "
              "by a fourth-order Magnus integrator; grid refined until converged")
    kind = "exact"
    has_driven_mean = True

    @classmethod
    def applies(cls, model: SymbolicModel) -> str | None:
        n = model.n_hidden
        if n > MAX_HIDDEN:
            return f"the grid engine handles 1 to {MAX_HIDDEN} hidden units, not {n}"
        try:
            noise_factor(numeric_matrix(model.Sigma, model, dict(model.spec.defaults)))
        except DerivationError as err:
            return str(err)
        except (SpecError, ValueError) as err:
            return f"the noise covariance is not numeric at the default parameters ({err})"
        return None

    def check(self) -> None:
        super().check()
        noise_factor(numeric_matrix(self.model.Sigma, self.model, self.values))

    @functools.cached_property
    def network(self) -> NumericSRNN:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # several fixed points: the density decides
            return numeric_srnn(self.model, self.values)

    @functools.cached_property
    def inside(self):
        """The activation and its Taylor coefficients c_j = a^(j)/j!, j = 1..order, when the input enters a
        nonlinear activation (:class:`~.inside.InsideActivation`); ``None`` for an additive input."""
        from .inside import inside_activation

        return inside_activation(self.model, self.values, self.order)

    @functools.cached_property
    def representation(self):
        """The converged :class:`~.build.GridRepresentation`: grid operator, stationary density, accuracy
        (built on first use; SciPy is imported here, not when the engine is chosen)."""
        from .build import build_representation

        self.check()
        return build_representation(self.network, order=self.order, values=self.values, inside=self.inside)

    @property
    def n(self) -> int:
        return self.model.n_hidden

    def stationary_mean(self) -> Estimate:
        rep = self.representation
        return Estimate(rep.stationary_mean, self.name, error=rep.error(0))

    def kernel(self, lags: Sequence[numpy.typing.ArrayLike], composition: Sequence[int] | None = None) -> Estimate:
        from .kernels import kernel_values

        arrays = check_lags(lags)
        composition = check_composition(arrays, composition, self.order)
        if any(j > 1 for j in composition) and self.inside is None:  # an additive input has no contact kernels
            model = self.model
            return Estimate(zero_kernel(arrays, model.n_outputs, model.n_inputs, sum(composition)), self.name)
        rep = self.representation
        if composition == (1,) * len(arrays):
            return Estimate(kernel_values(rep.op, rep.pi, arrays), self.name, error=rep.error(len(arrays)))
        return Estimate(kernel_values(rep.op, rep.pi, arrays, composition), self.name,
                        error=rep.error(sum(composition)))

    def _tol(self, tol: float | None) -> float:
        tol = DEFAULT_SERIES_TOL[self.n] if tol is None else float(tol)
        return max(tol, TIME_TOL_FLOOR[self.n])

    def _h0(self) -> float:
        return min(0.25, 0.1 * self.representation.relaxation_time)

    def _grid_error(self, u: InputSignal, t: float, eps: complex, order: int) -> float:
        """A bound on the grid's contribution: sum_n err_n (eps |u|_max t)^n / n! (kernel errors on a simplex);
        with an input inside the activation, sum_n err_n (eps |u|_max)^n sum_r binom(n-1, r-1) t^r / r!
        (the compositions of n into r times, contact kernels included)."""
        rep = self.representation
        if t <= 0:
            return rep.error(0)
        sample = numpy.asarray(u(numpy.linspace(0.0, t, 65)), dtype=numpy.float64)
        if self.inside is not None:
            size = abs(eps) * float(numpy.abs(sample).sum(axis=-1).max(initial=0.0))
            return rep.error(0) + sum(rep.error(n) * size**n * sum(math.comb(n - 1, r - 1) * t**r / math.factorial(r)
                                                                   for r in range(1, n + 1))
                                      for n in range(1, order + 1))
        x = abs(eps) * float(numpy.abs(sample).sum(axis=-1).max(initial=0.0)) * t
        total, term = rep.error(0), 1.0
        for n in range(1, order + 1):
            term *= x / n
            total += rep.error(n) * term
        return total

    @staticmethod
    def _check_time(t: float, eps: complex, u: InputSignal) -> None:
        """Refuse, before the grid is built, what the time integration cannot afford."""
        if not numpy.isfinite(t) or t < 0:
            raise InputError(f"time {t!r} must be finite and >= 0", field="t")
        if not numpy.isfinite(eps) or abs(eps) > MAX_EPS:
            raise InputError(f"eps {eps!r} must be finite, |eps| <= {MAX_EPS:g}", field="eps")
        if t > MAX_HORIZON:
            raise InputError(f"t = {t:g} is beyond the grid engine's horizon {MAX_HORIZON:g} (its time integrator "
                             "takes steps of at most 0.25); simulate the network, or use the mc engine", field="t")
        check_input_rate(u, t)

    def _check_drive(self, u: InputSignal, t: float, eps: float) -> None:
        """Refuse an amplitude x horizon whose driven-mean integration would take more than
        :data:`MAX_DRIVEN_PRODUCTS` matrix-vector products."""
        op = self.representation.op
        if t <= 0:
            return
        sample = numpy.asarray(u(numpy.linspace(0.0, t, 257)), dtype=numpy.float64)
        top = float(numpy.abs(sample).max(initial=0.0))
        products = 5.6 * t * (op.norm_T + abs(eps) * top * sum(op.input_norms))
        if not products <= MAX_DRIVEN_PRODUCTS:
            raise InputError(f"the driven mean at eps = {eps:g} over t = {t:g} needs ~{products:.2g} matrix-vector "
                             f"products on the grid (budget {MAX_DRIVEN_PRODUCTS:.0e}): lower eps or t, or simulate "
                             "the network", field="eps")

    def series(self, u: InputSignal, t: float, eps: float, *, order: int | None = None,
               tol: float | None = None) -> SeriesResult:
        from .dynamics import series_on_grid

        self._check_time(float(t), float(eps), u)
        order = self.check_order(order)
        rep = self.representation
        terms, steps, change = series_on_grid(rep.op, rep.pi, u, numpy.array([0.0, float(t)]), order=order,
                                              eps=eps, tol=self._tol(tol), h0=self._h0())
        error = change + self._grid_error(u, float(t), float(eps), order)
        return SeriesResult(float(t), float(eps), terms[-1], steps, error, engine=self.name)

    def series_on_grid(self, u: InputSignal, times: numpy.typing.ArrayLike, *, order: int | None = None,
                       tol: float = 1e-8) -> numpy.ndarray:
        from .dynamics import series_on_grid

        order = self.check_order(order)
        times = numpy.asarray(times, dtype=numpy.float64)
        self._check_time(float(times[-1]) if times.size else 0.0, 1.0, u)
        rep = self.representation
        terms, _, _ = series_on_grid(rep.op, rep.pi, u, times, order=order, tol=self._tol(tol), h0=self._h0())
        return terms

    def driven_mean(self, u: InputSignal, times: numpy.typing.ArrayLike, eps: complex, *,
                    tol: float = 1e-10) -> Estimate:
        """E f(h_t) at each of ``times`` (module docstring of :mod:`.dynamics`); a complex ``eps`` gives the
        analytic continuation (complex values), whose Cauchy integral over a circle gives the series terms."""
        from .dynamics import driven_mean_on_grid

        times = numpy.asarray(times, dtype=numpy.float64)
        eps = complex(eps) if numpy.iscomplexobj(eps) else float(eps)
        horizon = float(times[-1]) if times.size else 0.0
        self._check_time(horizon, eps, u)
        self._check_drive(u, horizon, eps)
        rep = self.representation

        def refuse(wall: float, limit: float = DRIVEN_WALL) -> None:
            if wall > limit:
                raise DerivationError(f"the input drives the density to the walls of the grid's box (probability "
                                      f"{wall:.1e} on the walls by t = {horizon:g}, eps = {eps:g}): the "
                                      "grid engine's all-order driven mean does not hold at this amplitude (its "
                                      "kernels and series terms do); lower eps or the horizon, or simulate the network")

        # the coarsest run already shows a density far onto the walls: refuse before refining
        values, _, change, (wall, readout_wall) = driven_mean_on_grid(
            rep.op, rep.pi, u, times, eps, tol=self._tol(tol), h0=self._h0(),
            screen_wall=lambda wall: refuse(wall, WALL_SCREEN * DRIVEN_WALL))
        refuse(wall)
        grid = self._grid_error(u, horizon, eps, max(self.order, 3))
        return Estimate(values, self.name, error=change + grid + readout_wall)
