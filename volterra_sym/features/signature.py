"""Truncated path signatures.

Conventions (identical to iisignature and pysiglib)
---------------------------------------------------
For a path ``X: [0, t] -> R^D`` the level-``n`` signature term is

    S^(n)_{a1..an} = int_{0 < r1 < ... < rn < t} dX^{a1}_{r1} ... dX^{an}_{rn}

with the *first* index at the *earliest* time. A truncated signature is stored flat, levels
``1..N`` concatenated, each level in lexicographic word order: the word ``(a1, ..., an)`` sits at
offset ``a1 D^(n-1) + ... + an`` inside its level. The leading scalar term ``1`` is included only
on request (``scalar_term=True``)::

    [ (1) | S^(1)_0 .. S^(1)_{D-1} | S^(2)_00 S^(2)_01 .. | ... | S^(N)_{..} ]

Routes
------
- :func:`signature`: sampled path, read as piecewise linear (exact). Computed by pysiglib (C++)
  when the ``[signature]`` extra is installed, otherwise by a vectorised NumPy Chen reduction
  (same numbers up to rounding, several times slower on long paths); see :func:`signature_backend`.
- :func:`smooth_signature`: a path given by its velocity ``X'(r)``; spectral integration on
  Chebyshev-Gauss-Lobatto nodes, level by level (see :func:`smooth_signature`). Pure NumPy.
- :func:`signature_reference`: a short pure-NumPy Chen recursion, kept as the reference for tests.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from numpy.polynomial import chebyshev as _cheb

from ..errors import InputError
from .chen import SIGNATURE_HINT, _chen_reduce, _combine, _numpy_signature, _outer, _pysiglib, signature_backend

__all__ = [
    "MAX_SIG_LENGTH",
    "sig_length",
    "signature",
    "signature_reference",
    "chen_product",
    "smooth_signature",
    "signature_backend",
    "SIGNATURE_HINT",
]

FloatArray = npt.NDArray[np.float64]

MAX_SIG_LENGTH = 10_000_000
"""Largest number of signature terms (per path) accepted before raising :class:`InputError`."""


def _check_int(value: object, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"must be an integer >= {minimum}, got {value!r}", field=field)
    if value < minimum:
        raise InputError(f"must be an integer >= {minimum}, got {value!r}", field=field)
    return int(value)


def _check_size(dim: int, level: int, field: str = "level") -> None:
    total = 0
    for n in range(1, level + 1):  # stops as soon as the limit is passed: level may be absurd
        total += dim**n
        if total > MAX_SIG_LENGTH:
            break
    if total > MAX_SIG_LENGTH or (dim == 1 and level > MAX_SIG_LENGTH):
        raise InputError(
            f"a {dim}-channel path truncated at level {level} has at least {total:.3g} signature terms"
            f" (limit {MAX_SIG_LENGTH:.0e}); lower the level or the number of channels",
            field=field,
        )


def sig_length(dim: int, level: int, *, scalar_term: bool = False) -> int:
    """Number of terms of a truncated signature.

    Parameters
    ----------
    dim : int
        Path dimension ``D >= 1``.
    level : int
        Truncation level ``N >= 1``.
    scalar_term : bool, default False
        Count the leading scalar ``1``.

    Returns
    -------
    int
        ``D + D^2 + ... + D^N`` (plus one with `scalar_term`).

    Examples
    --------
    >>> sig_length(3, 4)
    120
    >>> sig_length(1, 5, scalar_term=True)
    6
    """
    dim = _check_int(dim, "dim", 1)
    level = _check_int(level, "level", 1)
    return sum(dim**n for n in range(1, level + 1)) + int(bool(scalar_term))


def _as_path(path: object, field: str = "path") -> FloatArray:
    try:
        arr = np.asarray(path)
    except (TypeError, ValueError) as err:
        raise InputError(f"not a numeric array ({err})", field=field) from err
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise InputError(f"must be a real numeric array, got dtype {arr.dtype}", field=field)
    if arr.ndim not in (2, 3):
        raise InputError(f"must have shape (T, D) or (B, T, D), got shape {arr.shape}", field=field)
    if arr.shape[-2] < 1 or arr.shape[-1] < 1:
        raise InputError(
            f"needs at least one sample and one channel, got shape {arr.shape}", field=field
        )
    # A fresh C-contiguous float64 copy: pysiglib warns about (and clones) views.
    arr = np.array(arr, dtype=np.float64, order="C", copy=True)
    if not np.all(np.isfinite(arr)):
        raise InputError("contains NaN or infinite values", field=field)
    return arr


def signature(
    path: npt.ArrayLike,
    level: int,
    *,
    scalar_term: bool = False,
    n_jobs: int = 1,
    backend: str = "auto",
) -> FloatArray:
    """Truncated signature of a piecewise-linear path (exact).

    Parameters
    ----------
    path : array_like, shape (T, D) or (B, T, D)
        Samples of the path; the path is the polyline through them.
    level : int
        Truncation level ``N >= 1``.
    scalar_term : bool, default False
        Prepend the level-0 term ``1``.
    n_jobs : int, default 1
        Threads used by pysiglib (``-1``: all); the NumPy backend ignores it.
    backend : {"auto", "pysiglib", "numpy"}, default "auto"
        See :func:`signature_backend`.

    Returns
    -------
    numpy.ndarray, shape (L,) or (B, L)
        ``L = sig_length(D, N, scalar_term=scalar_term)``, layout as in the module docstring.

    Raises
    ------
    InputError
        On a bad shape, a non-finite sample, ``level < 1`` or more than :data:`MAX_SIG_LENGTH`
        terms.

    Examples
    --------
    >>> signature([[0.0, 0.0], [1.0, 2.0]], 2).round(3).tolist()
    [1.0, 2.0, 0.5, 1.0, 1.0, 2.0]
    """
    level = _check_int(level, "level", 1)
    route = signature_backend(backend)
    arr = _as_path(path)
    dim = arr.shape[-1]
    _check_size(dim, level)
    n_terms = sig_length(dim, level, scalar_term=scalar_term)
    if arr.ndim == 3 and arr.shape[0] == 0:
        return np.zeros((0, n_terms))
    if arr.shape[-2] == 1:
        out = np.zeros(arr.shape[:-2] + (n_terms,))
        if scalar_term:
            out[..., 0] = 1.0
        return out
    if route == "numpy":
        out = _numpy_signature(arr, level)
        if scalar_term:
            out = np.concatenate([np.ones(out.shape[:-1] + (1,)), out], axis=-1)
        return out
    out = _pysiglib().sig(arr, level, scalar_term=bool(scalar_term), n_jobs=n_jobs)
    return np.asarray(out, dtype=np.float64)


def signature_reference(
    path: npt.ArrayLike, level: int, *, scalar_term: bool = False
) -> FloatArray:
    """Reference signature by Chen's recursion in pure NumPy (slow; for tests).

    Each segment contributes ``exp(dX) = sum_k dX^{(x)k} / k!``, and the running signature is
    multiplied by it in the truncated tensor algebra. Same contract as :func:`signature`.

    Parameters
    ----------
    path : array_like, shape (T, D) or (B, T, D)
    level : int
    scalar_term : bool, default False

    Returns
    -------
    numpy.ndarray, shape (L,) or (B, L)
    """
    level = _check_int(level, "level", 1)
    arr = _as_path(path)
    dim = arr.shape[-1]
    _check_size(dim, level)
    batch = arr.shape[:-2]
    running = [np.ones(batch + (1,))] + [np.zeros(batch + (dim**n,)) for n in range(1, level + 1)]
    steps = np.diff(arr, axis=-2)
    for t in range(steps.shape[-2]):
        step = steps[..., t, :]
        seg = [np.ones(batch + (1,))]
        for k in range(1, level + 1):
            seg.append(_outer(seg[-1], step) / k)
        running = [
            np.add.reduce([_outer(running[i], seg[n - i]) for i in range(n + 1)])
            for n in range(level + 1)
        ]
    out = np.concatenate(running if scalar_term else running[1:], axis=-1)
    return out


def chen_product(
    sig_a: npt.ArrayLike,
    sig_b: npt.ArrayLike,
    dim: int,
    level: int,
    *,
    n_jobs: int = 1,
    backend: str = "auto",
) -> FloatArray:
    """Tensor product of two truncated signatures: ``S(x * y) = S(x) (x) S(y)``.

    Parameters
    ----------
    sig_a, sig_b : array_like, shape (L,) or (B, L)
        Signatures without scalar term; `sig_a` belongs to the earlier piece.
    dim, level : int
        Path dimension and truncation level.
    n_jobs : int, default 1
        Threads used by pysiglib; the NumPy backend ignores it.
    backend : {"auto", "pysiglib", "numpy"}, default "auto"
        See :func:`signature_backend`.

    Returns
    -------
    numpy.ndarray, shape (L,) or (B, L)
    """
    dim = _check_int(dim, "dim", 1)
    level = _check_int(level, "level", 1)
    route = signature_backend(backend)
    _check_size(dim, level)
    n_terms = sig_length(dim, level)
    a = np.array(sig_a, dtype=np.float64, order="C", copy=True)
    b = np.array(sig_b, dtype=np.float64, order="C", copy=True)
    for name, arr in (("sig_a", a), ("sig_b", b)):
        if arr.shape[-1:] != (n_terms,) or arr.ndim not in (1, 2):
            raise InputError(
                f"must have shape ({n_terms},) or (B, {n_terms}) for dim={dim}, level={level};"
                f" got {arr.shape}",
                field=name,
            )
        if not np.all(np.isfinite(arr)):
            raise InputError("contains NaN or infinite values", field=name)
    if a.shape != b.shape:
        raise InputError(f"shape {b.shape} differs from sig_a's {a.shape}", field="sig_b")
    return _combine(a, b, dim, level, n_jobs=n_jobs, backend=route)


@functools.lru_cache(maxsize=64)
def _cgl_rule(nodes: int) -> tuple[FloatArray, FloatArray]:
    """Chebyshev-Gauss-Lobatto nodes on [-1, 1] (ascending) and the integration matrix.

    ``Q @ f(x)`` gives ``int_{-1}^{x_i} p(y) dy`` where ``p`` interpolates ``f`` at the nodes;
    its last row is the Clenshaw-Curtis rule.
    """
    x = -np.cos(np.pi * np.arange(nodes) / (nodes - 1))
    vander = _cheb.chebvander(x, nodes - 1)
    integrated = np.empty((nodes, nodes))
    for k in range(nodes):
        unit = np.zeros(nodes)
        unit[k] = 1.0
        integrated[:, k] = _cheb.chebval(x, _cheb.chebint(unit, lbnd=-1.0))
    q = np.asarray(np.linalg.solve(vander.T, integrated.T).T, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    x.setflags(write=False)
    q.setflags(write=False)
    return x, q


def _picard_signature(velocity: FloatArray, qmat: FloatArray, level: int) -> FloatArray:
    """Signature over one panel from the velocity at its CGL nodes.

    ``velocity`` has shape (..., q, D) and is already scaled by the panel half-length, so that
    ``qmat`` integrates over [-1, 1]. Level n is ``S^(n)(t) = int S^(n-1)(r) (x) X'(r) dr``, one
    interpolatory integral per level; the top level only needs the end value (last row).
    """
    parts = []
    prev = qmat @ velocity
    parts.append(prev[..., -1, :])
    for n in range(2, level + 1):
        if n < level:
            prev = qmat @ _outer(prev, velocity)
            parts.append(prev[..., -1, :])
        else:
            weighted = prev * qmat[-1][:, None]
            top = np.swapaxes(weighted, -1, -2) @ velocity
            parts.append(top.reshape(top.shape[:-2] + (-1,)))
    return np.concatenate(parts, axis=-1)


def _check_nodes(nodes: object, field: str = "nodes") -> int:
    nodes = _check_int(nodes, field, 2)
    if nodes > 512:
        raise InputError(f"at most 512 nodes per panel are supported, got {nodes}", field=field)
    return nodes


def smooth_signature(
    velocity: Callable[[FloatArray], npt.ArrayLike],
    start: float,
    stop: float,
    level: int,
    *,
    nodes: int = 32,
    panels: int = 1,
    scalar_term: bool = False,
) -> FloatArray:
    """Signature of a smooth path given by its velocity, by spectral integration.

    ``X_t = int_start^t velocity(r) dr``. On each of `panels` equal panels, the velocity is
    sampled at `nodes` Chebyshev-Gauss-Lobatto points and the signature ODE ``dS = S (x) dX`` is
    solved level by level: ``S^(n)(t_i) = int S^(n-1)(r) (x) X'(r) dr`` with the integrand
    replaced by its polynomial interpolant on the nodes (an exact polynomial integral). The panel
    signatures are joined by Chen's identity. For analytic velocities the error decays
    geometrically in `nodes`.

    Parameters
    ----------
    velocity : callable
        ``velocity(t)`` with ``t`` of shape (n,) returns shape (n, D), or (B, n, D) for a batch.
    start, stop : float
        Interval, ``start < stop``.
    level : int
        Truncation level.
    nodes : int, default 32
        CGL nodes per panel (2..512).
    panels : int, default 1
        Equal sub-intervals; use more for long horizons or fast oscillations.
    scalar_term : bool, default False

    Returns
    -------
    numpy.ndarray, shape (L,) or (B, L)
    """
    level = _check_int(level, "level", 1)
    nodes = _check_nodes(nodes)
    panels = _check_int(panels, "panels", 1)
    start, stop = _check_interval(start, stop)
    x, qmat = _cgl_rule(nodes)
    edges = np.linspace(start, stop, panels + 1)
    half = 0.5 * (edges[1] - edges[0])
    times = (edges[:-1, None] + half * (x[None, :] + 1.0)).ravel()
    try:
        values = np.asarray(velocity(times.copy()), dtype=np.float64)
    except InputError:
        raise
    except (TypeError, ValueError) as err:
        raise InputError(f"did not return a real array ({err})", field="velocity") from err
    if values.ndim not in (2, 3) or values.shape[-2] != times.size:
        raise InputError(
            f"velocity(t) for t of shape ({times.size},) must return shape ({times.size}, D) or"
            f" (B, {times.size}, D), got {values.shape}",
            field="velocity",
        )
    if not np.all(np.isfinite(values)):
        raise InputError("returned NaN or infinite values", field="velocity")
    dim = values.shape[-1]
    _check_size(dim, level)
    vel = values.reshape(values.shape[:-2] + (panels, nodes, dim)) * half
    sig = _chen_reduce(_picard_signature(vel, qmat, level), dim, level)
    if scalar_term:
        sig = np.concatenate([np.ones(sig.shape[:-1] + (1,)), sig], axis=-1)
    return sig


def _check_interval(start: object, stop: object) -> tuple[float, float]:
    try:
        a, b = float(start), float(stop)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise InputError(
            f"must be real numbers, got {start!r}, {stop!r}", field="interval"
        ) from err
    if not (np.isfinite(a) and np.isfinite(b) and a < b):
        raise InputError(f"needs finite start < stop, got [{a}, {b}]", field="interval")
    return a, b
