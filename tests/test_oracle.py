"""Kernels and series against routes that share no code with the engine (tests/oracles.py).

Accuracy contract (issue "Derivation engine core"): kernel values to 1e-10 and series terms to
1e-8, relative to the largest entry of the compared tensor.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DERIVATIONS
from helpers import to_toml
from oracles import (first_order_correlation, kernel_by_resummation, moment_by_quadrature, resummation_terms,
                     second_order_correlation, system_from_spec)
from volterra_sym import build_model, derive_kernels, kernel_values, load_spec, numeric_kernels, parse_spec
from volterra_sym.cli.main import main
from volterra_sym.classes.ou.series import series_terms


def _relerr(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def _load(path, order=None):
    spec = load_spec(path)
    kset = derive_kernels(build_model(spec), order=order)
    return spec, kset, numeric_kernels(kset)


def _gh_nodes(kset) -> int:
    return 40 if kset.degree is None else kset.degree // 2 + 2


@pytest.mark.parametrize("path", DERIVATIONS, ids=lambda p: p.stem)
def test_kernels_equal_resummation_mixed_derivative(path, rng):
    spec, kset, nk = _load(path)
    poly = kset.degree is not None
    top = kset.order if poly else min(kset.order, 2)  # order 3 of tanh: see the slow test
    for n in range(1, top + 1):
        lags = rng.uniform(0.0, 1.5, size=n)
        value = kernel_values(nk, list(lags))
        for idx in itertools.product(range(spec.C.shape[1]), repeat=n):
            oracle = kernel_by_resummation(system_from_spec(spec), lags, idx, points=8 if poly else 32,
                                           radius=0.5 if poly else 0.3, nodes=_gh_nodes(kset))
            got = value[(slice(None),) + idx]
            assert _relerr(got, oracle) < 1e-10 or np.abs(got - oracle).max() < 1e-12, (n, idx, got, oracle)


@pytest.mark.slow
def test_third_order_non_polynomial_kernel():
    path = next(p for p in DERIVATIONS if p.stem == "ou2_tanh")
    spec, kset, nk = _load(path)
    lags = [0.2, 0.5, 0.9]
    oracle = kernel_by_resummation(system_from_spec(spec), lags, (0, 0, 0), points=32, radius=0.3, nodes=40)
    assert _relerr(kernel_values(nk, lags)[:, 0, 0, 0], oracle) < 1e-10


@pytest.mark.parametrize("readout", ["h1**4 - 2*h1**2*h2 + 0.5*h2**3", "h1*h2**5 - h2**2 + h1", "h1**3*h2**3",
                                     "(h1 - 0.3*h2)**6 + h2**4"])
def test_moment_tensors_of_high_degree_match_quadrature(readout):
    """<D^n f> for readouts of degree 4-6 (moments up to degree 6) against Gauss-Hermite quadrature of the
    derivatives under SciPy's stationary law: a slip in the moment recursion cannot hide here."""
    import tomllib

    data = {"name": "sextic", "model": {"activation": "linear", "Gamma": [[1.2, 0.0], [0.0, 0.9]],
                                        "W": [[0.0, 0.4], [-0.5, 0.0]], "b": [0.15, -0.1], "C": [[1.0], [0.4]],
                                        "sigma": [[0.6, 0.0], [0.2, 0.5]], "readout": [readout]},
            "expansion": {"order": 4}}
    spec = parse_spec(tomllib.loads(to_toml(data)))
    kset = derive_kernels(build_model(spec))
    nk = numeric_kernels(kset)
    sys_ = system_from_spec(spec)
    assert kset.degree >= 4
    for n in range(kset.order + 1):
        for alpha in itertools.combinations_with_replacement(range(spec.n_hidden), n):
            oracle = moment_by_quadrature(sys_, 0, alpha, nodes=kset.degree // 2 + 2)
            got = nk.moments[n][(0,) + alpha]
            assert abs(got - oracle) <= 1e-12 * max(1.0, abs(oracle)), (n, alpha, got, oracle)


@pytest.mark.parametrize("path", DERIVATIONS, ids=lambda p: p.stem)
def test_series_equals_resummation(path):
    spec, kset, nk = _load(path)
    m = spec.C.shape[1]
    u = lambda t: np.stack([np.sin(1.3 * np.asarray(t) + c) + 0.2 * c for c in range(m)], -1)  # noqa: E731
    for t, eps in [(2.5, 0.8), (0.7, -1.5)]:
        got = series_terms(nk, u, t, eps).terms
        oracle = resummation_terms(system_from_spec(spec), lambda s: u(np.array([s]))[0], t, eps, kset.order,
                                   radius=0.5, nodes=_gh_nodes(kset))
        assert _relerr(got, oracle) < 1e-8, (got, oracle)


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.stem == "ou2_tanh" else p  # ~30 s
                                  for p in DERIVATIONS], ids=lambda p: p.stem)
