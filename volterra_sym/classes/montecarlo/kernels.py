"""Kernel estimators R^(1), R^(2) from sliding discretised impulses (theory.md 8).

After the burn-in a path runs ``window`` steps in which every step i carries an impulse of unit area
in each input (its weight w_i = C^T P z_i, :mod:`.weights`), followed by as many steps as the longest
lag needs. The estimate of a node is the average over the window of

    R^(1) node j:         w_i f(h_(i+1+j))                        (lag (j + offset) dt)
    R^(2) node (j1, j2):  w_(i+j2) (x) w_i f(h_(i+j2+1+j1))       (lags (j1 + offset) dt, j2 dt)

with the Hermite weight w (x) w - C^T G^-1 C when j2 = 0 (both impulses on one step). ``offset`` is
1/2 for Heun (a step's impulse acts at its midpoint) and 0 for the exact OU step and Euler (at its
end). An input inside the activation kicks along state-dependent directions at the step's start
(offset 1; weights and the same-step term in :mod:`.inside`). Kernels at other lags are cubic
Lagrange interpolants of the nodes. The same sums over the linearized network give the control variate, whose expectation is replaced by its closed form at
the requested lags (so the interpolation and the time step bias only the residual R - beta R_lin).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

from .weights import stencil_1d, stencil_2d

__all__ = ["KernelPlan", "kernel_plan", "KernelObserver"]

_POINT_BATCH = 64


@dataclass(frozen=True, slots=True)
class KernelPlan:
    """Nodes (U, order) to estimate and, per requested point, stencil indices into them (P, S) and
    weights (P, S). ``depth`` is the largest total node offset (steps run after the window)."""

    order: int
    nodes: numpy.ndarray
    index: numpy.ndarray
    weights: numpy.ndarray

    @property
    def depth(self) -> int:
        return int(self.nodes.sum(axis=1).max()) if len(self.nodes) else 0

    @property
    def points(self) -> int:
        return len(self.index)


def kernel_plan(lags: list[numpy.ndarray], dt: float, offset: float) -> KernelPlan:
    """Stencils of the flattened, broadcast ``lags`` (order 1 or 2) on the node grid of step ``dt``."""
    order = len(lags)
    if order == 0:
        return KernelPlan(0, numpy.zeros((0, 0), dtype=numpy.int64), numpy.zeros((0, 0), dtype=numpy.int64),
                          numpy.zeros((0, 0)))
    flat = [numpy.ravel(t) for t in numpy.broadcast_arrays(*lags)]
    if order == 1:
        idx, w = stencil_1d(flat[0] / dt - offset)
        pairs = idx[:, :, None]
    else:
        pairs, w = stencil_2d(flat[0] / dt - offset, flat[1] / dt)
    used = w != 0
    nodes, inverse = numpy.unique(pairs[used], axis=0, return_inverse=True)
    index = numpy.zeros(w.shape, dtype=numpy.int64)
    index[used] = inverse.ravel()
    return KernelPlan(order, nodes.astype(numpy.int64), index, w)


class KernelObserver:
    """Accumulates node sums over sliding impulses and the time-averaged output (module docstring).

    ``impulses`` holds the weight makers of the network and of the control variate (one object when
    they share the weights): :class:`~.inside.ConstantImpulses` for an additive input,
    :class:`~.inside.InsideImpulses` for an input inside the activation. Entries per path: the points
    of ``plan`` x (p,) x the makers' input tuples per slot, then the p stationary-mean values.
    """

    def __init__(self, plan: KernelPlan, window: int, impulses: tuple, p: int, *, control: bool):
        self.plan, self.window, self.p, self.control = plan, window, p, control
        self.makers = impulses if control and impulses[1] is not impulses[0] else impulses[:1]
        self.sizes = impulses[0].sizes[: plan.order]
        self.ring_size = plan.depth + 1
        kernel_entries = plan.points * p * int(numpy.prod(self.sizes, dtype=numpy.int64))
        self.entries = kernel_entries + p
        nodes = plan.nodes
        self.first_kick = nodes.sum(axis=1) if plan.order else numpy.zeros(0, dtype=numpy.int64)
        self.later = nodes[:, 0] if plan.order else None
        self.diagonal = (nodes[:, 1] == 0) if plan.order == 2 else None
        self.any_diagonal = bool(plan.order == 2 and self.diagonal.any())

    def begin(self, blocks: int, size: int, out) -> None:
        shape = (blocks, size)
        U, p = len(self.plan.nodes), self.p
        R = self.ring_size
        # per maker: rings of the later slot's weights, the earlier slot's, and the same-step weights
        self.rings = []
        for _ in self.makers:
            later = numpy.zeros((R, self.sizes[0]) + shape) if self.plan.order else None
            earlier = numpy.zeros((R, self.sizes[1]) + shape) if self.plan.order == 2 else None
            same = numpy.zeros((R,) + self.sizes + shape) if self.any_diagonal else None
            self.rings.append((later, earlier, same))
        chains = 2 if self.control else 1
        self.acc = [numpy.zeros((U, p) + self.sizes + shape) for _ in range(chains)]
        self.mean = [numpy.zeros((p,) + shape) for _ in range(chains)]

    def before(self, i: int, z: numpy.ndarray, h, g) -> None:
        if not len(self.plan.nodes):
            return
        slot = i % self.ring_size
        for maker, (later, earlier, same), state in zip(self.makers, self.rings, (h, g)):
            w1, w2, both = maker.weights(z, state, self.any_diagonal)
            later[slot] = w1
            if earlier is not None:
                earlier[slot] = w2
            if same is not None:
                same[slot] = both

    def _weight(self, rings, i: int, active: numpy.ndarray, kicks: numpy.ndarray) -> numpy.ndarray:
        later_ring, earlier_ring, same_ring = rings
        at_later = (i - self.later[active]) % self.ring_size
        later = later_ring[at_later]  # (A, m1, blocks, size)
        if self.plan.order == 1:
            return later
        earlier = earlier_ring[kicks[active] % self.ring_size]
        weight = later[:, :, None] * earlier[:, None, :]  # (A, m1, m2, blocks, size)
        diag = self.diagonal[active]
        if diag.any():
            weight[diag] = same_ring[at_later[diag]]
        return weight

    def step(self, i: int, z: numpy.ndarray, out) -> None:
        kicks = i - self.first_kick
        active = numpy.flatnonzero((kicks >= 0) & (kicks < self.window))
        if not active.size and i >= self.window:
            return
        values = out()
        if i < self.window:
            for mean, f in zip(self.mean, values):
                mean += f
        if not active.size:
            return
        weights = [self._weight(rings, i, active, kicks) for rings in self.rings]
        every = active.size == len(self.plan.nodes)
        slots = len(self.sizes)
        for a, (acc, f) in enumerate(zip(self.acc, values)):
            weight = weights[min(a, len(weights) - 1)]
            term = weight[:, None] * f.reshape((1, self.p) + (1,) * slots + f.shape[1:])
            if every:
                acc += term
            else:
                acc[active] += term

    def end(self):
        results = []
        for acc, mean in zip(self.acc, self.mean):
            blocks, size = mean.shape[1:]
            parts = []
            node_values = acc / self.window
            for a in range(0, self.plan.points, _POINT_BATCH):
                rows = slice(a, a + _POINT_BATCH)
                points = numpy.einsum("ps,ps...->p...", self.plan.weights[rows], node_values[self.plan.index[rows]])
                parts.append(points.reshape(-1, blocks, size))
            parts.append(mean / self.window)
            results.append(numpy.concatenate(parts, axis=0))
        return results[0], (results[1] if self.control else None)
