"""Structure of the derived closed forms, checked against formulas that do not use the engine's route."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.linalg
import sympy

from conftest import DERIVATIONS
from helpers import with_model, write_spec
from oracles import gaussian_expectation, system_from_spec
from volterra_sym import build_model, derive_kernels, kernel_expression, kernel_values, load_spec, numeric_kernels
from volterra_sym.cli.main import main
from volterra_sym.classes.ou.derive import solve_lyapunov


def _derive(path, order=None):
    spec = load_spec(path)
    kset = derive_kernels(build_model(spec), order=order)
    return spec, kset


@pytest.mark.parametrize("path", DERIVATIONS, ids=lambda p: p.stem)
def test_stationary_law_solves_lyapunov_exactly(path):
    spec, kset = _derive(path)
    model = kset.model
    S = kset.law.covariance
    residual = (model.A * S + S * model.A.T + model.Sigma).applyfunc(sympy.simplify)
    assert residual == sympy.zeros(*S.shape)
    assert (model.A * kset.law.mean + model.b).applyfunc(sympy.simplify) == sympy.zeros(spec.n_hidden, 1)
    sys_ = system_from_spec(spec)
    nk = numeric_kernels(kset)
    assert np.allclose(nk.S, sys_.S, rtol=1e-13, atol=1e-15)
    assert np.allclose(nk.mu, sys_.mu, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("path", DERIVATIONS, ids=lambda p: p.stem)
def test_stationary_mean_and_zero_lag(path):
    """<f> by direct quadrature of f; R^(1)_k(0) = <C_k . grad f> (theory.md 3)."""
    spec, kset = _derive(path)
    nk = numeric_kernels(kset)
    sys_ = system_from_spec(spec)
    nodes = 40 if kset.degree is None else 4
    assert np.allclose(nk.stationary_mean, gaussian_expectation(sys_, np.zeros(spec.n_hidden), nodes),
                       rtol=1e-12, atol=1e-14)
    R0 = kernel_values(nk, [0.0])
    h = spec.hidden
    for k in range(spec.n_inputs):
        grads = [sum(spec.C[i, k] * sympy.diff(f, h[i]) for i in range(len(h))) for f in spec.readout]
        grad_sys = type(sys_)(sys_.A, sys_.b, sys_.C, sys_.sigma, tuple(sympy.sympify(g) for g in grads), h)
        expected = gaussian_expectation(grad_sys, np.zeros(len(h)), nodes)
        assert np.allclose(R0[:, k], expected, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("path", DERIVATIONS, ids=lambda p: p.stem)
def test_conjugate_variables_have_zero_mean_and_score_form(path):
    spec, kset = _derive(path)
    h = sympy.Matrix(spec.hidden)
    mu, S = kset.law.mean, kset.law.covariance
    log_rho = -((h - mu).T * S.inv() * (h - mu))[0, 0] / 2
    for k, A_k in enumerate(kset.law.conjugates):
        score_form = -sum(spec.C[i, k] * sympy.diff(log_rho, h[i]) for i in range(len(h)))
        assert sympy.simplify(A_k - score_form) == 0
        assert sympy.simplify(A_k.subs(dict(zip(spec.hidden, mu)))) == 0  # linear in h - mu


@pytest.mark.parametrize("path", DERIVATIONS, ids=lambda p: p.stem)
def test_score_is_the_gradient_of_the_log_density(path):
    """law.score (shown by `derive`) = grad log N(mu, S), with mu and S from SciPy's Lyapunov solve."""
    spec, kset = _derive(path)
    sys_ = system_from_spec(spec)
    subs = {spec.parameters[k]: v for k, v in spec.defaults.items()}
    score = sympy.lambdify(spec.hidden, list(kset.law.score.subs(subs)), modules="numpy")
    for h in np.random.default_rng(3).normal(size=(4, spec.n_hidden)):
        expected = -np.linalg.solve(sys_.S, h - sys_.mu)
        assert np.allclose(np.array(score(*h), dtype=float), expected, rtol=1e-10, atol=1e-12)


def test_quadratic_readout_matches_theory_formulas(tmp_path, rng):
    """theory.md 4: R^(1)_k = 2 mu^T M e^{A tau} C_k, R^(2) = 2 C_k1^T e^{A^T tau1} M e^{A(tau1+tau2)} C_k2."""
    M = np.array([[1.0, 0.5], [0.5, -0.3]])
    data = with_model(readout=["h1**2 + h1*h2 - 0.3*h2**2"], C=[[1.0, 0.2], [0.5, -0.7]])
    spec, kset = _derive(write_spec(tmp_path, data), order=3)
    nk = numeric_kernels(kset)
    sys_ = system_from_spec(spec)
    assert kset.degree == 2 and kset.vanishes(3) and not kset.vanishes(2)
    assert np.allclose(nk.stationary_mean, sys_.mu @ M @ sys_.mu + np.trace(M @ sys_.S), rtol=1e-13)
    for _ in range(5):
        t1, t2, t3 = rng.uniform(0, 3, size=3)
        E1, E12 = scipy.linalg.expm(sys_.A * t1), scipy.linalg.expm(sys_.A * (t1 + t2))
        assert np.allclose(kernel_values(nk, [t1])[0], 2 * sys_.mu @ M @ E1 @ sys_.C, rtol=1e-12, atol=1e-14)
        assert np.allclose(kernel_values(nk, [t1, t2])[0], 2 * sys_.C.T @ E1.T @ M @ E12 @ sys_.C,
                           rtol=1e-12, atol=1e-14)
        assert np.all(kernel_values(nk, [t1, t2, t3]) == 0)


