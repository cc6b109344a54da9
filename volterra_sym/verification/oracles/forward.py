"""The forward Fokker-Planck route for ``verify``: :class:`~volterra_sym.fokker_planck.ForwardFokkerPlanck`
on the network as the spec writes it (parsed again by :mod:`.spec_parse`: drift, Sigma = sigma sigma^T,
C and readouts), with the box, grid and time step chosen and checked here.

* box: the potential-guess density on a coarse grid, widened until the set where it exceeds
  EDGE times its maximum stays inside, then the bounding box of that set plus a margin;
* grid: NODES_PER_STD nodes per standard deviation of the narrowest axis of that density;
* time step: inside RK4's stability region (the solver's choice);
* the stationary density is relaxed by the solver when a unit of time still changes it;
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

from ...fokker_planck import ForwardFokkerPlanck
from .gaussian_path import NoOracle
from .spec_parse import ParsedNetwork, network_of

__all__ = ["ForwardRoute", "forward_route", "MAX_HIDDEN"]

#: the grid has N^n nodes: two hidden units at most
MAX_HIDDEN = 2
EDGE = 1e-20
NODES_PER_STD = 4.0
MIN_NODES, MAX_NODES = {1: 128, 2: 48}, {1: 512, 2: 160}


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

    def variant(self, *, nodes: int | None = None, step: float | None = None) -> ForwardFokkerPlanck:
        """The same route on another grid (stationary density relaxed there) or with another time step."""
        solver = _solver(self.net, self.values, self.half_width, nodes or self.nodes, self.centre,
                         step or self.solver.step)
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


def _solver(net: ParsedNetwork, values: Mapping[str, float], half_width: float, nodes: int, centre, step):
    m = net.float_matrices(values)
    return ForwardFokkerPlanck(net.float_drift(values), m["Sigma"], m["C"], net.float_readout(values),
                               half_width=half_width, nodes=nodes, centre=centre, step=step)


def forward_route(spec, values: Mapping[str, float], *, tol: float = 1e-9) -> ForwardRoute:
    """The forward route for the network of ``spec`` (a DerivationSpec; only its raw data is read).

    Raises :class:`NoOracle` for more than :data:`MAX_HIDDEN` hidden units, degenerate noise or a
    density that does not fit a box.
    """
    net = network_of(spec)
    n = net.n_hidden
    if n > MAX_HIDDEN:
        raise NoOracle(f"the forward Fokker-Planck grid is limited to {MAX_HIDDEN} hidden units (this network has {n})")
    values = net.values(values)
    Sigma = net.float_matrices(values)["Sigma"]
    if numpy.linalg.eigvalsh(Sigma)[0] <= 1e-12 * numpy.abs(Sigma).max():
        raise NoOracle("the noise covariance is singular: no smooth density for the Fourier grid")
    half, centre = 8.0, numpy.zeros(n)
    for _ in range(5):
        coarse = _solver(net, values, half, 96 if n == 1 else 64, centre, None)
        rho = coarse.rho
        mask = rho > EDGE * rho.max()
        edge = any(numpy.take(mask, [0, -1], axis=a).any() for a in range(n))
        if not edge:
            break
        half *= 2
    else:
        raise NoOracle("the stationary density does not fit a box of half-width 256")
    lo = [float(g[mask].min()) for g in coarse.grid]
    hi = [float(g[mask].max()) for g in coarse.grid]
    centre = numpy.array([(a + b) / 2 for a, b in zip(lo, hi)])
    half_width = max((b - a) / 2 for a, b in zip(lo, hi)) + 2 * coarse.dx
    weights = rho / rho.sum()
    stds = [math.sqrt(float((weights * (g - (weights * g).sum()) ** 2).sum())) for g in coarse.grid]
    nodes = _even(min(max(2 * half_width / (min(stds) / NODES_PER_STD), MIN_NODES[n]), MAX_NODES[n]))
    solver = _solver(net, values, half_width, nodes, centre, None)
    solver.relax(tol=tol / 100)
    return ForwardRoute(net, values, solver, centre, half_width, nodes)
