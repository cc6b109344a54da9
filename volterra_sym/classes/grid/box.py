"""Coordinates and box of the grid engine.

The grid lives in coordinates z with h = centre + M z, chosen so that the noise is the identity
(M^-1 Sigma M^-T = I: the generator's second-order part is 1/2 Laplacian, no mixed derivatives) and
a reference Gaussian N(centre, S_ref) of h is N(0, diag(D)) in z (the box is aligned with its
principal axes). The operator is conjugated by the weight w(z) = exp(-sum_i z_i^2 / (4 D_i)) = the
square root of the reference density (:mod:`.operator`), so both the functions the backward
recursion propagates (w g) and the stationary density seen through the weight (rho / w) decay like
sqrt(rho) and vanish at the walls. The box half-width along axis i is sqrt(4 kappa D_i), where
w = e^-kappa.

The reference comes from the linearization about the stable fixed point and from the tails: for a
bounded activation the drift is -Gamma h + O(1) far out, so the density's tails are those of the
Ornstein-Uhlenbeck process with A = -Gamma; S_ref is a common upper bound (in the Loewner order) of
the covariances, so that rho / w decays (it needs S_ref > S_tail / 2). :func:`refined` replaces the
linearization by the mean and covariance of the density computed on a first grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy

from ...errors import DerivationError
from ...network import NumericSRNN, stationary_covariance

__all__ = ["Reference", "Coordinates", "reference_law", "refined", "coordinates", "upper_bound",
           "noise_factor"]


@dataclass(frozen=True, slots=True)
class Reference:
    """A Gaussian N(centre, covariance) of h covering the density, and how it was found."""

    centre: numpy.ndarray
    covariance: numpy.ndarray
    tail: numpy.ndarray | None  # covariance of the tails (A = -Gamma), None for an affine drift
    relaxation_time: float
    source: str


@dataclass(frozen=True, slots=True)
class Coordinates:
    """h = centre + to_h @ z; the reference is N(0, diag(variances)) in z; box [-half, half] per axis."""

    centre: numpy.ndarray  # (n,)
    to_h: numpy.ndarray  # (n, n)
    to_z: numpy.ndarray  # (n, n)
    variances: numpy.ndarray  # (n,)
    half: numpy.ndarray  # (n,)
    kappa: float
    reference: Reference

    @property
    def n(self) -> int:
        return len(self.centre)

    def box_h(self) -> list[tuple[float, float]]:
        """The axis-aligned range in h covered by the (rotated) box, per hidden unit."""
        corners = numpy.abs(self.to_h) @ self.half
        return [(float(c - r), float(c + r)) for c, r in zip(self.centre, corners)]


def noise_factor(Sigma: numpy.ndarray) -> numpy.ndarray:
    """Lower Cholesky factor L of Sigma = L L^T; refuses a singular noise covariance."""
    eig = numpy.linalg.eigvalsh((Sigma + Sigma.T) / 2)
    if not numpy.all(numpy.isfinite(eig)) or eig[0] <= 1e-12 * max(eig[-1], 0.0):
        raise DerivationError("the grid engine needs noise on every direction: Sigma = sigma sigma^T is singular "
                              f"(eigenvalues {', '.join(f'{x:.3g}' for x in eig)}), so the Fokker-Planck operator "
                              "is not elliptic")
    return numpy.linalg.cholesky((Sigma + Sigma.T) / 2)


def upper_bound(first: numpy.ndarray, second: numpy.ndarray) -> numpy.ndarray:
    """A covariance >= both (Loewner order): max of the two in their common eigenbasis.

    >>> upper_bound(numpy.diag([1.0, 4.0]), numpy.diag([2.0, 1.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    L = numpy.linalg.cholesky(first)
    Li = numpy.linalg.inv(L)
    beta, Q = numpy.linalg.eigh(Li @ second @ Li.T)
    T = L @ Q
    out = T @ numpy.diag(numpy.maximum(beta, 1.0)) @ T.T
    return (out + out.T) / 2


def reference_law(net: NumericSRNN) -> Reference:
    """The reference Gaussian from the linearization (or the exact law of an affine drift) and the tails."""
    Sigma = net.sigma @ net.sigma.T
    if net.affine:
        return Reference(net.mu.copy(), net.S.copy(), None, net.relaxation_time, "exact Gaussian law (affine drift)")
    tail = stationary_covariance(-net.Gamma, Sigma)
    if net.S is not None:
        return Reference(net.mu.copy(), upper_bound(net.S, tail), tail, net.relaxation_time,
                         "linearization about the stable fixed point, widened to the tails (A = -Gamma)")
    centre = numpy.linalg.solve(net.Gamma, numpy.asarray(net.activation(net.b.copy()), dtype=float))
    return Reference(centre, tail, tail, net.relaxation_time, "tails of the drift (A = -Gamma): no stable fixed point")


def refined(reference: Reference, mean: numpy.ndarray, covariance: numpy.ndarray) -> Reference:
    """The reference re-centred on the computed density's mean, its covariance widened to the tails."""
    cov = (covariance + covariance.T) / 2
    if not numpy.all(numpy.isfinite(cov)) or numpy.linalg.eigvalsh(cov)[0] <= 0:
        raise DerivationError("the computed density has no positive definite covariance (the grid is too coarse "
                              "or the network has no invariant density)")
    if reference.tail is not None:
        cov = upper_bound(cov, reference.tail)
    return Reference(numpy.asarray(mean, dtype=float), cov, reference.tail, reference.relaxation_time,
                     "mean and covariance of the density on a first grid, widened to the tails")


def coordinates(reference: Reference, Sigma: numpy.ndarray, kappa: float) -> Coordinates:
    """Whitened principal coordinates of ``reference`` (module docstring) with w = e^-kappa at the walls."""
    if not numpy.all(numpy.isfinite(reference.centre)) or not numpy.all(numpy.isfinite(reference.covariance)):
        raise DerivationError("the reference law of the grid is not finite")
    L = noise_factor(Sigma)
    Li = numpy.linalg.inv(L)
    inner = Li @ reference.covariance @ Li.T
    variances, Q = numpy.linalg.eigh((inner + inner.T) / 2)
    if variances[0] <= 0:
        raise DerivationError("the reference covariance of the grid is not positive definite")
    # deterministic orientation: the largest entry of each axis positive
    signs = numpy.sign(Q[numpy.argmax(numpy.abs(Q), axis=0), numpy.arange(len(variances))])
    Q = Q * signs
    to_h = L @ Q
    to_z = Q.T @ Li
    half = numpy.sqrt(4 * kappa * variances)
    return Coordinates(reference.centre.copy(), to_h, to_z, variances, half, float(kappa), reference)
