"""Series terms of an input by Girsanov weights, and the simulated driven mean (theory.md 8).

Series: after the burn-in a path runs consecutive windows of ``steps`` steps, each a stationary
start for the input u over [0, t]. Over a window the unforced network accumulates the Girsanov
martingale M = sum_i a_i (a_i = v_i . z_i, v_i = P^T d_i, :mod:`.weights`) with the deterministic
bracket Q_M; at its end term n is eps^n f(h_t) He_n(M; Q_M) / n!, averaged over the windows. An
input inside the activation shifts the increments by state-dependent polynomials in eps: the
log-weight is then sum_n eps^n lambda_n and the weight of term n the Taylor coefficient e_n of
its exponential (:mod:`.inside`); the control variate has its own (constant) shifts.

Driven mean: the forced network (the simulator's scheme with eps C u_t in the drift) from its
stationary start, f recorded at the grid points around the requested times and interpolated
(cubic Lagrange). The linearized network, forced by the same input and noise, is the control variate
in both (its exact series terms / driven mean are the closed forms of the linearized engine).
"""

from __future__ import annotations

import numpy

from .weights import hermite_terms

__all__ = ["SeriesObserver", "HermiteWeights", "DrivenObserver"]


class HermiteWeights:
    """He_n(M; Q) / n! of the martingale M = sum_i v_i . z_i of constant shifts (``vectors`` (steps, r))
    with the deterministic bracket Q: the additive input."""

    needs_state = False

    def __init__(self, vectors: numpy.ndarray, bracket: float, order: int):
        self.vectors, self.bracket, self.order = vectors, float(bracket), order

    def begin(self, blocks: int, size: int) -> None:
        self.M = numpy.zeros((blocks, size))

    def before(self, q: int, z: numpy.ndarray, h) -> None:
        self.M += numpy.einsum("r,brs->bs", self.vectors[q], z)

    def weights(self) -> numpy.ndarray:
        out = numpy.stack(hermite_terms(self.M, self.bracket, self.order))
        self.M = numpy.zeros_like(self.M)
        return out


class SeriesObserver:
    """Terms 0..order at the end of each window of ``steps`` steps. ``weights`` holds the weight makers
    of the network and of the control variate (one object when they share the weights, as for an
    additive input): ``begin``, ``before(q, z, h)`` per step, ``weights()`` (order + 1, blocks, size)
    at a window's end."""

    def __init__(self, weights: tuple, steps: int, windows: int, order: int, eps: float, p: int, *, control: bool):
        self.makers = weights if control and weights[1] is not weights[0] else weights[:1]
        self.length, self.windows = steps, windows
        self.order, self.eps, self.p, self.control = order, float(eps), p, control
        self.entries = (order + 1) * p

    def begin(self, blocks: int, size: int, out) -> None:
        for maker in self.makers:
            maker.begin(blocks, size)
        chains = 2 if self.control else 1
        self.acc = [numpy.zeros((self.order + 1, self.p, blocks, size)) for _ in range(chains)]

    def before(self, i: int, z: numpy.ndarray, h, g) -> None:
        for maker, state in zip(self.makers, (h, g)):
            maker.before(i % self.length, z, state)

    def step(self, i: int, z: numpy.ndarray, out) -> None:
        if i % self.length != self.length - 1:
            return
        powers = self.eps ** numpy.arange(self.order + 1)
        weights = [maker.weights() * powers[:, None, None] for maker in self.makers]
        for a, (acc, f) in enumerate(zip(self.acc, out())):
            acc += weights[min(a, len(weights) - 1)][:, None] * f[None]

    def end(self):
        values = [acc.reshape(self.entries, *acc.shape[2:]) / self.windows for acc in self.acc]
        return values[0], (values[1] if self.control else None)


class DrivenObserver:
    """f at the grid points of a stencil (nodes (T, S) in 0..steps, weights (T, S)), interpolated."""

    def __init__(self, nodes: numpy.ndarray, weights: numpy.ndarray, p: int, *, control: bool):
        self.nodes, self.weights, self.p, self.control = nodes, weights, p, control
        self.grid = numpy.unique(nodes)
        self.slot = {int(k): a for a, k in enumerate(self.grid)}
        self.entries = len(nodes) * p

    def begin(self, blocks: int, size: int, out) -> None:
        chains = 2 if self.control else 1
        self.recorded = [numpy.zeros((len(self.grid), self.p, blocks, size)) for _ in range(chains)]
        if 0 in self.slot:
            self._record(0, out)

    def _record(self, k: int, out) -> None:
        for store, f in zip(self.recorded, out()):
            store[self.slot[k]] = f

    def step(self, i: int, z: numpy.ndarray, out) -> None:
        if i + 1 in self.slot:
            self._record(i + 1, out)

    def end(self):
        index = numpy.searchsorted(self.grid, self.nodes)
        values = [numpy.einsum("ts,ts...->t...", self.weights, rec[index]).reshape(self.entries, *rec.shape[2:])
                  for rec in self.recorded]
        return values[0], (values[1] if self.control else None)
