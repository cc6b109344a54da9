"""Series terms of an input by Girsanov weights, and the simulated driven mean (theory.md 8).

Series: after the burn-in a path runs consecutive windows of ``steps`` steps, each a stationary
start for the input u over [0, t]. Over a window the unforced network accumulates the Girsanov
martingale M = sum_i a_i (a_i = v_i . z_i, v_i = P^T d_i, :mod:`.weights`) with the deterministic
bracket Q_M; at its end term n is eps^n f(h_t) He_n(M; Q_M) / n!, averaged over the windows.

Driven mean: the forced network (the simulator's scheme with eps C u_t in the drift) from its
stationary start, f recorded at the grid points around the requested times and interpolated
(cubic Lagrange). The linearized network, forced by the same input and noise, is the control variate
in both (its exact series terms / driven mean are the closed forms of the linearized engine).
"""

from __future__ import annotations

import numpy

from .weights import hermite_terms

__all__ = ["SeriesObserver", "DrivenObserver"]


class SeriesObserver:
    """Terms 0..order at the end of each window of ``shifts`` (steps, r) weight vectors."""

    def __init__(self, vectors: numpy.ndarray, bracket: float, windows: int, order: int, eps: float, p: int, *,
                 control: bool):
        self.vectors, self.bracket, self.windows = vectors, float(bracket), windows
        self.order, self.eps, self.p, self.control = order, float(eps), p, control
        self.length = len(vectors)
        self.entries = (order + 1) * p

    def begin(self, blocks: int, size: int, out) -> None:
        self.M = numpy.zeros((blocks, size))
        chains = 2 if self.control else 1
        self.acc = [numpy.zeros((self.order + 1, self.p, blocks, size)) for _ in range(chains)]

    def step(self, i: int, z: numpy.ndarray, out) -> None:
        q = i % self.length
        self.M += numpy.einsum("r,brs->bs", self.vectors[q], z)
        if q != self.length - 1:
            return
        powers = self.eps ** numpy.arange(self.order + 1)
        weights = numpy.stack(hermite_terms(self.M, self.bracket, self.order)) * powers[:, None, None]
        for acc, f in zip(self.acc, out()):
            acc += weights[:, None] * f[None]
        self.M = numpy.zeros_like(self.M)

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
