"""The input inside the activation in the spectral eigenbasis (theory.md 7).

With dh = (-Gamma h + a(W h + b + eps C u_t)) dt + s dB the driven generator is
L0 + sum_j eps^j L_j(u_t), L_j(u) g = sum_i c_{j,i}(h) (C u)_i^j d_i g with c_{j,i} = a^(j)(z_i)/j!,
z = W h + b. In the eigenbasis g_a = phi_a / phi_0 of L0 (:mod:`.spectral`) the matrix of
v . grad, for a vector field v, is

    <g_a, v . grad g_b>_rho = int phi_a sum_i v_i (d_i phi_b - phi_b F_i / s^2) dh,

so a row vector z of mode coefficients is mapped to (z M)_b = dh sum_i ((phi z) v_i) . G_i[:, b] with
G_i = d_i phi - phi F_i / s^2 on the collocation grid. :class:`InsideInput` keeps phi, G_i and the
grid values of z and a; the series filters and the exact driven mean use the grid form (cost
O(n N^n K) per application), contact kernels the matrices L_{j;k_1..k_j} (built once per j).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy

__all__ = ["InsideInput", "apply_order", "apply_exact", "contact_matrices", "unit_matrices", "MAX_CONTACT_ORDER"]

MAX_CONTACT_ORDER = 6


@dataclass(frozen=True, slots=True)
class InsideInput:
    """Grid data of the input-inside-the-activation operators of one representation.

    ``phi`` (G, K) the modes on the grid (normalised, times sqrt(dh) folded into ``dx``), ``G``
    (n, G, K), ``z`` (n, G) = W h + b, ``coefficients[j - 1]`` (n, G) = a^(j)(z)/j! for
    j = 1..order, ``activation`` the numeric a (complex arguments allowed), ``C`` (n, m).
    """

    phi: numpy.ndarray
    G: numpy.ndarray
    z: numpy.ndarray
    coefficients: tuple[numpy.ndarray, ...]
    activation: Callable[[numpy.ndarray], numpy.ndarray]
    C: numpy.ndarray
    dx: float

    def truncated(self, keep: int) -> InsideInput:
        return InsideInput(self.phi[:, :keep], self.G[:, :, :keep], self.z, self.coefficients, self.activation,
                           self.C, self.dx)


def _times_real(a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
    """a @ b for a real b: a complex a by its real and imaginary parts (NumPy's mixed product is ~30x slower)."""
    if numpy.iscomplexobj(a):
        return (a.real @ b) + 1j * (a.imag @ b)
    return a @ b


def _field_action(inside: InsideInput, rows: numpy.ndarray, field: numpy.ndarray) -> numpy.ndarray:
    """rows (R, K) times the matrix of sum_i field_i(h) d_i: field (n, G) (real or complex)."""
    values = _times_real(rows, inside.phi.T)  # (R, G)
    out = 0
    for i in range(field.shape[0]):
        out = out + _times_real(values * field[i], inside.G[i])
    return out * inside.dx


def apply_order(inside: InsideInput, rows: numpy.ndarray, j: int, u: numpy.ndarray) -> numpy.ndarray:
    """rows (R, K) times the matrix of L_j(u) for one input value u (m,)."""
    drive = inside.C @ u  # (n,)
    return _field_action(inside, rows, inside.coefficients[j - 1] * (drive**j)[:, None])


def apply_exact(inside: InsideInput, rows: numpy.ndarray, eps: complex, u: numpy.ndarray) -> numpy.ndarray:
    """rows times the matrix of the whole perturbation (a(z + eps C u) - a(z)) . grad, all orders in eps."""
    shift = eps * (inside.C @ u)  # (n,)
    field = inside.activation(inside.z + shift[:, None]) - inside.activation(inside.z)
    return _field_action(inside, rows, field)


def unit_matrices(inside: InsideInput, j: int) -> numpy.ndarray:
    """The matrices of c_{j,i}(h) d_i g, one per unit i: shape (n, K, K)."""
    n = inside.C.shape[0]
    return numpy.stack([inside.phi.T @ (inside.coefficients[j - 1][i][:, None] * inside.G[i]) * inside.dx
                        for i in range(n)])


def contact_matrices(inside: InsideInput, j: int) -> numpy.ndarray:
    """The matrices of L_{j;k_1..k_j} g = sum_i c_{j,i} C_{i k_1} ... C_{i k_j} d_i g, shape (m^j, K, K),
    multi-index (k_1..k_j) in row-major order."""
    n, m = inside.C.shape
    K = inside.phi.shape[1]
    per_unit = unit_matrices(inside, j)  # (n, K, K)
    weights = numpy.array([[math.prod(inside.C[i, k] for k in ks) for ks in itertools.product(range(m), repeat=j)]
                           for i in range(n)])  # (n, m^j)
    return numpy.einsum("iM,iab->Mab", weights, per_unit).reshape(m**j, K, K)