def test_correlation_form(path, rng):
    """Theory 3c: R^(1) = E[f(h_tau) A_k(h_0)], R^(2) = E[(C_k1 . grad P_tau1 f)(h_tau2) A_k2(h_0)]."""
    spec, kset, nk = _load(path)
    sys_ = system_from_spec(spec)
    nodes = 20 if kset.degree is None else kset.degree // 2 + 2
    tol = 1e-8 if kset.degree is None else 1e-11
    m = spec.C.shape[1]
    tau = rng.uniform(0.1, 1.5)
    for k in range(m):
        assert _relerr(kernel_values(nk, [tau])[:, k], first_order_correlation(sys_, tau, k, nodes)) < tol
    if kset.order >= 2:
        t1, t2 = rng.uniform(0.1, 1.0, size=2)
        value = kernel_values(nk, [t1, t2])
        for k1, k2 in itertools.product(range(m), repeat=2):
            oracle = second_order_correlation(sys_, t1, t2, k1, k2, nodes=min(nodes, 14), step=3e-3)
            # the oracle's nested quadrature limits it to ~1e-8 for tanh at 14 nodes (24 nodes: slow test)
            assert _relerr(value[:, k1, k2], oracle) < (1e-7 if kset.degree is None else 1e-10)


@pytest.mark.slow
def test_second_order_correlation_tanh_fine_quadrature():
    path = next(p for p in DERIVATIONS if p.stem == "ou2_tanh")
    spec, kset, nk = _load(path)
    oracle = second_order_correlation(system_from_spec(spec), 0.9998841957320876, 0.6279948089396417, 0, 0,
                                      nodes=24, step=1e-3)
    assert _relerr(kernel_values(nk, [0.9998841957320876, 0.6279948089396417])[:, 0, 0], oracle) < 1e-10


