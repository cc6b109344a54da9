"""One chunk of simulated paths: the pure function that :mod:`volterra_sym.simulate` runs serially
or as a Dask task (:func:`volterra_sym.parallel.map_chunks`).

Block ``j`` of paths draws every normal it uses (start, burn-in, run) from
``default_rng(SeedSequence(seed, spawn_key=(j,)))`` (the j-th child of ``SeedSequence(seed)``), and
its statistics (mean and sum of squared deviations per recorded time) are computed from its own
paths only. A chunk is a run of consecutive blocks advanced together; its result depends on the
blocks only, never on which process or with which other blocks it ran.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy

from .network import NumericSRNN
from .stepping import BLOCK, Stepper, check_finite

__all__ = ["PathPlan", "ChunkStats", "StartSampler", "simulate_chunk", "block_rng"]

#: ``sampler(rng, size) -> states (size, n)``: exact draws from a network's invariant law
StartSampler = Callable[[numpy.random.Generator, int], numpy.ndarray]


def block_rng(seed: int, block: int) -> numpy.random.Generator:
    """The random stream of block ``block``: the same as ``SeedSequence(seed).spawn(block + 1)[block]``."""
    return numpy.random.default_rng(numpy.random.SeedSequence(seed, spawn_key=(block,)))


@dataclass(frozen=True, slots=True)
class PathPlan:
    """Everything a chunk needs (sent once to every worker)."""

    net: NumericSRNN
    stepper: Stepper
    centre: numpy.ndarray  # (n,) centre of the Gaussian start
    start: numpy.ndarray  # (n, n) its square root
    sampler: StartSampler | None  # exact start draws, replacing the Gaussian start
    burn_steps: int
    steps: int
    record_slot: Mapping[int, int]  # step -> recorded slot (step 0 is slot 0)
    n_recorded: int
    paths: int
    seed: int
    dt: float
    differences: bool

    def block_size(self, block: int) -> int:
        full = self.paths // BLOCK
        return BLOCK if block < full else self.paths - full * BLOCK


@dataclass(frozen=True, slots=True)
class ChunkStats:
    """Per-block statistics of one chunk, shape (blocks, k, recorded, p) each."""

    mean: numpy.ndarray
    m2: numpy.ndarray
    diff_mean: numpy.ndarray | None
    diff_m2: numpy.ndarray | None


def simulate_chunk(plan: PathPlan, blocks: tuple[int, ...], tick: Callable[[int], None]) -> ChunkStats:
    """Run the blocks ``blocks`` (all of the same size) from their start through the recorded times."""
    net, stepper = plan.net, plan.stepper
    gens = [block_rng(plan.seed, j) for j in blocks]
    s = plan.block_size(blocks[0])
    nb = len(blocks)
    n, k, p = net.n_hidden, stepper.eps.shape[0], net.n_outputs
    exact = stepper.scheme == "exact"
    offset = net.mu if exact else None  # the exact scheme steps h - mu

    def normals(r: int) -> numpy.ndarray:
        z = numpy.empty((nb, r, s))
        for a, g in enumerate(gens):
            g.standard_normal(out=z[a])
        return z

    if plan.sampler is not None:
        h = numpy.stack([numpy.asarray(plan.sampler(g, s), dtype=numpy.float64).T for g in gens])
        if exact:
            h = h - offset[:, None]
    else:
        z0 = normals(n)
        h = plan.start @ z0 if exact else plan.centre[:, None] + plan.start @ z0
    with numpy.errstate(all="ignore"):
        for i in range(plan.burn_steps):
            h = stepper.step(h, i, normals(stepper.noise_dim), forced=False)
            tick(1)
    check_finite(h, "burn-in")
    h = numpy.broadcast_to(h, (k, nb, n, s))

    shape = (nb, k, plan.n_recorded, p)
    mean, m2 = numpy.empty(shape), numpy.empty(shape)
    diff_mean = numpy.empty(shape) if plan.differences else None
    diff_m2 = numpy.empty(shape) if plan.differences else None

    def record(state: numpy.ndarray, slot: int) -> None:
        with numpy.errstate(all="ignore"):
            values = net.output(state + offset[:, None] if offset is not None else state)
        for q, v in enumerate(values):  # v: (k, nb, s)
            block_mean = v.mean(axis=-1)
            mean[:, :, slot, q] = block_mean.T
            m2[:, :, slot, q] = ((v - block_mean[..., None]) ** 2).sum(axis=-1).T
            if plan.differences:
                d = v - v[:1]
                dm = d.mean(axis=-1)
                diff_mean[:, :, slot, q] = dm.T
                diff_m2[:, :, slot, q] = ((d - dm[..., None]) ** 2).sum(axis=-1).T

    record(h, 0)
    with numpy.errstate(all="ignore"):
        for i in range(plan.steps):
            h = stepper.step(h, i, normals(stepper.noise_dim))
            slot = plan.record_slot.get(i + 1)
            if slot is not None:
                check_finite(h, f"t = {(i + 1) * plan.dt:g}")
                record(h, slot)
            tick(1)
    return ChunkStats(mean, m2, diff_mean, diff_m2)
