"""Kernels on the grid by the backward recursion of theory.md 3(b).

    R^(n)_{f;k_1..k_n}(tau) = pi^T B_{k_n} P_{tau_n} B_{k_{n-1}} ... B_{k_1} P_{tau_1} (w f),   P_tau = e^{tau H}

with H, B_k, w and pi of :mod:`.operator`. A composition (j_1, ..., j_r) (theory.md 7.1) puts at the i-th
latest time the m^{j_i} operators of order j_i (B_k for j_i = 1, the contact operators L_{j_i;k..} of an
input inside the activation otherwise, :func:`.inside.contact_operators`); the input axes of the result
are grouped by time (the first j_1 belong to tau_1), as in the gradient engine. The lags of a call are reduced to the distinct values per
axis; the recursion runs from the right through axes 1..n-1 (one sweep of e^{tau H} over the
distinct tau_j per axis, carrying every earlier combination as columns) and from the left through
axis n (one sweep of e^{tau H^T} applied to B_k^T pi), and the two meet in one matrix product. Calls
with too many distinct combinations are split into chunks of points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy

from .expmv import sweep
from .inside import contact_operators
from .operator import GridOperator

__all__ = ["kernel_values", "operator_sets", "MAX_FLOATS"]

#: the largest block of grid vectors carried through a sweep (floats), chunks of points beyond it
MAX_FLOATS = 2**24


def _right(op: GridOperator, operators: tuple, times: numpy.ndarray, block: numpy.ndarray) -> numpy.ndarray:
    """O_k P_tau block for every tau of ``times`` and every operator O_k: (M, K, T, columns)."""
    M = op.size
    moved = sweep(op.H.__matmul__, block, times, op.norm, op.shift)  # (T, M, c)
    flat = numpy.moveaxis(moved, 0, 1).reshape(M, -1)  # (M, T * c)
    return numpy.stack([(B @ flat) for B in operators], axis=1).reshape(M, len(operators), len(times),
                                                                         block.shape[1])


def operator_sets(op: GridOperator, composition: Sequence[int]) -> list[tuple[tuple, tuple]]:
    """Per time (latest first), the operators of order j_i and their transposes."""
    built: dict[int, tuple[tuple, tuple]] = {1: (tuple(op.inputs), tuple(op.inputsT))}
    for j in composition:
        if j not in built:
            built[j] = contact_operators(op, j)
    return [built[j] for j in composition]


def _chunk_values(op: GridOperator, pi: numpy.ndarray, flat: list[numpy.ndarray], sets: list) -> numpy.ndarray:
    """Kernels at points given by ``flat`` (r arrays of equal length P): (P, K_r, ..., K_1, p), K_i the
    number of operators at the i-th latest time."""
    n = len(flat)
    M = op.size
    uniq, inv = zip(*(numpy.unique(t, return_inverse=True) for t in flat))
    block = op.readout  # (M, p): columns (q)
    shape = [block.shape[1]]  # column layout, latest first
    for j in range(n - 1):
        block = _right(op, sets[j][0], uniq[j], block).reshape(M, -1)
        shape = [len(sets[j][0]), len(uniq[j])] + shape
    m = len(sets[n - 1][1])
    left = numpy.stack([B @ pi for B in sets[n - 1][1]], axis=1)  # (M, K_r)
    left = sweep(op.HT.__matmul__, left, uniq[n - 1], op.norm_T, op.shift_T)  # (T_n, M, m)
    values = numpy.einsum("tik,ic->tkc", left, block).reshape([len(uniq[n - 1]), m] + shape)
    # axes: t_n, k_n, then (k_j, t_{j-1}) for j = n-1..1 with t_{j-1} the lag index of axis j - 1, then q
    t_axes = [0] + [3 + 2 * i for i in range(n - 1)]
    values = numpy.moveaxis(values, t_axes, list(range(n)))
    index = tuple(inv[n - 1 - i] for i in range(n))  # t_n, t_{n-1}, ..., t_1
    return values[index]  # (P, k_n, ..., k_1, p)


def kernel_values(op: GridOperator, pi: numpy.ndarray, lags: Sequence[numpy.ndarray],
                  composition: Sequence[int] | None = None) -> numpy.ndarray:
    """R^J(lags) for r = len(lags) times (checked, finite, >= 0) and the composition J (default all ones,
    the time-ordered kernel), shape broadcast(lags) + (p,) + (m,) * n with n = sum(J), the input axes
    grouped by time. A composition with an entry above 1 needs an input inside the activation."""
    n = len(lags)
    p, m = op.readout.shape[1], len(op.inputs)
    if n == 0:
        return pi @ op.readout
    composition = (1,) * n if composition is None else tuple(int(j) for j in composition)
    sets = operator_sets(op, composition)
    sizes = [len(s[0]) for s in sets]
    arrays = numpy.broadcast_arrays(*[numpy.asarray(t, dtype=numpy.float64) for t in lags])
    shape = arrays[0].shape
    flat = [a.reshape(-1) for a in arrays]
    P = flat[0].size
    out = numpy.empty((P,) + tuple(sizes[::-1]) + (p,))
    columns = p * numpy.prod([K * len(numpy.unique(t)) for K, t in zip(sizes, flat[:-1])], dtype=float)
    if op.size * columns <= MAX_FLOATS:
        chunk, order = max(P, 1), numpy.arange(P)
    else:  # chunks of points whose carried block fits: p (K G)^(n-1) M <= MAX_FLOATS
        chunk = max(1, int((MAX_FLOATS / (op.size * p)) ** (1 / (n - 1)) / max(sizes[:-1], default=1)))
        order = numpy.lexsort(flat[::-1])
    for start in range(0, P, chunk):
        sel = order[start : start + chunk]
        if sel.size:
            out[sel] = _chunk_values(op, pi, [t[sel] for t in flat], sets)
    # (P, K_r, ..., K_1, q) -> broadcast shape + (q, K_1, ..., K_r) -> (q, k_1, ..., k_n)
    out = numpy.transpose(out, [0, n + 1] + list(range(n, 0, -1)))
    return out.reshape(shape + (p,) + (m,) * sum(composition))
