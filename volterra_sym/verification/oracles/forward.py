"""The forward Fokker-Planck route for ``verify``: :class:`~volterra_sym.fokker_planck.ForwardFokkerPlanck`
on the network as the spec writes it (parsed again by :mod:`.spec_parse`: drift, Sigma = sigma sigma^T,
C and readouts), with the box, grid and time step chosen and checked here.

* box, grid and time step: :func:`volterra_sym.fokker_planck.fitted_solver` (the starting density's
  support, nodes per standard deviation, RK4's stability region), the stationary density relaxed;
* an input inside the activation: the solver's input operators and forced hierarchy take the
  activation's derivatives a^(j), differentiated here from the parsed a(x) (theory.md 7);
* convergence: one kernel and the stationary mean on a grid 1.25 times finer and with half the
  time step (:meth:`ForwardRoute.changes`); the route is refined once when they move by more than
  the requested tolerance, else there is no oracle (:class:`NoOracle`).

Nothing here uses the engines, the model builder or their laws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy

from ...fokker_planck import ForwardFokkerPlanck, fitted_solver
from .gaussian_path import NoOracle
from .spec_parse import ParsedNetwork, network_of

__all__ = ["ForwardRoute", "forward_route", "solver_for", "MAX_HIDDEN"]

#: the grid has N^n nodes: two hidden units at most
MAX_HIDDEN = 2


@dataclass
class ForwardRoute:
    """The solver with the settings it was built with (``half_width``, ``centre``, ``nodes``)."""

    net: ParsedNetwork
    values: Mapping[str, float]
    solver: ForwardFokkerPlanck
    centre: numpy.ndarray
    half_width: float
    nodes: int
    checked: tuple[float, float] | None = None  # (grid change, step change) once measured
    order: int = 3  # highest input order of the solver (input inside the activation)

    def variant(self, *, nodes: int | None = None, step: float | None = None) -> ForwardFokkerPlanck:
        """The same route on another grid (stationary density relaxed there) or with another time step."""
        solver = _solver(self.net, self.values, self.half_width, nodes or self.nodes, self.centre,
                         step or self.solver.step, self.order)
        if solver.N == self.solver.N:
            solver.rho = self.solver.rho
        else:
            solver.relax(tol=1e-12)
        return solver

    def changes(self, lags: tuple[float, ...], indices: tuple[int, ...]) -> tuple[float, float]:
        """(grid change, step change) of <f> and one kernel, relative to their largest value."""
        base = numpy.concatenate([self.solver.stationary_mean(), self.solver.kernels([(lags, indices)])[0]])
        scale = max(float(numpy.abs(base).max()), 1e-300)
        out = []
        for other in (self.variant(nodes=_even(1.25 * self.nodes)), self.variant(step=self.solver.step / 2)):
            value = numpy.concatenate([other.stationary_mean(), other.kernels([(lags, indices)])[0]])
            out.append(float(numpy.abs(value - base).max()) / scale)
        return out[0], out[1]

    def describe(self) -> str:
        s = self.solver
        return (f"{s.N}^{s.n} Fourier nodes on a box of half-width {self.half_width:.3g} around "
                f"{numpy.round(self.centre, 3).tolist()} (edge density {s.edge_mass():.0e} of the maximum), RK4 step "
                f"{s.step:.3g}, stationary density relaxed to {s.relaxation:.0e}")


def _even(x: float) -> int:
    return int(2 * math.ceil(x / 2))


def _solver(net: ParsedNetwork, values: Mapping[str, float], half_width: float, nodes: int, centre, step,
            order: int = 3):
    m = net.float_matrices(values)
    return ForwardFokkerPlanck(net.float_drift(values), m["Sigma"], m["C"], net.float_readout(values),
                               half_width=half_width, nodes=nodes, centre=centre, step=step,
                               inside=net.float_inside(values, order))


def solver_for(spec, values: Mapping[str, float] | None = None, *, half_width: float, nodes: int,
               step: float | None = None, order: int = 3) -> ForwardFokkerPlanck:
    """The solver for the network of ``spec`` on a box and grid of the caller's choice (no relaxation);
    ``order``: the highest input order it takes for an input inside the activation."""
    net = network_of(spec)
    return _solver(net, net.values(values), half_width, nodes, None, step, order)


def forward_route(spec, values: Mapping[str, float], *, tol: float = 1e-9, order: int = 3) -> ForwardRoute:
    """The forward route for the network of ``spec`` (a DerivationSpec; only its raw data is read).

    For an input inside the activation the solver takes input orders up to ``order`` (series terms
    and contact kernels). Raises :class:`NoOracle` for more than :data:`MAX_HIDDEN` hidden units,
    degenerate noise, or a density that does not fit a box.
    """
    order = max(1, int(order))
    net = network_of(spec)
    n = net.n_hidden
    if n > MAX_HIDDEN:
        raise NoOracle(f"the forward Fokker-Planck grid is limited to {MAX_HIDDEN} hidden units (this network has {n})")
    values = net.values(values)
    m = net.float_matrices(values)
    Sigma = m["Sigma"]
    if numpy.linalg.eigvalsh(Sigma)[0] <= 1e-12 * numpy.abs(Sigma).max():
        raise NoOracle("the noise covariance is singular: no smooth density for the Fourier grid")
    try:
        solver = fitted_solver(net.float_drift(values), Sigma, m["C"], net.float_readout(values), relax_tol=tol / 100,
                               inside=net.float_inside(values, order))
    except ValueError as err:
        raise NoOracle(str(err)) from err
    return ForwardRoute(net, values, solver, solver.centre, solver.half_width, solver.N, order=order)
