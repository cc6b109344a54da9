"""The O(T) series filter has two implementations of one operator: a dense matrix for small states
and a matrix-free tensor form above ``_DENSE_LIMIT`` entries. Both must give the same terms."""

from __future__ import annotations

import numpy as np

from conftest import DERIVATIONS
from volterra_sym import build_model, derive_kernels, load_spec, numeric_kernels
from volterra_sym.classes.ou import series


def test_matrix_free_filter_equals_the_dense_one(monkeypatch):
    path = next(p for p in DERIVATIONS if p.stem == "ou3_cubic")
    nk = numeric_kernels(derive_kernels(build_model(load_spec(path))))
    u = lambda t: np.stack([np.sin(1.3 * np.asarray(t)), np.cos(0.7 * np.asarray(t))], -1)  # noqa: E731
    dense = series.series_terms(nk, u, 1.2, 0.8).terms
    monkeypatch.setattr(series, "_DENSE_LIMIT", 0)
    free = series.series_terms(nk, u, 1.2, 0.8).terms
    assert np.abs(free - dense).max() <= 1e-10 * np.abs(dense).max()



def test_richardson_extrapolation_removes_the_fourth_order_error():
    """At a loose tolerance the adaptive loop stops after few steps (128 here); the extrapolation
    fine + (fine - coarse) / 15 removes RK4's h^4 error, so the terms are then accurate to ~1e-10,
    far beyond the tolerance (a wrong factor leaves ~3e-9 at the same steps)."""
    from oracles import resummation_terms, system_from_spec

    path = next(p for p in DERIVATIONS if p.stem == "ou2_quadratic")
    spec = load_spec(path)
    nk = numeric_kernels(derive_kernels(build_model(spec)))
    u = lambda t: np.sin(1.3 * np.asarray(t))[..., None]  # noqa: E731
    oracle = resummation_terms(system_from_spec(spec), lambda s: u(s), 2.5, 0.8, nk.order, radius=0.5, nodes=3)
    result = series.series_terms(nk, u, 2.5, 0.8, tol=1e-6)
    assert np.abs(result.terms - oracle).max() <= 1e-9, (result.steps, np.abs(result.terms - oracle).max())
