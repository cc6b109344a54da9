"""The network and its linearization, stepped on the same noise from the stationary start.

:class:`Chains` holds the float64 network (:func:`volterra_sym.network.numeric_srnn`), the network
linearized about its stable fixed point (the control variate; ``None`` when it is off), the time
stepper of both (:class:`volterra_sym.stepping.Stepper`: the exact OU step for a linear activation,
stochastic Heun otherwise) and the burn-in. :func:`run_paths` advances paths block by block and
hands every step to an observer (the estimators of :mod:`.kernels` and :mod:`.series`), and the
states before it to those whose weights depend on the state (an input inside the activation).

Random numbers follow :mod:`volterra_sym.simulate`: paths come in blocks of
:data:`~volterra_sym.stepping.BLOCK`; block j draws everything (start, burn-in, run) from
``default_rng(SeedSequence(seed).spawn(blocks)[j])`` in that order, and its statistics are kept per
block. A chunk only decides how many blocks advance together: the numbers do not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy

from ...network import NumericSRNN
from ...progress import progress_bar
from ...errors import DerivationError
from ...stepping import BLOCK, Stepper, check_finite, start_law
from .stats import PathStats
from .weights import NoiseWeights

__all__ = ["Chains", "Observer", "run_paths", "blocks_of"]


class Observer(Protocol):
    """What :func:`run_paths` calls: ``begin`` per chunk, ``step`` after each step, ``end`` per chunk."""

    entries: int

    def begin(self, blocks: int, size: int, out: Callable[[], tuple[numpy.ndarray, numpy.ndarray | None]]) -> None:
        """A chunk of ``blocks`` blocks of ``size`` paths starts; ``out()`` gives f at the start (after
        the burn-in), as in :meth:`step`."""

    def before(self, i: int, z: numpy.ndarray, h: numpy.ndarray, g: numpy.ndarray | None) -> None:
        """Optional: step i is about to be taken from the states ``h`` (network) and ``g`` (linearization,
        or ``None``), each (1, blocks, n, size), with normals ``z``."""

    def step(self, i: int, z: numpy.ndarray, out: Callable[[], tuple[numpy.ndarray, numpy.ndarray | None]]) -> None:
        """Step i has been taken with normals ``z`` (blocks, r, size); ``out()`` gives f at the new
        states of the network and of the linearization, each (p, blocks, size)."""

    def end(self) -> tuple[numpy.ndarray, numpy.ndarray | None]:
        """Per-path values (entries, blocks, size) of the network and of the linearization."""


@dataclass
class Chains:
    """Network ``net`` and control variate ``lin`` (``None``: off), stepped by ``scheme`` with ``dt``."""

    net: NumericSRNN
    lin: NumericSRNN | None
    scheme: str
    dt: float
    burn_steps: int
    start_law: tuple[numpy.ndarray, numpy.ndarray] | None = None  # (centre, root); default: the Gaussian start

    def steppers(self, drive: numpy.ndarray | None = None, eps: float = 0.0) -> tuple[Stepper, Stepper | None]:
        """Steppers of the network and the linearization (``drive``: u on the grid, (steps + 1, m))."""
        m = self.net.n_inputs
        drive = numpy.zeros((2, m)) if drive is None else drive
        eps_arr = numpy.array([float(eps)])
        net = Stepper(self.net, self.scheme, self.dt, drive, eps_arr)
        if self.lin is None:
            return net, None
        return net, (net if self.lin is self.net else Stepper(self.lin, self.scheme, self.dt, drive, eps_arr))

    def weights(self) -> NoiseWeights:
        return NoiseWeights(self.steppers()[0].noise_matrix)

    def start(self, z0: numpy.ndarray) -> numpy.ndarray:
        """States (1, blocks, n, size) from standard normals (blocks, n, size): ``start_law``, or the
        Gaussian law of :func:`volterra_sym.stepping.start_law` (centred state for the exact step)."""
        centre, root = start_law(self.net) if self.start_law is None else self.start_law
        h = root @ z0
        if self.scheme != "exact":
            h += centre[:, None]
        return h[None]

    def output(self, chain: NumericSRNN, h: numpy.ndarray) -> numpy.ndarray:
        """f at states (1, blocks, n, size): (p, blocks, size)."""
        state = h[0] + chain.mu[:, None] if self.scheme == "exact" else h[0]
        with numpy.errstate(all="ignore"):
            return numpy.stack(chain.output(state))


def blocks_of(paths: int) -> list[int]:
    """Sizes of the random-number blocks of ``paths`` paths."""
    return [BLOCK] * (paths // BLOCK) + ([paths % BLOCK] if paths % BLOCK else [])


def run_paths(chains: Chains, observer: Observer, *, paths: int, seed: int, steps: int,
              drive: numpy.ndarray | None = None, eps: float = 0.0, chunk_blocks: int = 4,
              progress: bool = False) -> PathStats:
    """Advance ``paths`` paths through the burn-in (unforced) and ``steps`` observed steps (forced by
    ``eps * drive`` when given) and pool the observer's per-path values."""
    stepper, lin_stepper = chains.steppers(drive, eps)
    forced = drive is not None and eps != 0.0
    same = lin_stepper is stepper
    sizes = blocks_of(paths)
    seeds = numpy.random.SeedSequence(seed).spawn(len(sizes))
    full = paths // BLOCK
    chunks = [list(range(a, min(full, a + chunk_blocks))) for a in range(0, full, chunk_blocks)]
    if full < len(sizes):
        chunks.append([full])  # the partial block runs alone
    stats = PathStats(observer.entries, control=chains.lin is not None)
    n, r = chains.net.n_hidden, stepper.noise_dim
    bar = progress_bar(len(chunks) * (chains.burn_steps + steps), enabled=progress, desc="monte carlo", unit="step")
    try:
        for chunk in chunks:
            gens = [numpy.random.default_rng(seeds[j]) for j in chunk]
            size = sizes[chunk[0]]

            def normals(rows: int) -> numpy.ndarray:
                z = numpy.empty((len(chunk), rows, size))
                for a, g in enumerate(gens):
                    g.standard_normal(out=z[a])
                return z

            h = chains.start(normals(n))
            g = None if lin_stepper is None else h.copy()
            with numpy.errstate(all="ignore"):
                for i in range(chains.burn_steps):
                    z = normals(r)
                    h = stepper.step(h, 0, z, forced=False)
                    if g is not None:
                        g = h if same else lin_stepper.step(g, 0, z, forced=False)
                    bar.update(1)
            check_finite(h, "burn-in")
            observer.begin(len(chunk), size, lambda: (chains.output(chains.net, h),
                                                      None if g is None else chains.output(chains.lin, g)))
            before = getattr(observer, "before", None)
            for i in range(steps):
                z = normals(r)
                if before is not None:
                    before(i, z, h, g)
                with numpy.errstate(all="ignore"):
                    h = stepper.step(h, i, z, forced=forced)
                    if g is not None:
                        g = h if same else lin_stepper.step(g, i, z, forced=forced)
                observer.step(i, z, lambda: (chains.output(chains.net, h),
                                             None if g is None else chains.output(chains.lin, g)))
                bar.update(1)
            check_finite(h, f"step {steps}")
            Y, L = observer.end()
            if not numpy.all(numpy.isfinite(Y)) or (L is not None and not numpy.all(numpy.isfinite(L))):
                raise DerivationError("the Monte-Carlo estimate is not finite (the readout or the weights "
                                      "overflowed on the simulated paths): check the readout's domain, or use a "
                                      "shorter horizon or a smaller input")
            for a, j in enumerate(chunk):
                stats.add_block(j, Y[:, a], None if L is None else L[:, a])
    finally:
        bar.close()
    return stats
