"""Response feature: signature of the input lifted by a support basis (theory.md, section 6).

Given an input ``u: [0, T] -> R^m`` and a support basis ``psi = (psi_0, ..., psi_{d-1})``, the
feature path is

    X_t = int_0^t u_s (x) psi(s) ds  in R^(m d),   channel (k, j) -> k*d + j,

(input channel ``k`` outermost, basis function ``j`` innermost) and the response feature is its
truncated signature ``Phi(u) = S(X)_[0,T]`` in the layout of :mod:`volterra_sym.signature`.
If a kernel expands as ``R^(n)(T; s_1..s_n) = sum a_{(k1 j1)..(kn jn)} psi_j1(s_1)..psi_jn(s_n)``
(``s_1`` latest), its series term is ``<a^(n), S^(n)(X)>`` with the word reversed: the signature
lists the earliest time first.

Sampled inputs ``u`` of shape (T, m) are samples at ``t_i = i*dt`` and are read as piecewise
linear between samples, so ``X`` is smooth on every sample interval. Two routes compute
``Phi``:

- ``method="pwlinear"``: ``X`` is evaluated exactly (Gauss-Legendre) at the samples, refined
  `refine` times per interval, and pysiglib takes the signature of the polyline through those
  points. Fast; the error is O((dt/refine)^2).
- ``method="spectral"``: the signature of every interval is integrated spectrally (Picard
  levels on Chebyshev-Gauss-Lobatto nodes, see :func:`volterra_sym.signature.smooth_signature`)
  and the pieces are joined by Chen's identity. Accurate to about 1e-12 for the piecewise-linear
  input.

For a smooth input given as a callable, :func:`response_feature_callable` integrates over
[0, T] directly on a few global nodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..errors import InputError
from .basis import Basis, ExpPolyTerm, _check_basis, _check_real
from .signature import (
    FloatArray,
    _cgl_rule,
    _check_int,
    _check_nodes,
    _check_size,
    _chen_reduce,
    _picard_signature,
    sig_length,
    signature,
)

__all__ = [
    "Basis",
    "ExpPolyTerm",
    "MAX_RATE_HORIZON",
    "MAX_SAMPLES",
    "MAX_SAMPLE_ENTRIES",
    "check_horizon",
    "check_samples",
    "channel_index",
    "feature_path",
    "response_feature",
    "response_feature_callable",
]

def channel_index(k: int, j: int, d: int) -> int:
    """Channel of ``X`` holding ``int u^k psi_j``: ``k * d + j``.

    Examples
    --------
    >>> channel_index(1, 2, 3)
    5
    """
    return k * d + j


def _as_input(u: npt.ArrayLike, field: str = "u") -> FloatArray:
    try:
        arr = np.asarray(u)
    except (TypeError, ValueError) as err:
        raise InputError(f"not a numeric array ({err})", field=field) from err
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise InputError(f"must be a real numeric array, got dtype {arr.dtype}", field=field)
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim not in (2, 3):
        raise InputError(
            f"must have shape (T,), (T, m) or (B, T, m), got shape {arr.shape}", field=field
        )
    if arr.shape[-2] < 2 or arr.shape[-1] < 1:
        raise InputError(
            f"needs at least two samples and one channel, got shape {arr.shape}", field=field
        )
    if not np.all(np.isfinite(arr)):
        raise InputError("contains NaN or infinite values", field=field)
    return arr


def _check_dt(dt: object) -> float:
    out = _check_real(dt, "dt")
    if out <= 0:
        raise InputError(f"must be > 0, got {out}", field="dt")
    return out


_CHUNK_ENTRIES = 4_000_000
#: budgets, checked before any work: samples of a sampled input (pwlinear), samples x channels
MAX_SAMPLES = 10**6
MAX_SAMPLE_ENTRIES = 10**7
#: horizon x (1 + fastest basis rate) of the spectral integration (4 time units per panel, 256 panels)
MAX_RATE_HORIZON = 512.0
#: largest |psi_j(s)| on [0, T]: exp(r s) beyond it overflows the signature levels
MAX_BASIS_VALUE = 1e100


def check_samples(samples: int, channels: int) -> None:
    """Refuse more samples than :data:`MAX_SAMPLES`, or samples x channels above :data:`MAX_SAMPLE_ENTRIES`."""
    if samples > MAX_SAMPLES or samples * channels > MAX_SAMPLE_ENTRIES:
        raise InputError(f"{samples} samples x {channels} channel(s) exceed the budget ({MAX_SAMPLES:.0e} samples, "
                         f"{MAX_SAMPLE_ENTRIES:.0e} sample values); use the spectral method for long smooth inputs",
                         field="samples")


def check_horizon(horizon: float, basis: Basis) -> None:
    """Refuse a horizon the spectral integration cannot cover within its panel budget, or a basis
    whose functions overflow float64 on [0, T] (``exp(r s)`` with r T > ~230)."""
    rate = basis._max_rate()
    if horizon * (1.0 + rate) > MAX_RATE_HORIZON:
        raise InputError(f"T x (1 + fastest basis rate) = {horizon:g} x {1.0 + rate:g} exceeds {MAX_RATE_HORIZON:g} "
                         "(the panel budget of the spectral integration); shorten the horizon or the rates",
                         field="horizon")
    with np.errstate(all="ignore"):
        edge = np.abs(basis.evaluate(np.array([0.0, horizon])))
    if not np.all(np.isfinite(edge)) or edge.max() > MAX_BASIS_VALUE:
        raise InputError(f"a basis function reaches {float(np.nanmax(edge)) if np.any(np.isfinite(edge)) else float('inf'):.3g} "
                         f"on [0, {horizon:g}] (limit {MAX_BASIS_VALUE:.0e}): exp(r s) with r T this large overflows the "
                         "signature; lower the rates or the horizon", field="rates" if basis.kind == "exponential"
                         else "horizon")


def feature_path(u: npt.ArrayLike, dt: float, basis: Basis, *, refine: int = 1) -> FloatArray:
    """Samples of ``X_t = int_0^t u_s (x) psi(s) ds`` for a piecewise-linear input.

    Parameters
    ----------
    u : array_like, shape (T, m) or (B, T, m)
        Input samples at ``t_i = i*dt`` (shape (T,) means m = 1).
    dt : float
        Sample spacing.
    basis : Basis
    refine : int, default 1
        Points per sample interval.

    Returns
    -------
    numpy.ndarray, shape ((T-1)*refine + 1, m*d) or (B, ...)
        ``X`` at ``t = k * dt / refine``, channel ``(k, j) -> k*d + j``; exact up to rounding
        (Gauss-Legendre with enough nodes for the basis).
    """
    arr = _as_input(u)
    dt = _check_dt(dt)
    basis = _check_basis(basis)
    refine = _check_int(refine, "refine", 1)
    batched = arr.ndim == 3
    if not batched:
        arr = arr[None]
    n_b, n_t, m = arr.shape
    d = basis.size
    h = dt / refine
    x, w = np.polynomial.legendre.leggauss(basis._gauss_order(h, extra_degree=1))
    # theta: position inside the sample interval, in [0, 1]; one row per sub-interval.
    theta = ((np.arange(refine)[:, None] + 0.5 * (x[None, :] + 1.0)) / refine).ravel()
    n_seg = n_t - 1
    times = (np.arange(n_seg)[:, None] + theta[None, :]) * dt
    psi = basis.evaluate(times.ravel()).reshape(n_seg, refine, x.size, d) * (0.5 * h * w)[:, None]
    lo, hi = arr[:, :-1], arr[:, 1:]
    th = theta.reshape(refine, x.size)
    # sum_g w_g u(t_g) psi(t_g) with u linear: split into the two end samples' weights.
    p_lo = np.einsum("rq,irqd->ird", 1.0 - th, psi)
    p_hi = np.einsum("rq,irqd->ird", th, psi)
    incr = np.einsum("bim,ird->birmd", lo, p_lo) + np.einsum("bim,ird->birmd", hi, p_hi)
    incr = incr.reshape(n_b, n_seg * refine, m * d)
    out = np.concatenate([np.zeros((n_b, 1, m * d)), np.cumsum(incr, axis=1)], axis=1)
    return out if batched else out[0]


def response_feature(
    u: npt.ArrayLike,
    dt: float,
    basis: Basis,
    level: int,
    *,
    method: Literal["pwlinear", "spectral"] = "pwlinear",
    refine: int = 1,
    nodes: int | None = None,
    scalar_term: bool = False,
    n_jobs: int = 1,
) -> FloatArray:
    """Response feature ``Phi(u) = S(X)_[0,T]`` of a sampled input, truncated at `level`.

    Parameters
    ----------
    u : array_like, shape (T, m) or (B, T, m)
        Input samples at ``t_i = i*dt``, piecewise linear in between; ``T = (T-1)*dt``.
    dt : float
        Sample spacing.
    basis : Basis
        Support basis with ``d`` functions; ``X`` has ``D = m*d`` channels,
        ``(k, j) -> k*d + j``.
    level : int
        Truncation level ``N``.
    method : {"pwlinear", "spectral"}, default "pwlinear"
        ``"pwlinear"``: signature of the polyline through ``X`` at ``refine`` points per sample
        interval (error O((dt/refine)^2)). ``"spectral"``: signature of the smooth ``X`` on every
        sample interval (split into `refine` panels) by spectral integration on `nodes` CGL
        nodes, joined by Chen's identity; accurate to ~1e-12 when ``max|rate| * dt / refine``
        is O(1).
    refine : int, default 1
    nodes : int, optional
        CGL nodes per panel (spectral only). Default: enough for ~1e-14 relative accuracy per
        panel, from the level, the basis degree and ``max|rate| * dt / refine`` (capped at 64).
    scalar_term : bool, default False
    n_jobs : int, default 1
        pysiglib threads (pwlinear only).

    Returns
    -------
    numpy.ndarray, shape (L,) or (B, L)
        ``L = sig_length(m*d, level)`` (+1 with `scalar_term`).
    """
    level = _check_int(level, "level", 1)
    arr = _as_input(u)
    dt = _check_dt(dt)
    basis = _check_basis(basis)
    refine = _check_int(refine, "refine", 1)
    dim = arr.shape[-1] * basis.size
    _check_size(dim, level)
    if method == "pwlinear":
        check_samples(arr.shape[-2], dim)
        return signature(
            feature_path(arr, dt, basis, refine=refine),
            level,
            scalar_term=scalar_term,
            n_jobs=n_jobs,
        )
    if method != "spectral":
        raise InputError(f"must be 'pwlinear' or 'spectral', got {method!r}", field="method")
    nodes = _default_nodes(basis, level, dt / refine) if nodes is None else _check_nodes(nodes)
    batched = arr.ndim == 3
    if not batched:
        arr = arr[None]
    n_terms = sig_length(dim, level)
    per_input = (arr.shape[1] - 1) * refine * nodes * max(n_terms, dim * nodes)
    chunk = max(1, _CHUNK_ENTRIES // max(per_input, 1))
    sig = (
        np.concatenate(
            [
                _spectral_pieces(arr[i : i + chunk], dt, basis, level, refine, nodes)
                for i in range(0, arr.shape[0], chunk)
            ],
            axis=0,
        )
        if arr.shape[0]
        else np.zeros((0, n_terms))
    )
    if scalar_term:
        sig = np.concatenate([np.ones((sig.shape[0], 1)), sig], axis=-1)
    return sig if batched else sig[0]


def _default_nodes(basis: Basis, level: int, h: float) -> int:
    # Polynomial pieces: the level-N integrand has degree <= N*(degree+2) - 1 (u is linear).
    poly = level * (basis.degree + 2)
    # Exponential pieces: the integrand behaves like exp(c x) on [-1, 1] with c = N|rate|h/2;
    # Chebyshev interpolation error ~ (c/2)^q / q!.
    c = 0.5 * level * basis._max_rate() * h
    q = 0
    if c > 0:
        while q < 64 and q * math.log(c / 2) - math.lgamma(q + 1) > math.log(1e-14):
            q += 1
    return int(min(64, max(4, poly, q) + 2))


def _spectral_pieces(
    arr: FloatArray, dt: float, basis: Basis, level: int, refine: int, nodes: int
) -> FloatArray:
    n_b, n_t, m = arr.shape
    d = basis.size
    x, qmat = _cgl_rule(nodes)
    h = dt / refine
    theta = ((np.arange(refine)[:, None] + 0.5 * (x[None, :] + 1.0)) / refine).ravel()
    n_seg = n_t - 1
    times = (np.arange(n_seg)[:, None] + theta[None, :]) * dt
    psi = basis.evaluate(times.ravel()).reshape(n_seg, refine, nodes, d)
    th = theta.reshape(refine, nodes)
    u_nodes = (
        arr[:, :-1, None, None, :] * (1.0 - th)[None, None, :, :, None]
        + arr[:, 1:, None, None, :] * th[None, None, :, :, None]
    )
    vel = (u_nodes[..., :, None] * psi[None, :, :, :, None, :]).reshape(
        n_b, n_seg * refine, nodes, m * d
    )
    pieces = _picard_signature(vel * (0.5 * h), qmat, level)
    return _chen_reduce(pieces, m * d, level)


def response_feature_callable(
    u: Callable[[FloatArray], npt.ArrayLike] | Sequence[Callable[[FloatArray], npt.ArrayLike]],
    horizon: float,
    basis: Basis,
    level: int,
    *,
    nodes: int = 32,
    panels: int = 1,
    scalar_term: bool = False,
) -> FloatArray:
    """Response feature of a smooth input given as a callable on ``[0, horizon]``.

    The velocity ``X'(t) = u(t) (x) psi(t)`` is sampled at `nodes` Chebyshev-Gauss-Lobatto
    points per panel and the signature is integrated spectrally
    (:func:`volterra_sym.signature.smooth_signature`): geometric convergence in `nodes` for
    analytic inputs.

    Parameters
    ----------
    u : callable or sequence of callables
        ``u(t)`` for ``t`` of shape (n,) returns shape (n, m) or (n,) (m = 1). A sequence gives
        a batch.
    horizon : float
        ``T > 0``.
    basis : Basis
    level : int
    nodes : int, default 32
    panels : int, default 1
    scalar_term : bool, default False

    Returns
    -------
    numpy.ndarray, shape (L,) or (B, L)
    """
    level = _check_int(level, "level", 1)
    horizon = _check_real(horizon, "horizon")
    if horizon <= 0:
        raise InputError(f"must be > 0, got {horizon}", field="horizon")
    basis = _check_basis(basis)
    nodes = _check_nodes(nodes)
    panels = _check_int(panels, "panels", 1)
    funcs = [u] if callable(u) else list(u)
    if not funcs or not all(callable(f) for f in funcs):
        raise InputError("must be a callable or a non-empty sequence of callables", field="u")
    x, qmat = _cgl_rule(nodes)
    edges = np.linspace(0.0, horizon, panels + 1)
    half = 0.5 * (edges[1] - edges[0])
    times = (edges[:-1, None] + half * (x[None, :] + 1.0)).ravel()
    psi = basis.evaluate(times)
    vels = []
    for f in funcs:
        try:
            vals = np.asarray(f(times.copy()), dtype=np.float64)
        except InputError:
            raise
        except (TypeError, ValueError) as err:
            raise InputError(f"did not return a real array ({err})", field="u") from err
        if vals.ndim == 1:
            vals = vals[:, None]
        if vals.ndim != 2 or vals.shape[0] != times.size or vals.shape[1] < 1:
            raise InputError(
                f"u(t) for t of shape ({times.size},) must return shape ({times.size}, m),"
                f" got {vals.shape}",
                field="u",
            )
        if not np.all(np.isfinite(vals)):
            raise InputError("returned NaN or infinite values", field="u")
        vels.append((vals[:, :, None] * psi[:, None, :]).reshape(times.size, -1))
    if len({v.shape[1] for v in vels}) != 1:
        raise InputError("all inputs of a batch must have the same number of channels", field="u")
    dim = vels[0].shape[1]
    _check_size(dim, level)
    vel = np.stack(vels).reshape(len(vels), panels, nodes, dim) * half
    sig = _chen_reduce(_picard_signature(vel, qmat, level), dim, level)
    if scalar_term:
        sig = np.concatenate([np.ones((sig.shape[0], 1)), sig], axis=-1)
    return sig if not callable(u) else sig[0]