@pytest.mark.parametrize("path", DERIVATIONS, ids=lambda p: p.stem)
def test_cli_contract_matches_oracle(path, capsys, rng):
    spec, kset, nk = _load(path)
    lags = [round(float(x), 3) for x in rng.uniform(0.1, 1.0, size=2)]
    assert main(["kernel", str(path), "--order", "2", "--lags", ",".join(map(str, lags)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    value = np.array(out["value"])
    assert out["order"] == 2 and out["lags"] == lags
    assert value.shape == (spec.n_outputs, spec.n_inputs, spec.n_inputs)
    for idx in itertools.product(range(spec.n_inputs), repeat=2):
        oracle = kernel_by_resummation(system_from_spec(spec), lags, idx,
                                       points=8 if kset.degree is not None else 32,
                                       radius=0.5 if kset.degree is not None else 0.3, nodes=_gh_nodes(kset))
        assert _relerr(value[(slice(None),) + idx], oracle) < 1e-10 or np.abs(value[(slice(None),) + idx] - oracle).max() < 1e-12
    inputs = [f"cos({1 + c}*t) + 0.1*t" for c in range(spec.n_inputs)]
    argv = ["series", str(path), "--t", "1.7", "--eps", "0.6", "--json"]
    for e in inputs:
        argv += ["--input", e]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"t", "eps", "order", "terms", "total", "exact", "engine", "version"} <= set(out)
    assert out["order"] == kset.order and out["engine"] == "ou"
    u = lambda s: np.array([np.cos((1 + c) * s) + 0.1 * s for c in range(spec.n_inputs)])  # noqa: E731
    oracle = resummation_terms(system_from_spec(spec), u, 1.7, 0.6, kset.order, radius=0.5, nodes=_gh_nodes(kset))
    assert _relerr(out["terms"], oracle) < 1e-8
    assert np.allclose(out["total"], np.sum(out["terms"], axis=0), rtol=0, atol=1e-15)


@pytest.mark.parametrize("params", [{"g": 0.7, "beta": 0.0}, {"g": 2.0, "beta": 3.0, "s": 0.3, "m": -1.0}])
def test_symbolic_parameters_at_other_values(params):
    path = next(p for p in DERIVATIONS if p.stem == "ou2_symbolic")
    spec = load_spec(path)
    kset = derive_kernels(build_model(spec))
    nk = numeric_kernels(kset, params)
    sys_ = system_from_spec(spec, params)
    for lags in ([0.4], [0.3, 0.8]):
        oracle = kernel_by_resummation(sys_, lags, (0,) * len(lags), nodes=3)
        assert _relerr(kernel_values(nk, lags)[(slice(None),) + (0,) * len(lags)], oracle) < 1e-10


# --- random stable systems ------------------------------------------------------------------

def _monomials(n: int, degree: int):
    for d in range(1, degree + 1):
        yield from itertools.combinations_with_replacement(range(n), d)


@st.composite
def random_systems(draw):
    n = draw(st.integers(1, 4))
    m = draw(st.integers(1, 2))
    order = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rnd = lambda *shape, scale=1.0: np.round(rng.normal(scale=scale, size=shape), 2)  # noqa: E731
    W = rnd(n, n, scale=0.4)
    Gamma = np.diag(np.round(rng.uniform(0.8, 2.0, size=n), 2))
    r = draw(st.integers(1, n))
    sigma = rnd(n, r, scale=0.6) + np.eye(n, r) * 0.5
    degree = draw(st.integers(1, 6))  # degrees 4-6 exercise Gaussian moments beyond the covariance
    readout = []
    for _ in range(draw(st.integers(1, 2))):
        monos = list(_monomials(n, degree))
        picks = rng.choice(len(monos), size=min(3, len(monos)), replace=False)
        terms = [f"{rnd(1)[0] + 0.01:.2f}*" + "*".join(f"h{i + 1}" for i in monos[p]) for p in picks]
        readout.append(" + ".join(terms))
    data = {
        "name": "random_system",
        "model": {"activation": "linear", "Gamma": Gamma.tolist(), "W": W.tolist(), "b": rnd(n).tolist(),
                  "C": rnd(n, m).tolist(), "sigma": sigma.tolist(), "readout": readout},
        "expansion": {"order": order},
    }
    A = W - Gamma
    eig = np.linalg.eigvals(A)
    K = np.hstack([np.linalg.matrix_power(A, j) @ sigma for j in range(n)])
    s = np.linalg.svd(K, compute_uv=False)
    from hypothesis import assume

    assume(eig.real.max() < -0.05 and s[-1] > 1e-3 * s[0])
    return data, seed, degree


@pytest.mark.slow  # slower than ~3 s on the 2-core machine: run with -m slow (CI runs both)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_systems())
def test_random_stable_systems(case):
    data, seed, degree = case
    import tomllib

    nodes = degree // 2 + 1  # Gauss-Hermite exact for the readout (of f itself, never its moments)
    points = degree + 1  # the Cauchy circle must not alias coefficients up to the readout's degree

    spec = parse_spec(tomllib.loads(to_toml(data)))
    kset = derive_kernels(build_model(spec))
    nk = numeric_kernels(kset)
    sys_ = system_from_spec(spec)
    rng = np.random.default_rng(seed)
    for n in range(1, kset.order + 1):
        lags = rng.uniform(0.0, 2.0, size=n)
        idx = tuple(rng.integers(0, spec.n_inputs, size=n))
        oracle = kernel_by_resummation(sys_, lags, idx, points=points, nodes=nodes)
        got = kernel_values(nk, list(lags))[(slice(None),) + idx]
        assert np.abs(got - oracle).max() <= 1e-10 * max(np.abs(oracle).max(), 1e-3), (n, idx, got, oracle)
    freq = rng.uniform(0.5, 3.0, size=spec.n_inputs)
    u = lambda t: np.sin(np.multiply.outer(np.asarray(t), freq))  # noqa: E731
    t = float(rng.uniform(0.3, 3.0))
    got = series_terms(nk, u, t, 0.9).terms
    oracle = resummation_terms(sys_, lambda s: u(s), t, 0.9, kset.order, radius=0.5, nodes=nodes)
    assert np.abs(got - oracle).max() <= 1e-8 * max(np.abs(oracle).max(), 1e-3)


@pytest.mark.parametrize("coupling", [-1e-24, -1e-16, -1e-8, -1e-4])
def test_nearly_defective_drift(tmp_path, coupling):
    """Eigenvalues 1 +- sqrt(coupling) nearly coalesce: no cancellation in e^{A tau} (review A1)."""
    from helpers import write_spec

    data = {"name": "near_defective", "model": {
        "Gamma": [[1.0, -1.0, 0.0], [coupling, 1.0, 0.0], [0.0, 0.0, 2.0]], "W": [[0.0] * 3] * 3,
        "b": [0.1, 0.2, 0.0], "C": [[1.0], [0.5], [0.3]], "sigma": [[0.6, 0.0, 0.0], [0.1, 0.5, 0.0], [0.0, 0.2, 0.4]],
        "readout": ["h1*h2 + h3"]}, "expansion": {"order": 2}}
    spec, kset, nk = _load(write_spec(tmp_path, data))
    sys_ = system_from_spec(spec)
    for lags in ([0.5], [3.0], [0.4, 1.7]):
        oracle = kernel_by_resummation(sys_, lags, (0,) * len(lags), nodes=3)
        assert _relerr(kernel_values(nk, lags)[(slice(None),) + (0,) * len(lags)], oracle) < 1e-10
