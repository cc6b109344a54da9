"""Chen's identity and the two signature backends: pysiglib (C++, the ``[signature]`` extra, which
imports torch) and NumPy (always there).

Signatures are flat, without the scalar term, levels ``1..N`` concatenated (see :mod:`.signature`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import InputError, MissingExtraError

FloatArray = npt.NDArray[np.float64]

SIGNATURE_HINT = "pip install 'volterra-sym[signature]' (pysiglib, which imports torch)"
"""How to install the optional C++ signature backend."""

BACKENDS = ("auto", "pysiglib", "numpy")

_PYSIGLIB: list[Any] = []  # [module] or [None] once looked up


def _pysiglib(required: bool = False) -> Any:
    """pysiglib, or ``None`` when it is not installed (``required``: raise with the install hint)."""
    # pysiglib imports torch (about a second): looked up on first use only.
    if not _PYSIGLIB:
        try:
            import pysiglib
        except (ImportError, OSError):  # OSError: a torch build whose shared libraries do not load
            pysiglib = None
        _PYSIGLIB.append(pysiglib)
    if _PYSIGLIB[0] is None and required:
        raise MissingExtraError(f"backend 'pysiglib' is not installed: {SIGNATURE_HINT}")
    return _PYSIGLIB[0]


def signature_backend(backend: str = "auto") -> str:
    """The library that computes piecewise-linear signatures: ``"pysiglib"`` or ``"numpy"``.

    Parameters
    ----------
    backend : {"auto", "pysiglib", "numpy"}, default "auto"
        ``"auto"`` takes pysiglib when it is installed (``pip install 'volterra-sym[signature]'``)
        and the NumPy Chen reduction otherwise; ``"pysiglib"`` refuses with
        :class:`~volterra_sym.errors.MissingExtraError` when it is missing.

    Returns
    -------
    str
        ``"pysiglib"`` or ``"numpy"``.

    Examples
    --------
    >>> signature_backend("numpy")
    'numpy'
    """
    if backend not in BACKENDS:
        raise InputError(f"must be one of {', '.join(BACKENDS)}, got {backend!r}", field="backend")
    if backend == "numpy":
        return "numpy"
    return "pysiglib" if _pysiglib(required=backend == "pysiglib") is not None else "numpy"


def _outer(a: FloatArray, b: FloatArray) -> FloatArray:
    """Flat tensor product over the last axis: (..., p) x (..., q) -> (..., p*q)."""
    return (a[..., :, None] * b[..., None, :]).reshape(a.shape[:-1] + (-1,))


#: segments whose exponentials are held at once by the NumPy route (times the signature length)
_NUMPY_CHUNK_ENTRIES = 4_000_000


def _segment_exponentials(steps: FloatArray, level: int) -> FloatArray:
    """``exp(dX)`` truncated, without the scalar term: (..., D) -> (..., L)."""
    parts = [steps]
    for k in range(2, level + 1):
        parts.append(_outer(parts[-1], steps) / k)
    return np.concatenate(parts, axis=-1)


def _numpy_signature(arr: FloatArray, level: int) -> FloatArray:
    """Signature of the polyline through ``arr`` (..., T, D), T >= 2: Chen's identity over the
    segments, reduced pairwise in chunks of bounded memory."""
    dim = arr.shape[-1]
    n_terms = sum(dim**n for n in range(1, level + 1))
    steps = np.diff(arr, axis=-2)
    batch = int(np.prod(arr.shape[:-2], dtype=np.int64))
    chunk = max(1, _NUMPY_CHUNK_ENTRIES // max(1, batch * n_terms))
    result = None
    for start in range(0, steps.shape[-2], chunk):
        piece = _chen_reduce(_segment_exponentials(steps[..., start : start + chunk, :], level), dim, level,
                             backend="numpy")
        result = piece if result is None else _combine(result, piece, dim, level, backend="numpy")
    return np.ascontiguousarray(result, dtype=np.float64)


def _combine(a: FloatArray, b: FloatArray, dim: int, level: int, n_jobs: int = 1,
             backend: str = "auto") -> FloatArray:
    if a.ndim == 2 and a.shape[0] == 0:
        return a.copy()
    if signature_backend(backend) == "numpy":
        return _numpy_combine(a, b, dim, level)
    # pysiglib warns about (and clones) arrays that are views or not C-contiguous.
    a = a if a.flags.c_contiguous and a.base is None else a.copy()
    b = b if b.flags.c_contiguous and b.base is None else b.copy()
    return np.asarray(_pysiglib().sig_combine(a, b, dim, level, n_jobs=n_jobs), dtype=np.float64)


def _numpy_combine(a: FloatArray, b: FloatArray, dim: int, level: int) -> FloatArray:
    """Truncated tensor product of two signatures without scalar terms, level by level."""
    bounds = np.cumsum([0] + [dim**n for n in range(1, level + 1)])
    la = [a[..., bounds[n - 1] : bounds[n]] for n in range(1, level + 1)]
    lb = [b[..., bounds[n - 1] : bounds[n]] for n in range(1, level + 1)]
    parts = []
    for n in range(1, level + 1):
        term = la[n - 1] + lb[n - 1]
        for i in range(1, n):
            term = term + _outer(la[i - 1], lb[n - i - 1])
        parts.append(term)
    return np.concatenate(parts, axis=-1)


def _chen_reduce(sigs: FloatArray, dim: int, level: int, backend: str = "numpy") -> FloatArray:
    """Ordered product over axis -2: (..., K, L) -> (..., L), by pairwise tree reduction.

    NumPy by default: the smooth routes join few panels, and stay free of torch and identical on
    every install."""
    lead = sigs.shape[:-2]
    n_terms = sigs.shape[-1]
    cur = sigs.reshape((-1,) + sigs.shape[-2:])
    while cur.shape[1] > 1:
        k = cur.shape[1]
        even = k - k % 2
        left = cur[:, 0:even:2].reshape(-1, n_terms)
        right = cur[:, 1:even:2].reshape(-1, n_terms)
        merged = _combine(left, right, dim, level, backend=backend).reshape(cur.shape[0], even // 2, n_terms)
        if k % 2:
            merged = np.concatenate([merged, cur[:, -1:]], axis=1)
        cur = merged
    return cur[:, 0].reshape(lead + (n_terms,))