def test_linear_readout_has_only_first_order(tmp_path, rng):
    data = with_model(readout=["2*h1 - h2 + 0.5"])
    spec, kset = _derive(write_spec(tmp_path, data), order=3)
    sys_ = system_from_spec(spec)
    nk = numeric_kernels(kset)
    assert kset.degree == 1
    for t in rng.uniform(0, 4, size=4):
        expected = np.array([2.0, -1.0]) @ scipy.linalg.expm(sys_.A * t) @ sys_.C
        assert np.allclose(kernel_values(nk, [t])[0], expected, rtol=1e-13, atol=1e-15)
    for n in (2, 3):
        assert kernel_expression(kset, 0, (0,) * n) == 0


@pytest.mark.parametrize("path", [p for p in DERIVATIONS if p.stem in ("ou2_quadratic", "ou3_cubic")],
                         ids=lambda p: p.stem)
def test_small_lag_taylor_coefficients_are_generator_words(path):
    """theory.md 5: R^(1)_{f;k}(tau) = sum_p tau^p/p! <C_k . grad L0^p f>, an operator route."""
    spec, kset = _derive(path)
    model = kset.model
    sys_ = system_from_spec(spec)
    tau1 = kset.lags[0]
    for k in range(spec.n_inputs):
        for q, f in enumerate(model.readout):
            closed = kernel_expression(kset, q, (k,))
            taylor = sympy.series(closed, tau1, 0, 4).removeO()
            word = f
            for p in range(4):
                directional = sum(spec.C[i, k] * sympy.diff(word, model.hidden[i]) for i in range(spec.n_hidden))
                grad_sys = type(sys_)(sys_.A, sys_.b, sys_.C, sys_.sigma, (sympy.expand(directional),), spec.hidden)
                expected = gaussian_expectation(grad_sys, np.zeros(spec.n_hidden), 4)[0]
                got = float(taylor.coeff(tau1, p)) * math.factorial(p)
                assert abs(got - expected) < 1e-11 * max(1.0, abs(expected)), (k, q, p, got, expected)
                word = sympy.expand(model.generator(word))


def test_polynomial_degree_reported_and_kernels_vanish(capsys):
    path = next(p for p in DERIVATIONS if p.stem == "ou2_quadratic")
    assert main(["derive", str(path), "--order", "4", "--format", "json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["degree"] == 2 and out["finite_series"] is True
    assert {k["order"] for k in out["kernels"]} == {1, 2}
    assert main(["derive", str(path)]) == 0
    assert "R^(n) = 0 for n > 2" in capsys.readouterr().out


def test_latex_output_is_latex(capsys):
    path = next(p for p in DERIVATIONS if p.stem == "ou2_symbolic")
    assert main(["derive", str(path), "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert r"\beta" in out and r"e^{A\tau}" in out and r"R^{(2)}" in out


def test_awkward_parameter_names_mean_the_parameter(tmp_path, rng):
    """Parameters named like SymPy objects (S, N, E, I, Q, beta, gamma) are plain parameters."""
    names = ["S", "N", "E", "I", "Q", "beta", "gamma"]
    values = rng.uniform(0.2, 0.6, size=len(names)).round(3)
    symbolic = with_model(
        Gamma=[["1 + S", 0.0], [0.0, "1 + N"]], W=[[0.0, "E"], ["-I", 0.0]], b=["Q", "beta"],
        C=[["gamma"], [0.5]],
    )
    symbolic = {**symbolic, "parameters": dict(zip(names, map(float, values)))}
    S, N, E, I, Q, beta, gamma = map(float, values)
    plain = with_model(Gamma=[[1 + S, 0.0], [0.0, 1 + N]], W=[[0.0, E], [-I, 0.0]], b=[Q, beta], C=[[gamma], [0.5]])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _, k1 = _derive(write_spec(tmp_path / "a", symbolic))
    _, k2 = _derive(write_spec(tmp_path / "b", plain))
    n1, n2 = numeric_kernels(k1), numeric_kernels(k2)
    for lags in ([0.3], [0.2, 0.9]):
        assert np.allclose(kernel_values(n1, lags), kernel_values(n2, lags), rtol=1e-12, atol=1e-14)
    assert not k1.law.mean.has(sympy.I, sympy.E, sympy.EulerGamma)


def test_solve_lyapunov_symbolic():
    s, g = sympy.symbols("s g", positive=True)
    S = solve_lyapunov(sympy.Matrix([[-g, 0], [1, -g]]), sympy.Matrix([[s**2, 0], [0, 0]]))
    assert S[0, 0] == s**2 / (2 * g)
    A = sympy.Matrix([[-g, 0], [1, -g]])
    assert (A * S + S * A.T + sympy.Matrix([[s**2, 0], [0, 0]])).applyfunc(sympy.simplify) == sympy.zeros(2, 2)


def test_kernel_values_broadcast(rng):
    path = next(p for p in DERIVATIONS if p.stem == "ou3_cubic")
    spec, kset = _derive(path)
    nk = numeric_kernels(kset)
    t1 = rng.uniform(0, 2, size=(4, 1))
    t2 = rng.uniform(0, 2, size=(1, 5))
    t3 = 0.3
    out = kernel_values(nk, [t1, t2, t3])
    assert out.shape == (4, 5, spec.n_outputs, 2, 2, 2)
    for i, j in itertools.product(range(4), range(5)):
        assert np.allclose(out[i, j], kernel_values(nk, [t1[i, 0], t2[0, j], t3]), rtol=1e-14, atol=1e-16)
