"""Readout coefficients of the response feature, against independent routes.

Oracles: the exact resummation E f(mu + xi + eps delta_T) (tests/oracles.py: SciPy quadrature for
delta_T, Gauss-Hermite on f itself), SciPy integrals over the simplex, and the derived kernels
integrated by Gauss-Legendre quadrature on the simplex.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import oracles
import pytest
from scipy import integrate

from volterra_sym import (
    build_model,
    derive_kernels,
    kernel_values,
    load_spec,
    numeric_kernels,
)
from volterra_sym.cli.main import main
from volterra_sym.errors import InputError
from volterra_sym.features.feature import Basis, channel_index, response_feature_callable
from volterra_sym.features.represent import (
    expand_propagator,
    readout_coefficients,
    represent,
    signature_weights,
)

ROOT = Path(__file__).resolve().parent.parent
SEED = 20240611


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def _setup(name: str, order: int):
    spec = load_spec(ROOT / "derivations" / f"{name}.toml")
    nk = numeric_kernels(derive_kernels(build_model(spec), order=order))
    return spec, nk


@pytest.fixture(scope="module")
def cubic():
    return _setup("ou3_cubic", 3)


def _smooth_input(rng: np.random.Generator, m: int):
    amp = rng.normal(size=(m, 3)) * 0.8
    freq = rng.uniform(0.3, 2.0, size=(m, 3))
    phase = rng.uniform(0, 2 * np.pi, size=(m, 3))

    def u(t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return np.einsum("ki,tki->tk", amp, np.sin(freq[None] * t[:, None, None] + phase[None]))

    return u


def _exact(spec, u, horizon: float, eps: float) -> np.ndarray:
    system = oracles.system_from_spec(spec)
    delta = oracles.delta(system, lambda s: u(s)[0], horizon)
    return oracles.gaussian_expectation(system, eps * delta)


# -- index order: the word reversal and the channel layout -----------------------------------


def test_index_order_on_a_non_symmetric_kernel(rng: np.random.Generator) -> None:
    """A unit coefficient on slots (c_1, c_2) (c_1 at the latest time s_1) pairs with the
    simplex integral int_{s_2 < s_1 < T} u^{k1} psi_{j1}(s_1) u^{k2} psi_{j2}(s_2)."""
    horizon, basis = 1.5, Basis.monomial(1)
    u = _smooth_input(rng, 2)
    d = basis.size
    dim = 2 * d
    phi = response_feature_callable(u, horizon, basis, 2, nodes=40)

    def g(k: int, j: int, s: float) -> float:
        return float(u(s)[0, k] * basis.evaluate([s])[0, j])

    for k, j in [(0, 0), (1, 1), (0, 1)]:
        a1 = np.zeros(dim)
        a1[channel_index(k, j, d)] = 1.0
        value = signature_weights([a1, np.zeros((dim, dim))]) @ phi
        expected = integrate.quad(lambda s, k=k, j=j: g(k, j, s), 0.0, horizon, epsabs=1e-13)[0]
        assert value[0] == pytest.approx(expected, rel=1e-11, abs=1e-13)
    for (k1, j1), (k2, j2) in [((0, 1), (1, 0)), ((1, 0), (0, 1)), ((0, 0), (0, 1)), ((1, 1), (1, 1))]:
        a2 = np.zeros((dim, dim))
        a2[channel_index(k1, j1, d), channel_index(k2, j2, d)] = 1.0
        value = signature_weights([np.zeros(dim), a2]) @ phi
        expected = integrate.dblquad(
            lambda s2, s1, c1=(k1, j1), c2=(k2, j2): g(*c1, s1) * g(*c2, s2),
            0.0, horizon, 0.0, lambda s1: s1, epsabs=1e-13,
        )[0]
        assert value[0] == pytest.approx(expected, rel=1e-10, abs=1e-12)


def _simplex_terms(nk, u, horizon: float, eps: float) -> list[np.ndarray]:
    """Orders 1 and 2 by Gauss-Legendre quadrature of the derived kernels on the simplex."""
    x, w = np.polynomial.legendre.leggauss(48)
    x, w = 0.5 * (x + 1), 0.5 * w
    s = horizon * x
    first = np.einsum("q,qpk,qk->p", horizon * w, kernel_values(nk, [horizon - s]), u(s))
    # s_1 = T x, s_2 = s_1 y (Duffy): ds = T^2 x dx dy
    s1 = horizon * x[:, None] * np.ones_like(x)[None, :]
    s2 = s1 * x[None, :]
    R2 = kernel_values(nk, [horizon - s1, s1 - s2])  # (q, r, p, k1, k2)
    weight = horizon**2 * np.outer(w, w) * x[:, None]
    u1, u2 = u(s1.ravel()).reshape(s1.shape + (-1,)), u(s2.ravel()).reshape(s2.shape + (-1,))
    second = np.einsum("qr,qrpab,qra,qrb->p", weight, R2, u1, u2)
    return [eps * first, eps**2 * second]


def test_orders_one_and_two_match_kernel_integrals(cubic, rng: np.random.Generator) -> None:
    _, nk = cubic
    horizon, eps = 2.0, 0.7
    u = _smooth_input(rng, 2)
    basis = Basis.from_matrix(nk.A, shift=horizon)
    readout = readout_coefficients(nk, horizon, basis, 2)
    phi = response_feature_callable(u, horizon, basis, 2, nodes=40)
    terms = readout.terms(phi, eps)
    expected = _simplex_terms(nk, u, horizon, eps)
    np.testing.assert_allclose(terms[1], expected[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(terms[2], expected[1], rtol=1e-10, atol=1e-12)


# -- exactness with the spectral basis --------------------------------------------------------


@pytest.mark.parametrize("shift", ["T", 0.0])
@pytest.mark.parametrize("horizon", [1.0, 4.0])
def test_spectral_basis_gives_exact_mean_output(cubic, rng: np.random.Generator, horizon: float, shift) -> None:
    spec, nk = cubic
    eps = 0.8
    u = _smooth_input(rng, 2)
    basis = Basis.from_matrix(nk.A, shift=horizon if shift == "T" else shift)
    exact = _exact(spec, u, horizon, eps)
    for level in (3, 4):  # the readout has degree 3: level >= 3 is exact
        rep = represent(nk, u, horizon, eps, basis, level)
        np.testing.assert_allclose(rep.value, exact, rtol=1e-8)
        assert rep.truncation["neglected"] == []
        assert rep.truncation["projection_residual"] < 1e-12
        assert rep.feature_size == sum(6**n for n in range(1, level + 1))
    low = represent(nk, u, horizon, eps, basis, 2)
    assert np.abs(low.value - exact).max() > 1e-6  # order 3 is really missing
    assert "series order 3" in low.truncation["neglected"][0]


def test_non_polynomial_readout_terms_match_resummation(rng: np.random.Generator) -> None:
    spec, nk = _setup("ou2_tanh", 3)
    horizon, eps = 2.5, 0.6
    u = _smooth_input(rng, 1)
    rep = represent(nk, u, horizon, eps, Basis.from_matrix(nk.A, shift=horizon), 3)
    system = oracles.system_from_spec(spec)
    expected = oracles.resummation_terms(system, lambda s: u(s)[0], horizon, eps, 3, radius=0.4, nodes=40)
    np.testing.assert_allclose(rep.terms, expected, rtol=1e-9, atol=1e-12)
    assert "O(eps^4)" in rep.truncation["neglected"][0]


# -- convergence with polynomial bases ----------------------------------------------------------


def test_monomial_basis_converges_geometrically(cubic, rng: np.random.Generator) -> None:
    spec, nk = cubic
    horizon, eps = 3.0, 0.7
    u = _smooth_input(rng, 2)
    exact = _exact(spec, u, horizon, eps)
    errors = []
    for degree in range(1, 8):
        rep = represent(nk, u, horizon, eps, Basis.monomial(degree), 3)
        errors.append(float(np.abs(rep.value - exact).max() / np.abs(exact).max()))
    errors = np.array(errors)
    assert np.all(np.diff(np.log10(errors)) < -0.3), errors  # each degree gains > 2x
    assert errors[-1] < 1e-8
    # geometric: a straight-line fit of log10(error) has slope below -1 digit per degree
    assert np.polyfit(np.arange(errors.size), np.log10(errors), 1)[0] < -1.0


def test_legendre_equals_monomial_and_taylor_converges(cubic, rng: np.random.Generator) -> None:
    spec, nk = cubic
    horizon, eps = 1.0, 0.5
    u = _smooth_input(rng, 2)
    exact = _exact(spec, u, horizon, eps)
    mono = represent(nk, u, horizon, eps, Basis.monomial(4), 3).value
    leg = represent(nk, u, horizon, eps, Basis.legendre(4, horizon), 3).value
    np.testing.assert_allclose(mono, leg, rtol=1e-10)  # same function space, same L2 projection
    taylor = [
        float(np.abs(represent(nk, u, horizon, eps, Basis.monomial(d), 3, projection="taylor").value - exact).max())
        for d in (2, 4, 6, 8)
    ]
    assert taylor == sorted(taylor, reverse=True) and taylor[-1] < 1e-6


def test_expansion_residuals_and_errors() -> None:
    A = np.array([[-1.0, 0.5], [-0.5, -1.0]])
    C = np.array([[1.0], [0.3]])
    exp = expand_propagator(A, C, 2.0, Basis.from_matrix(A))
    assert exp.matrix.shape == (2, 2) and exp.residual < 1e-13
    residuals = [expand_propagator(A, C, 2.0, Basis.legendre(d, 2.0)).residual for d in range(6)]
    assert residuals == sorted(residuals, reverse=True)
    with pytest.raises(InputError, match="monomial"):
        expand_propagator(A, C, 2.0, Basis.legendre(2, 2.0), projection="taylor")
    with pytest.raises(InputError, match="horizon"):
        expand_propagator(A, C, 0.0, Basis.monomial(2))


def test_signature_weights_reverse_words() -> None:
    rng = np.random.default_rng(SEED)
    a3 = rng.normal(size=(2, 3, 3, 3))
    w = signature_weights([np.zeros((2, 3)), np.zeros((2, 3, 3)), a3], eps=0.5)
    level3 = w[:, 12:].reshape(2, 3, 3, 3)
    np.testing.assert_array_equal(level3, 0.125 * a3.transpose(0, 3, 2, 1))
    with pytest.raises(InputError):
        signature_weights([np.zeros((2, 3)), np.zeros((2, 3, 4))])


def test_readout_needs_derived_order(cubic) -> None:
    spec, _ = cubic
    nk = numeric_kernels(derive_kernels(build_model(spec), order=1))
    with pytest.raises(InputError, match="order"):
        readout_coefficients(nk, 1.0, Basis.monomial(1), 2)


# -- command line ------------------------------------------------------------------------------


def _cli_json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_represent_matches_exact_resummation(capsys) -> None:
    spec_path = ROOT / "derivations" / "ou3_cubic.toml"
    inputs = ["sin(1.3*t) + 0.4", "cos(0.7*t)*exp(-0.1*t)"]
    horizon, eps = 3.0, 0.6
    out = _cli_json(capsys, ["represent", str(spec_path), "--input", inputs[0], "--input", inputs[1],
                             "--t", str(horizon), "--eps", str(eps), "--basis", "spectral", "--level", "3",
                             "--json"])

    def u(t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        return np.stack([np.sin(1.3 * t) + 0.4, np.cos(0.7 * t) * np.exp(-0.1 * t)], -1)

    exact = _exact(load_spec(spec_path), u, horizon, eps)
    np.testing.assert_allclose(out["value"], exact, rtol=1e-8)
    assert out["feature_size"] == 6 + 36 + 216
    assert out["truncation"]["level"] == 3 and out["truncation"]["basis"]["kind"] == "spectral"
    assert out["truncation"]["neglected"] == []
    mono = _cli_json(capsys, ["represent", str(spec_path), "--input", inputs[0], "--input", inputs[1],
                              "--t", str(horizon), "--eps", str(eps), "--basis", "monomial", "--degree", "3",
                              "--level", "3", "--json"])
    assert mono["feature_size"] == 8 + 64 + 512
    assert mono["truncation"]["projection_residual"] > 1e-4
    assert "monomial basis" in mono["truncation"]["neglected"][0]
    assert 1e-8 < np.abs(np.array(mono["value"]) - exact).max() < 1e-2


def test_cli_feature_routes_and_layout(capsys) -> None:
    horizon = 2.0
    base = ["feature", "--input", "sin(t)", "--input", "1 + t**2", "--t", str(horizon), "--basis", "legendre",
            "--degree", "1", "--level", "2", "--json"]
    spectral = _cli_json(capsys, base)
    pw = _cli_json(capsys, base + ["--method", "pwlinear", "--samples", "2001"])
    assert spectral["size"] == 4 + 16 == len(spectral["feature"])
    assert "earliest time first" in spectral["layout"]
    np.testing.assert_allclose(pw["feature"], spectral["feature"], rtol=1e-5, atol=1e-6)  # O(dt^2)
    # level 1, channel k*d + j, is int_0^T u^k psi_j by SciPy
    basis = Basis.legendre(1, horizon)
    funcs = [np.sin, lambda t: 1 + t**2]
    for k in range(2):
        for j in range(2):
            expected = integrate.quad(lambda s, k=k, j=j: funcs[k](s) * basis.evaluate([s])[0, j], 0, horizon)[0]
            assert spectral["feature"][channel_index(k, j, 2)] == pytest.approx(expected, rel=1e-12, abs=1e-13)
    # level 2: S_ab + S_ba = X^a X^b (shuffle identity)
    x = np.array(spectral["feature"][:4])
    s2 = np.array(spectral["feature"][4:]).reshape(4, 4)
    np.testing.assert_allclose(s2 + s2.T, np.outer(x, x), rtol=1e-12, atol=1e-13)


def test_cli_feature_spectral_basis_from_spec(capsys) -> None:
    spec_path = ROOT / "derivations" / "ou2_quadratic.toml"
    out = _cli_json(capsys, ["feature", str(spec_path), "--input", "exp(-t)", "--t", "1.5",
                             "--basis", "spectral", "--level", "2", "--json"])
    A = np.array([[-1.5, 0.5], [-0.3, -1.0]])
    assert out["basis"]["size"] == 2 and out["dim"] == 2
    expected = response_feature_callable(lambda t: np.exp(-t), 1.5, Basis.from_matrix(A, shift=1.5), 2, nodes=64)
    np.testing.assert_allclose(out["feature"], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["feature", "--input", "t", "--t", "1", "--basis", "spectral", "--level", "2"], "--basis"),
        (["feature", "--input", "t", "--t", "1", "--basis", "exponential", "--level", "2"], "--rates"),
        (["feature", "--input", "t", "--t", "1", "--basis", "exponential", "--rates", "1,x", "--level", "2"],
         "--rates"),
        (["feature", "--input", "t", "--t", "1", "--basis", "spectral", "--degree", "2", "--level", "2"],
         "--degree"),
        (["feature", "--input", "t", "--t", "0", "--basis", "monomial", "--level", "2"], "--t"),
        (["feature", "--input", "t", "--t", "1", "--basis", "monomial", "--level", "0"], "--level"),
        (["feature", "--input", "__import__('os')", "--t", "1", "--basis", "monomial", "--level", "1"], "--input"),
        (["feature", "--input", "log(t - 2)", "--t", "1", "--basis", "monomial", "--level", "1"], "--input"),
        (["represent", "derivations/ou3_cubic.toml", "--input", "t", "--t", "1", "--eps", "1", "--basis",
          "spectral", "--level", "2"], "--input"),
        (["represent", "derivations/ou3_cubic.toml", "--input", "t", "--input", "t", "--t", "1", "--eps", "1",
          "--basis", "spectral", "--level", "9"], "signature terms"),
    ],
)
def test_cli_bad_input_one_line_exit_2(capsys, monkeypatch, argv: list[str], field: str) -> None:
    monkeypatch.chdir(ROOT)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("volterra-sym: error:") and field in err
