"""Kernels on the grid by the backward recursion of theory.md 3(b).

    R^(n)_{f;k_1..k_n}(tau) = pi^T B_{k_n} P_{tau_n} B_{k_{n-1}} ... B_{k_1} P_{tau_1} (w f),   P_tau = e^{tau H}

with H, B_k, w and pi of :mod:`.operator`. The lags of a call are reduced to the distinct values per
axis; the recursion runs from the right through axes 1..n-1 (one sweep of e^{tau H} over the
distinct tau_j per axis, carrying every earlier combination as columns) and from the left through
axis n (one sweep of e^{tau H^T} applied to B_k^T pi), and the two meet in one matrix product. Calls
with too many distinct combinations are split into chunks of points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy

from .expmv import sweep
from .operator import GridOperator

__all__ = ["kernel_values", "MAX_FLOATS"]

#: the largest block of grid vectors carried through a sweep (floats), chunks of points beyond it
MAX_FLOATS = 2**24


def _right(op: GridOperator, times: numpy.ndarray, block: numpy.ndarray) -> numpy.ndarray:
    """B_k P_tau block for every tau of ``times`` and every k: (M, m, T, columns)."""
    M = op.size
    moved = sweep(op.H.__matmul__, block, times, op.norm, op.shift)  # (T, M, c)
    flat = numpy.moveaxis(moved, 0, 1).reshape(M, -1)  # (M, T * c)
    return numpy.stack([(B @ flat) for B in op.inputs], axis=1).reshape(M, len(op.inputs), len(times),
                                                                         block.shape[1])


def _chunk_values(op: GridOperator, pi: numpy.ndarray, flat: list[numpy.ndarray]) -> numpy.ndarray:
    """Kernels at points given by ``flat`` (n arrays of equal length P): (P, k_n, ..., k_1, p)."""
    n = len(flat)
    M, m = op.size, len(op.inputs)
    uniq, inv = zip(*(numpy.unique(t, return_inverse=True) for t in flat))
    block = op.readout  # (M, p): columns (q)
    shape = [block.shape[1]]  # column layout, latest first
    for j in range(n - 1):
        block = _right(op, uniq[j], block).reshape(M, -1)
        shape = [m, len(uniq[j])] + shape
    left = numpy.stack([B @ pi for B in op.inputsT], axis=1)  # (M, m)
    left = sweep(op.HT.__matmul__, left, uniq[n - 1], op.norm_T, op.shift_T)  # (T_n, M, m)
    values = numpy.einsum("tik,ic->tkc", left, block).reshape([len(uniq[n - 1]), m] + shape)
    # axes: t_n, k_n, then (k_j, t_{j-1}) for j = n-1..1 with t_{j-1} the lag index of axis j - 1, then q
    t_axes = [0] + [3 + 2 * i for i in range(n - 1)]
    values = numpy.moveaxis(values, t_axes, list(range(n)))
    index = tuple(inv[n - 1 - i] for i in range(n))  # t_n, t_{n-1}, ..., t_1
    return values[index]  # (P, k_n, ..., k_1, p)


def kernel_values(op: GridOperator, pi: numpy.ndarray, lags: Sequence[numpy.ndarray]) -> numpy.ndarray:
    """R^(n)(lags) for n = len(lags) (checked, finite, >= 0), shape broadcast(lags) + (p,) + (m,) * n."""
    n = len(lags)
    p, m = op.readout.shape[1], len(op.inputs)
    if n == 0:
        return pi @ op.readout
    arrays = numpy.broadcast_arrays(*[numpy.asarray(t, dtype=numpy.float64) for t in lags])
    shape = arrays[0].shape
    flat = [a.reshape(-1) for a in arrays]
    P = flat[0].size
    out = numpy.empty((P,) + (m,) * n + (p,))
    columns = p * numpy.prod([m * len(numpy.unique(t)) for t in flat[:-1]], dtype=float)
    if op.size * columns <= MAX_FLOATS:
        chunk, order = max(P, 1), numpy.arange(P)
    else:  # chunks of points whose carried block fits: p (m G)^(n-1) M <= MAX_FLOATS
        chunk = max(1, int((MAX_FLOATS / (op.size * p)) ** (1 / (n - 1)) / m))
        order = numpy.lexsort(flat[::-1])
    for start in range(0, P, chunk):
        sel = order[start : start + chunk]
        if sel.size:
            out[sel] = _chunk_values(op, pi, [t[sel] for t in flat])
    # (P, k_n, ..., k_1, q) -> broadcast shape + (q, k_1, ..., k_n)
    out = numpy.transpose(out, [0, n + 1] + list(range(n, 0, -1)))
    return out.reshape(shape + (p,) + (m,) * n)
