"""Readout coefficients: the mean output as a linear functional of the response feature.

For the linear (Ornstein-Uhlenbeck) class the n-th kernel at observation time ``T`` is, as a
function of the perturbation times ``s_1 >= ... >= s_n`` (``s_1`` latest; theory.md 4),

    R^(n)_{q; k_1..k_n}(T; s_1..s_n) = sum_i M^(n)_{q, i_1..i_n} prod_j (e^{A(T - s_j)} C)_{i_j k_j}.

Expanding one factor in the support basis, ``e^{A(T-s)} C ~ sum_j G_j psi_j(s)``, i.e. with the
matrix ``B`` of shape (n_hidden, m*d), ``B[i, k*d + j] = (G_j)_{ik}``, gives

    a^(n)_{q; c_1..c_n}(T) = sum_i M^(n)_{q, i_1..i_n} B_{i_1 c_1} ... B_{i_n c_n},   c = k*d + j,

whose slot ``l`` belongs to the kernel's ``l``-th time ``s_l``. The signature of
``X_t = int_0^t u (x) psi`` lists the earliest time first, so the n-th series term pairs
``a^(n)`` with the signature *word reversed* (theory.md 6)::

    term_n = eps^n sum_c a^(n)_{c_1..c_n} S^(n)_{c_n..c_1}(X)      E y_T = <f> + sum_n term_n.

(For the OU class ``M^(n)`` is symmetric, hence so is ``a^(n)`` and the reversal is invisible;
:func:`signature_weights` still applies it, so that it is right for any coefficient tensor.)

How ``e^{A(T-s)} C`` is expanded (:func:`expand_propagator`):

- ``projection="lsq"`` (default): least-squares (L2) projection on ``[0, T]``, computed with
  Gauss-Legendre quadrature. Exact, up to rounding, for a spectral basis of ``A``
  (``e^{A(T-s)} = e^{AT} e^{-As}``); the L2-best approximation for monomials and Legendre
  polynomials of a given degree (the same function space, so the same value; Legendre is
  better conditioned), converging geometrically in the degree.
- ``projection="taylor"`` (monomials only): ``G_j = e^{AT} (-A)^j / j! C``, the Taylor
  polynomial of ``e^{-As}`` at ``s = 0``.

The relative L2 residual of the expansion is recorded as the projection error.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import InputError
from ..classes.ou.evaluate import NumericKernels
from .feature import Basis, _check_basis, _check_real, check_horizon, response_feature_callable
from ..propagator import expm
from .signature import FloatArray, _check_int, _check_size, sig_length

__all__ = [
    "PropagatorExpansion",
    "Readout",
    "Representation",
    "expand_propagator",
    "readout_coefficients",
    "represent",
    "signature_weights",
    "smooth_feature",
]

Projection = Literal["lsq", "taylor"]
#: largest input amplitude (eps^level must stay far from overflow)
MAX_EPS = 1e100


@dataclass(frozen=True, slots=True)
class PropagatorExpansion:
    """``e^{A(T-s)} C ~ sum_j G_j psi_j(s)`` on ``[0, T]``, flattened to ``B``.

    Attributes
    ----------
    matrix : numpy.ndarray
        Shape ``(n_hidden, m*d)``: ``B[i, k*d + j] = (G_j)_{ik}`` (channel layout of
        :func:`volterra_sym.features.feature.channel_index`).
    residual : float
        Relative L2 residual on ``[0, T]``: ``||e^{A(T-.)}C - sum_j G_j psi_j|| / ||e^{A(T-.)}C||``.
    projection : str
        ``"lsq"`` or ``"taylor"``.
    """

    matrix: FloatArray
    residual: float
    projection: str


def _quadrature_points(A: FloatArray, basis: Basis, horizon: float) -> int:
    # Enough Gauss-Legendre points to integrate products of e^{A(T-s)} with the basis functions
    # (polynomial degree d, exponential rates up to |A| + the basis's rates) to rounding.
    rate = float(np.abs(np.linalg.eigvals(A)).max()) + basis._max_rate()
    return int(min(400, max(64, 2 * basis.degree + 2 * basis.size + math.ceil(4 * rate * horizon) + 24)))


def expand_propagator(
    A: npt.ArrayLike,
    C: npt.ArrayLike,
    horizon: float,
    basis: Basis,
    *,
    projection: Projection = "lsq",
) -> PropagatorExpansion:
    """Expand ``e^{A(T-s)} C`` in the support basis on ``[0, T]``.

    Parameters
    ----------
    A : array_like, shape (n, n)
        Drift matrix of the OU network.
    C : array_like, shape (n, m)
        Input weights.
    horizon : float
        Observation time ``T > 0``.
    basis : Basis
    projection : {"lsq", "taylor"}, default "lsq"
        See the module docstring; ``"taylor"`` needs a monomial basis.

    Returns
    -------
    PropagatorExpansion
    """
    A_arr = np.asarray(A, dtype=np.float64)
    C_arr = np.asarray(C, dtype=np.float64)
    if A_arr.ndim != 2 or A_arr.shape[0] != A_arr.shape[1] or C_arr.ndim != 2 or C_arr.shape[0] != A_arr.shape[0]:
        raise InputError(f"need A (n, n) and C (n, m), got {A_arr.shape} and {C_arr.shape}", field="A")
    horizon = _check_horizon(horizon)
    basis = _check_basis(basis)
    n, m = C_arr.shape
    d = basis.size
    x, w = np.polynomial.legendre.leggauss(_quadrature_points(A_arr, basis, horizon))
    s = 0.5 * horizon * (x + 1.0)
    w = 0.5 * horizon * w
    target = (expm((horizon - s)[:, None, None] * A_arr) @ C_arr).reshape(s.size, n * m)
    psi = basis.evaluate(s)
    if projection == "lsq":
        sw = np.sqrt(w)[:, None]
        design = psi * sw
        scale = np.linalg.norm(design, axis=0)
        scale[scale == 0] = 1.0
        coef = np.linalg.lstsq(design / scale, target * sw, rcond=None)[0] / scale[:, None]
    elif projection == "taylor":
        if basis.kind != "monomial":
            raise InputError(f"the Taylor expansion needs a monomial basis, not {basis.kind!r}",
                             field="projection")
        power = expm(horizon * A_arr) @ C_arr
        rows = []
        for j in range(d):
            rows.append(power.ravel())
            power = -A_arr @ power / (j + 1)
        coef = np.array(rows)
    else:
        raise InputError(f"must be 'lsq' or 'taylor', got {projection!r}", field="projection")
    fit = psi @ coef
    norm = math.sqrt(float(w @ (target**2).sum(axis=1)))
    residual = math.sqrt(float(w @ ((target - fit) ** 2).sum(axis=1))) / max(norm, 1e-300)
    # coef[j, i*m + k] = (G_j)_{ik}  ->  B[i, k*d + j]
    matrix = coef.reshape(d, n, m).transpose(1, 2, 0).reshape(n, m * d)
    return PropagatorExpansion(np.ascontiguousarray(matrix), residual, projection)


def signature_weights(coefficients: Sequence[npt.ArrayLike], eps: float = 1.0) -> FloatArray:
    """Flat signature-layout weights of coefficient tensors given in kernel slot order.

    Parameters
    ----------
    coefficients : sequence of array_like
        ``coefficients[n-1]`` has shape (p,) + (D,)*n (or (D,)*n for one output); axis ``l`` of
        the trailing block is the kernel's ``l``-th slot, slot 1 being the *latest* time.
    eps : float, default 1
        Level ``n`` is multiplied by ``eps^n``.

    Returns
    -------
    numpy.ndarray, shape (p, L)
        ``L = D + ... + D^N``; level ``n`` holds ``eps^n a^(n)`` with its word reversed, so that
        ``weights @ Phi`` with the signature ``Phi`` of :mod:`volterra_sym.signature` (earliest
        index first) is ``sum_n eps^n <a^(n), S^(n)>`` in the kernel's time order.

    Examples
    --------
    >>> a2 = np.zeros((2, 2)); a2[0, 1] = 1.0   # slot 1 (latest) on channel 0
    >>> signature_weights([np.zeros(2), a2]).tolist()
    [[0.0, 0.0, 0.0, 0.0, 1.0, 0.0]]
    """
    eps = _check_real(eps, "eps")
    parts = []
    single = None
    for n, tensor in enumerate(coefficients, start=1):
        arr = np.asarray(tensor, dtype=np.float64)
        if single is None:
            single = arr.ndim == n
        if arr.ndim != n + (0 if single else 1) or len(set(arr.shape[arr.ndim - n :])) > 1:
            raise InputError(f"level {n} must have shape (p,) + (D,)*{n} or (D,)*{n}, got {arr.shape}",
                             field="coefficients")
        if single:
            arr = arr[None]
        reversed_word = np.transpose(arr, (0,) + tuple(range(n, 0, -1)))
        parts.append(eps**n * reversed_word.reshape(arr.shape[0], -1))
    if not parts:
        raise InputError("give at least one level", field="coefficients")
    return np.concatenate(parts, axis=1)


@dataclass(frozen=True, slots=True)
class Readout:
    """The readout functional ``E y_T = <f> + sum_n eps^n <a^(n)(T), S^(n)(X)>`` (word reversed).

    Attributes
    ----------
    constant : numpy.ndarray, shape (p,)
        ``<f>_inf``.
    coefficients : tuple of numpy.ndarray
        ``a^(n)(T)``, ``n = 1..level``, shape (p,) + (m*d,)*n, in kernel slot order (module
        docstring). Exactly zero above the readout's polynomial degree.
    basis : Basis
    horizon : float
    n_inputs : int
    expansion : PropagatorExpansion
    degree : int or None
        Polynomial degree of the readout (None: not a polynomial; the series does not end).
    """

    constant: FloatArray
    coefficients: tuple[FloatArray, ...]
    basis: Basis
    horizon: float
    n_inputs: int
    expansion: PropagatorExpansion
    degree: int | None

    @property
    def level(self) -> int:
        return len(self.coefficients)

    @property
    def dim(self) -> int:
        """Feature path dimension ``D = m * d``."""
        return self.n_inputs * self.basis.size

    @property
    def feature_size(self) -> int:
        return sig_length(self.dim, self.level)

    def weights(self, eps: float) -> FloatArray:
        """Weights of shape (p, feature_size) in signature layout (see :func:`signature_weights`)."""
        return signature_weights(self.coefficients, eps)

    def terms(self, feature: npt.ArrayLike, eps: float) -> FloatArray:
        """Series terms ``0..level`` of shape (level + 1, p), or (B, level + 1, p) for a batch."""
        phi = np.asarray(feature, dtype=np.float64)
        if phi.shape[-1] != self.feature_size or phi.ndim not in (1, 2):
            raise InputError(f"must have shape ({self.feature_size},) or (B, {self.feature_size}) (no scalar"
                             f" term), got {phi.shape}", field="feature")
        w = self.weights(eps)
        out, start = [np.broadcast_to(self.constant, phi.shape[:-1] + self.constant.shape)], 0
        for n in range(1, self.level + 1):
            size = self.dim**n
            out.append(phi[..., start : start + size] @ w[:, start : start + size].T)
            start += size
        return np.stack(out, axis=-2)

    def evaluate(self, feature: npt.ArrayLike, eps: float) -> FloatArray:
        """``E y_T`` of shape (p,), or (B, p), from response features (no scalar term)."""
        return self.terms(feature, eps).sum(axis=-2)


def readout_coefficients(
    nk: NumericKernels,
    horizon: float,
    basis: Basis,
    level: int,
    *,
    projection: Projection = "lsq",
) -> Readout:
    """Readout coefficients ``a^(n)(T)``, ``n = 1..level``, of a linear-class derivation.

    Parameters
    ----------
    nk : NumericKernels
        Derived at an order of at least ``min(level, readout degree)``.
    horizon : float
        Observation time ``T``.
    basis : Basis
        Support basis shared by all input channels.
    level : int
        Truncation level ``N``.
    projection : {"lsq", "taylor"}, default "lsq"
        How ``e^{A(T-s)} C`` is expanded (module docstring).

    Returns
    -------
    Readout
    """
    level = _check_int(level, "level", 1)
    horizon = _check_horizon(horizon)
    basis = _check_basis(basis)
    degree = nk.kset.degree
    needed = level if degree is None else min(level, degree)
    if nk.order < needed:
        raise InputError(f"level {level} needs kernels up to order {needed}; the derivation stops at"
                         f" {nk.order} (derive with order={needed})", field="level")
    m = nk.C.shape[1]
    dim = m * basis.size
    _check_size(dim, level)
    expansion = expand_propagator(nk.A, nk.C, horizon, basis, projection=projection)
    B = expansion.matrix
    p = nk.moments[0].shape[0]
    coefficients = []
    for n in range(1, level + 1):
        if n > needed:
            coefficients.append(np.zeros((p,) + (dim,) * n))
            continue
        tensor = nk.moments[n]
        # contract every hidden axis with B; each tensordot moves the new channel axis to the end,
        # so after n steps the axes are back in slot order 1..n
        for _ in range(n):
            tensor = np.tensordot(tensor, B, axes=([1], [0]))
        coefficients.append(np.ascontiguousarray(tensor))
    return Readout(
        constant=np.array(nk.moments[0], dtype=np.float64),
        coefficients=tuple(coefficients),
        basis=basis,
        horizon=horizon,
        n_inputs=m,
        expansion=expansion,
        degree=degree,
    )


def smooth_feature(
    u: Callable[[FloatArray], npt.ArrayLike],
    horizon: float,
    basis: Basis,
    level: int,
    *,
    nodes: int = 40,
    tol: float = 1e-12,
    max_panels: int = 256,
) -> tuple[FloatArray, float]:
    """Response feature of a smooth input callable, with panels doubled until converged.

    Calls :func:`volterra_sym.feature.response_feature_callable` with ``P`` and ``2P`` panels of
    `nodes` Chebyshev nodes (``P`` starting from the horizon and the basis's rates) until the
    two agree to `tol` relative to the largest entry.

    Returns
    -------
    feature : numpy.ndarray, shape (L,)
        The finer of the last two.
    error : float
        Max-norm difference of the last two (an estimate of the coarser one's error).
    """
    horizon = _check_horizon(horizon)
    check_horizon(horizon, basis)
    panels = max(1, math.ceil(horizon * (1.0 + basis._max_rate()) / 4.0))
    coarse = response_feature_callable(u, horizon, basis, level, nodes=nodes, panels=panels)
    while True:
        fine = response_feature_callable(u, horizon, basis, level, nodes=nodes, panels=2 * panels)
        error = float(np.abs(fine - coarse).max())
        if error <= tol * max(1.0, float(np.abs(fine).max())) or 2 * panels >= max_panels:
            if error > tol * max(1.0, float(np.abs(fine).max())):
                warnings.warn(f"response feature converged only to {error:.2g} with {2 * panels} panels",
                              RuntimeWarning, stacklevel=2)
            return fine, error
        panels *= 2
        coarse = fine


@dataclass(frozen=True, slots=True)
class Representation:
    """``E y_T`` from the response feature: value, per-level terms, feature size, truncation."""

    value: FloatArray
    terms: FloatArray
    feature_size: int
    truncation: Mapping[str, Any] = field(default_factory=dict)


def represent(
    nk: NumericKernels,
    u: Callable[[FloatArray], npt.ArrayLike],
    horizon: float,
    eps: float,
    basis: Basis,
    level: int,
    *,
    projection: Projection = "lsq",
    nodes: int = 40,
    tol: float = 1e-12,
) -> Representation:
    """Mean output ``E y_T`` as ``<l, Phi(u)>`` for a smooth input callable ``u``.

    Parameters
    ----------
    nk : NumericKernels
    u : callable
        ``u(t)`` for ``t`` of shape (n,) returns shape (n, m).
    horizon, eps : float
        Observation time ``T`` and input amplitude.
    basis : Basis
    level : int
    projection : {"lsq", "taylor"}
    nodes, tol :
        Feature integration, see :func:`smooth_feature`.

    Returns
    -------
    Representation
        ``truncation`` lists the level, the basis, the projection residual, the feature's error
        estimate and, under ``"neglected"``, what the value leaves out.
    """
    eps = _check_real(eps, "eps")
    if abs(eps) > MAX_EPS:
        raise InputError(f"|eps| = {abs(eps):g} exceeds {MAX_EPS:g}", field="eps")
    check_horizon(_check_horizon(horizon), basis)
    readout = readout_coefficients(nk, horizon, basis, level, projection=projection)
    feature, feature_error = smooth_feature(u, horizon, basis, level, nodes=nodes, tol=tol)
    terms = readout.terms(feature, eps)
    neglected = []
    if readout.degree is None:
        neglected.append(f"series orders above {level}: O(eps^{level + 1})")
    elif readout.degree > level:
        orders = f" {level + 1}" if readout.degree == level + 1 else f"s {level + 1}..{readout.degree}"
        neglected.append(f"series order{orders} (the readout has degree {readout.degree})")
    if readout.expansion.residual > 1e-12:
        neglected.append(
            f"the residual of e^(A(T-s)) C in the {basis.kind} basis (relative L2 {readout.expansion.residual:.2e})"
        )
    truncation = {
        "level": level,
        "basis": {"kind": basis.kind, "size": basis.size, "degree": basis.degree, "repr": repr(basis),
                  "labels": list(basis.labels)},
        "projection": projection,
        "projection_residual": readout.expansion.residual,
        "readout_degree": readout.degree,
        "feature_error_estimate": feature_error,
        "neglected": neglected,
    }
    return Representation(terms.sum(axis=0), terms, readout.feature_size, truncation)


def _check_horizon(horizon: object) -> float:
    value = _check_real(horizon, "horizon")
    if value <= 0:
        raise InputError(f"must be > 0, got {value}", field="horizon")
    return value
