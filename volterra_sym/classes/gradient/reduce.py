"""Fewer modes of a spectral representation: the lowest ones that reproduce its kernels to a tolerance.

Used by generated modules (a small module) and by forward integrations (cost K^2 per step).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy

from .inside import unit_matrices
from .spectral import SpectralKernels, contract

__all__ = ["TOLERANCE", "PROBE_LAGS", "ReducedRepresentation", "reduce_representation"]

#: largest kernel change allowed by dropping modes, relative to each order's largest probe value
TOLERANCE = 1e-8
#: lags of the probe (every tuple of them, up to order 3)
PROBE_LAGS = (0.0, 0.05, 0.3, 1.0)


@dataclass(frozen=True, slots=True)
class ReducedRepresentation:
    """The modes kept for a generated module: ``lam`` (K,), ``B`` (m, K, K), ``fhat`` (K, p); for an input
    inside the activation ``contact`` (J, n, K, K) holds the per-unit matrices of the orders j = 2..J+1,
    <g_a, a^(j)(z_i)/j! d_i g_b> (theory.md 7), else it has J = 0. ``signs`` are the modes' sign changes."""

    lam: numpy.ndarray
    B: numpy.ndarray
    fhat: numpy.ndarray
    error: float  # the probe's largest relative change against the full representation
    full_modes: int
    contact: numpy.ndarray | None = None
    signs: numpy.ndarray | None = None

    @property
    def modes(self) -> int:
        return len(self.lam)


def _normalise_signs(lam, B, fhat):
    """g_j -> s_j g_j with s_j = sign of the mode's first significant coefficient (fhat, then B[:, 0, j]);
    returns (lam, B, fhat, signs)."""
    K = len(lam)
    signs = numpy.ones(K)
    coefficients = numpy.concatenate([fhat, B[:, 0, :].T], axis=1)  # (K, p + m)
    floor = 1e-9 * float(numpy.abs(coefficients).max(initial=0.0))
    for j in range(1, K):
        row = coefficients[j]
        big = numpy.nonzero(numpy.abs(row) > floor)[0]
        if big.size:
            signs[j] = numpy.sign(row[big[0]])
    return lam, B * signs[None, :, None] * signs[None, None, :], fhat * signs[:, None], signs


def _probe(lam, B, fhat, order: int) -> list[numpy.ndarray]:
    """Kernels on every tuple of PROBE_LAGS, one array per order."""
    out = []
    for n in range(1, min(order, 3) + 1):
        tuples = numpy.array(list(itertools.product(PROBE_LAGS, repeat=n)))  # (L, n)
        out.append(contract(lam, B, fhat, [tuples[:, j] for j in range(n)]))
    return out


def reduce_representation(sk: SpectralKernels, tolerance: float = TOLERANCE) -> ReducedRepresentation:
    """Keep few lowest modes (a multiple of 8, or all) within ``tolerance`` of the full representation."""
    lam, B, fhat, signs = _normalise_signs(sk.lam, sk.B, sk.fhat)
    order = sk.order
    K = len(lam)
    if order == 0:
        return _with_contact(ReducedRepresentation(lam[:1].copy(), B[:, :1, :1].copy(), fhat[:1].copy(), 0.0, K),
                             sk, signs[:1])
    full = _probe(lam, B, fhat, order)
    scales = [max(float(numpy.abs(f).max()), 1e-300) for f in full]

    def change(size: int) -> float:
        probe = _probe(lam[:size], B[:, :size, :size], fhat[:size], order)
        return max(float(numpy.abs(a - b).max()) / s for a, b, s in zip(probe, full, scales))

    # doubling, then bisection over multiples of 8 (the change falls with the size, not strictly:
    # the result is a size that passes, found deterministically, not necessarily the least one)
    low, high = 0, 8
    while high < K and change(high) > tolerance:
        low, high = high, 2 * high
    high = min(high, K)
    while high - low > 8:
        mid = (low + high) // 16 * 8
        if mid <= low:
            break
        if change(mid) <= tolerance:
            high = mid
        else:
            low = mid
    keep = high
    reduced = ReducedRepresentation(lam[:keep].copy(), B[:, :keep, :keep].copy(), fhat[:keep].copy(), change(keep), K)
    return _with_contact(reduced, sk, signs[:keep])


def _with_contact(reduced: ReducedRepresentation, sk: SpectralKernels, signs: numpy.ndarray) -> ReducedRepresentation:
    """The contact operators of the kept modes, with the same sign changes (none for an additive input)."""
    keep = len(signs)
    n = sk.law.model.n_hidden
    if sk.inside is None:
        contact = numpy.zeros((0, n, keep, keep))
    else:
        inside = sk.inside.truncated(keep)
        contact = numpy.stack([unit_matrices(inside, j) for j in range(2, sk.order + 1)]) if sk.order >= 2 \
            else numpy.zeros((0, n, keep, keep))
        contact = contact * signs[None, None, :, None] * signs[None, None, None, :]
    return ReducedRepresentation(reduced.lam, reduced.B, reduced.fhat, reduced.error, reduced.full_modes, contact,
                                 signs)
