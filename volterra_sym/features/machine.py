"""Signature kernel machine on response features (theory.md, section 6).

Kernels between inputs ``u``, ``v`` (sampled at spacing ``dt``, piecewise linear) through their
feature paths ``X^u_t = int_0^t u_s (x) psi(s) ds``:

- truncated: ``K_N(u, v) = sum_{n=0}^{N} w_n <S^(n)(X^u), S^(n)(X^v)>`` with ``w_n = eps^(2n)``
  by default (level 0 contributes ``w_0``), i.e. ``<Phi_eps(u), Phi_eps(v)>`` for the features
  of the scaled paths ``eps X``;
- untruncated (``N = infinity``, ``w_n = eps^(2n)``): ``kappa(T_u, T_v)`` where

      d_s d_r kappa(s, r) = eps^2 <u_s, v_r> <psi(s), psi(r)> kappa(s, r),
      kappa(0, .) = kappa(., 0) = 1,

  solved by :func:`goursat_gram` with a second-order finite-difference scheme.

``SignatureKernelRidge`` (:mod:`.estimator`, needs scikit-learn) is kernel ridge regression on
these Gram matrices.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import InputError
from .feature import (
    Basis,
    _as_input,
    _check_basis,
    _check_dt,
    _check_real,
    feature_path,
    response_feature,
)
from .signature import FloatArray, _check_int, _check_size

__all__ = [
    "level_weights",
    "feature_gram",
    "truncated_gram",
    "truncated_kernel",
    "goursat_gram",
    "goursat_kernel",
]

# Entries of the finite-difference grid held at once (pairs x (Ns+1) x (Nr+1)).
_GRID_ENTRIES = 4_000_000


def level_weights(level: int, eps: float = 1.0) -> FloatArray:
    """Per-level kernel weights ``w_n = eps^(2n)``, ``n = 0..level``.

    Examples
    --------
    >>> level_weights(3, 0.5).tolist()
    [1.0, 0.25, 0.0625, 0.015625]
    """
    level = _check_int(level, "level", 1)
    eps = _check_real(eps, "eps")
    return float(eps) ** (2 * np.arange(level + 1, dtype=np.float64))


def _resolve_weights(level: int, eps: float | None, weights: npt.ArrayLike | None) -> FloatArray:
    if weights is None:
        return level_weights(level, 1.0 if eps is None else eps)
    if eps is not None:
        raise InputError("give either eps or weights, not both", field="weights")
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"not a real array ({err})", field="weights") from err
    if w.shape != (level + 1,):
        raise InputError(
            f"needs one weight per level 0..{level}, shape ({level + 1},); got {w.shape}",
            field="weights",
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InputError(f"must be finite and >= 0, got {w.tolist()}", field="weights")
    return w


def feature_gram(
    features: npt.ArrayLike,
    other: npt.ArrayLike | None = None,
    *,
    dim: int,
    level: int,
    eps: float | None = None,
    weights: npt.ArrayLike | None = None,
) -> FloatArray:
    """Weighted Gram matrix of precomputed truncated signatures.

    Parameters
    ----------
    features : array_like, shape (B1, L)
        Signatures without scalar term (``L = sig_length(dim, level)``).
    other : array_like, shape (B2, L), optional
        Second batch; default `features` (the result is then exactly symmetric).
    dim, level : int
        Path dimension and truncation level of the features.
    eps : float, optional
        ``w_n = eps^(2n)``; default 1.
    weights : array_like, shape (level + 1,), optional
        Explicit ``w_0..w_N`` instead of `eps`.

    Returns
    -------
    numpy.ndarray, shape (B1, B2)
        ``K_ab = w_0 + sum_n w_n <F_a^(n), G_b^(n)>``.
    """
    dim = _check_int(dim, "dim", 1)
    level = _check_int(level, "level", 1)
    _check_size(dim, level)
    w = _resolve_weights(level, eps, weights)
    n_terms = sum(dim**n for n in range(1, level + 1))
    scale = np.concatenate([np.full(dim**n, np.sqrt(w[n])) for n in range(1, level + 1)])
    left = _as_features(features, n_terms, "features") * scale
    if other is None:
        gram = left @ left.T
        gram = 0.5 * (gram + gram.T)
    else:
        gram = left @ (_as_features(other, n_terms, "other") * scale).T
    return gram + w[0]


def _as_features(features: npt.ArrayLike, n_terms: int, field: str) -> FloatArray:
    try:
        arr = np.asarray(features, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError(f"not a real array ({err})", field=field) from err
    if arr.ndim != 2 or arr.shape[1] != n_terms:
        raise InputError(
            f"must have shape (B, {n_terms}) (signatures without scalar term), got {arr.shape}",
            field=field,
        )
    if not np.all(np.isfinite(arr)):
        raise InputError("contains NaN or infinite values", field=field)
    return arr


def _as_batch(u: npt.ArrayLike, field: str) -> FloatArray:
    arr = _as_input(u, field)
    if arr.ndim != 3:
        raise InputError(
            f"must be a batch of shape (B, T, m), got {np.shape(u)}; add a channel axis"
            " (x[..., None]) for one-channel signals, or a batch axis (x[None]) for one input",
            field=field,
        )
    return arr


def truncated_gram(
    inputs: npt.ArrayLike,
    other: npt.ArrayLike | None = None,
    *,
    dt: float,
    basis: Basis,
    level: int,
    eps: float | None = None,
    weights: npt.ArrayLike | None = None,
    method: Literal["pwlinear", "spectral"] = "pwlinear",
    refine: int = 1,
    nodes: int | None = None,
) -> FloatArray:
    """Gram matrix of the truncated signature kernel of response features.

    Parameters
    ----------
    inputs : array_like, shape (B1, T1, m)
        Sampled inputs (see :func:`volterra_sym.feature.response_feature`).
    other : array_like, shape (B2, T2, m), optional
        Default `inputs` (symmetric result).
    dt : float
    basis : Basis
    level : int
    eps, weights :
        Level weights, see :func:`feature_gram`.
    method, refine, nodes :
        Feature route, see :func:`volterra_sym.feature.response_feature`.

    Returns
    -------
    numpy.ndarray, shape (B1, B2)
    """
    level = _check_int(level, "level", 1)
    basis = _check_basis(basis)
    left = _as_batch(inputs, "inputs")
    dim = left.shape[-1] * basis.size
    kw: dict[str, Any] = {"method": method, "refine": refine, "nodes": nodes}
    f_left = response_feature(left, dt, basis, level, **kw)
    f_right = None
    if other is not None:
        right = _as_batch(other, "other")
        if right.shape[-1] != left.shape[-1]:
            raise InputError(
                f"has {right.shape[-1]} channels, inputs have {left.shape[-1]}", field="other"
            )
        f_right = response_feature(right, dt, basis, level, **kw)
    return feature_gram(f_left, f_right, dim=dim, level=level, eps=eps, weights=weights)


def truncated_kernel(
    u: npt.ArrayLike, v: npt.ArrayLike, *, dt: float, basis: Basis, level: int, **kwargs: Any
) -> float:
    """``K_N(u, v)`` for two inputs of shape (T, m); keywords as in :func:`truncated_gram`."""
    u_arr, v_arr = _as_input(u, "u"), _as_input(v, "v")
    if u_arr.ndim != 2 or v_arr.ndim != 2:
        raise InputError(
            "u and v must each have shape (T, m); use truncated_gram for batches", field="u"
        )
    return float(
        truncated_gram(u_arr[None], v_arr[None], dt=dt, basis=basis, level=level, **kwargs)[0, 0]
    )


def goursat_gram(
    inputs: npt.ArrayLike,
    other: npt.ArrayLike | None = None,
    *,
    dt: float,
    basis: Basis,
    eps: float = 1.0,
    refine: int = 1,
) -> FloatArray:
    """Gram matrix of the untruncated kernel by the Goursat PDE.

    The grid has `refine` cells per sample interval in each direction. On cell ``(i, j)`` the
    coefficient is integrated exactly, ``a_ij = eps^2 <dX^u_i, dX^v_j>`` (``dX`` = increments
    of the feature path over the cell), and the update is the second-order scheme

        k[i+1,j+1] = (k[i+1,j] + k[i,j+1]) (1 + a/2 + a^2/12) - k[i,j] (1 - a^2/12),

    obtained from the exact solution for a constant coefficient on the cell. The error is
    O((dt/refine)^2).

    Parameters
    ----------
    inputs : array_like, shape (B1, T1, m)
    other : array_like, shape (B2, T2, m), optional
        Default `inputs`; only the upper triangle is solved and the result is symmetric.
    dt : float
    basis : Basis
    eps : float, default 1
    refine : int, default 1

    Returns
    -------
    numpy.ndarray, shape (B1, B2)
    """
    basis = _check_basis(basis)
    eps = _check_real(eps, "eps")
    dt = _check_dt(dt)
    refine = _check_int(refine, "refine", 1)
    left = _as_batch(inputs, "inputs")
    dx = np.diff(feature_path(left, dt, basis, refine=refine), axis=1) * eps
    if other is None:
        rows, cols = np.triu_indices(left.shape[0])
        dy = dx
    else:
        right = _as_batch(other, "other")
        if right.shape[-1] != left.shape[-1]:
            raise InputError(
                f"has {right.shape[-1]} channels, inputs have {left.shape[-1]}", field="other"
            )
        dy = np.diff(feature_path(right, dt, basis, refine=refine), axis=1) * eps
        rows, cols = (g.ravel() for g in np.indices((left.shape[0], right.shape[0])))
    values = np.empty(rows.size)
    per_pair = (dx.shape[1] + 1) * (dy.shape[1] + 1)
    chunk = max(1, _GRID_ENTRIES // per_pair)
    for start in range(0, rows.size, chunk):
        sl = slice(start, start + chunk)
        values[sl] = _goursat_solve(dx[rows[sl]], dy[cols[sl]])
    gram = np.empty((left.shape[0], left.shape[0] if other is None else dy.shape[0]))
    gram[rows, cols] = values
    if other is None:
        gram[cols, rows] = values
    return gram


def _goursat_solve(dx: FloatArray, dy: FloatArray) -> FloatArray:
    """Terminal values of the Goursat problem for pairs of increment sequences.

    dx: (P, Ns, D), dy: (P, Nr, D). The recursion runs over anti-diagonals ``i + j = const``,
    whose cells are independent, vectorised over pairs and cells.
    """
    n_p, n_s, _ = dx.shape
    n_r = dy.shape[1]
    a = np.einsum("pid,pjd->pij", dx, dy)
    c1 = 1.0 + 0.5 * a + a * a / 12.0
    c0 = 1.0 - a * a / 12.0
    kappa = np.ones((n_p, n_s + 1, n_r + 1))
    for diag in range(n_s + n_r - 1):
        i = np.arange(max(0, diag - n_r + 1), min(n_s - 1, diag) + 1)
        j = diag - i
        kappa[:, i + 1, j + 1] = (kappa[:, i + 1, j] + kappa[:, i, j + 1]) * c1[:, i, j] - kappa[
            :, i, j
        ] * c0[:, i, j]
    return kappa[:, -1, -1]


def goursat_kernel(
    u: npt.ArrayLike,
    v: npt.ArrayLike,
    *,
    dt: float,
    basis: Basis,
    eps: float = 1.0,
    refine: int = 1,
) -> float:
    """Untruncated kernel ``kappa(T_u, T_v)`` of two inputs of shape (T, m); see
    :func:`goursat_gram`."""
    u_arr, v_arr = _as_input(u, "u"), _as_input(v, "v")
    if u_arr.ndim != 2 or v_arr.ndim != 2:
        raise InputError(
            "u and v must each have shape (T, m); use goursat_gram for batches", field="u"
        )
    return float(
        goursat_gram(u_arr[None], v_arr[None], dt=dt, basis=basis, eps=eps, refine=refine)[0, 0]
    )
