"""Support bases and the response feature, checked against independent routes."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from scipy import integrate, linalg, special

from volterra_sym.errors import InputError
from volterra_sym.features.feature import (
    Basis,
    channel_index,
    feature_path,
    response_feature,
    response_feature_callable,
)
from volterra_sym.features.signature import sig_length, signature

SEED = 20240611


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


BASES = [
    Basis.monomial(3),
    Basis.legendre(4, 2.5),
    Basis.exponential([0.4, -1.3, 0.0]),
    Basis.spectral([-0.7 + 2.0j, -0.7 - 2.0j, -1.5]),
    Basis.spectral([-0.7 + 2.0j, -0.7 - 2.0j, -1.5], shift=2.5),
    Basis.from_matrix([[-1.0, 1.0], [0.0, -1.0]]),
]


def _levels(sig: np.ndarray, dim: int, level: int) -> list[np.ndarray]:
    out, start = [], 0
    for n in range(1, level + 1):
        out.append(sig[..., start : start + dim**n])
        start += dim**n
    return out


# -- bases --------------------------------------------------------------------------------------


def test_basis_values_match_formulas() -> None:
    s = np.linspace(0.0, 2.5, 7)
    np.testing.assert_allclose(
        Basis.monomial(3).evaluate(s), np.stack([s**j for j in range(4)], -1)
    )
    np.testing.assert_allclose(
        Basis.legendre(4, 2.5).evaluate(s),
        np.stack([special.eval_legendre(j, 2 * s / 2.5 - 1) for j in range(5)], -1),
        atol=1e-14,
    )
    np.testing.assert_allclose(
        Basis.exponential([0.4, -1.3]).evaluate(s), np.exp(np.outer(s, [0.4, -1.3]))
    )
    # Eigenvalues -a +- ib of A: exp(-A s) has e^{a s} cos(b s), e^{a s} sin(b s).
    z = s - 2.5
    np.testing.assert_allclose(
        BASES[4].evaluate(s),
        np.stack(
            [np.exp(0.7 * z) * np.cos(2 * z), np.exp(0.7 * z) * np.sin(2 * z), np.exp(1.5 * z)], -1
        ),
        rtol=1e-14,
    )
    assert BASES[5].labels == ("exp(1 s)", "s exp(1 s)")
    assert [b.size for b in BASES] == [4, 5, 3, 3, 3, 2]


@pytest.mark.parametrize("basis", BASES, ids=repr)
def test_basis_derivative_and_integral(basis: Basis) -> None:
    s = np.array([0.3, 1.1, 2.2])
    h = 1e-5
    fd = (basis.evaluate(s + h) - basis.evaluate(s - h)) / (2 * h)
    np.testing.assert_allclose(basis.derivative(s), fd, rtol=1e-8, atol=1e-8)
    a, b = np.array([0.0, 0.4, 1.0]), np.array([0.4, 2.5, 1.05])
    quad = np.array(
        [
            [
                integrate.quad(lambda x, j=j: basis.evaluate([x])[0, j], lo, hi, epsabs=1e-13)[0]
                for j in range(basis.size)
            ]
            for lo, hi in zip(a, b, strict=True)
        ]
    )
    np.testing.assert_allclose(basis.integrate(a, b), quad, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize(
    "matrix",
    [
        [[-0.5, 2.0], [-2.0, -0.5]],
        [[-1.0, 0.3, 0.0], [0.0, -2.0, 0.1], [0.2, 0.0, -0.4]],
        [[-1.0, 1.0, 0.0], [0.0, -1.0, 1.0], [0.0, 0.0, -1.0]],
        [
            [-0.2, 1.0, 0.0, 0.0],
            [-1.0, -0.2, 1.0, 0.0],
            [0.0, 0.0, -0.2, 1.0],
            [0.0, 0.0, -1.0, -0.2],
        ],
    ],
    ids=["complex-pair", "real-distinct", "jordan-3", "repeated-complex-pair"],
)
def test_spectral_basis_spans_matrix_exponential(matrix: list[list[float]]) -> None:
    a = np.array(matrix)
    horizon = 3.0
    s = np.linspace(0.0, horizon, 41)
    target = np.stack([linalg.expm(a * (horizon - x)).ravel() for x in s])
    for shift in (0.0, horizon):
        basis = Basis.from_matrix(a, shift=shift)
        assert basis.size == a.shape[0]
        values = basis.evaluate(s)
        coef = np.linalg.lstsq(values, target, rcond=None)[0]
        np.testing.assert_allclose(values @ coef, target, atol=1e-9)


def test_spectral_basis_validation() -> None:
    with pytest.raises(InputError, match="conjugate") as info:
        Basis.spectral([-1.0 + 1.0j, -2.0])
    assert info.value.field == "eigenvalues"
    with pytest.raises(InputError, match="distinct"):
        Basis.exponential([1.0, 1.0])
    with pytest.raises(InputError, match="spectral"):
        Basis.exponential([1.0 + 1.0j])
    with pytest.raises(InputError, match="horizon"):
        Basis.legendre(2, 0.0)
    with pytest.raises(InputError, match="degree"):
        Basis.monomial(-1)
    with pytest.raises(InputError, match="matrix"):
        Basis.from_matrix(np.ones((2, 3)))


@pytest.mark.parametrize("basis", BASES, ids=repr)
def test_basis_repr_round_trips(basis: Basis) -> None:
    assert eval(repr(basis), {"Basis": Basis}) == basis


# -- feature path -------------------------------------------------------------------------------


@pytest.mark.parametrize("basis", BASES[:4], ids=repr)
def test_feature_path_matches_quadrature(basis: Basis, rng: np.random.Generator) -> None:
    dt, u = 0.5, rng.normal(size=(6, 2))
    times = dt * np.arange(6)
    path = feature_path(u, dt, basis, refine=2)
    assert path.shape == (11, 2 * basis.size)
    for step, t_end in enumerate(np.arange(11) * dt / 2):
        for k, j in product(range(2), range(basis.size)):
            expected = (
                integrate.quad(
                    lambda s, k=k, j=j: np.interp(s, times, u[:, k]) * basis.evaluate([s])[0, j],
                    0.0,
                    t_end,
                    points=list(times),
                    epsabs=1e-13,
                    limit=200,
                )[0]
                if t_end > 0
                else 0.0
            )
            assert path[step, channel_index(k, j, basis.size)] == pytest.approx(
                expected, rel=1e-11, abs=1e-12
            )


# -- response feature ---------------------------------------------------------------------------


def _constant_input_monomial_signature(
    c: np.ndarray, degree: int, horizon: float, level: int
) -> np.ndarray:
    """Exact feature for u = c (constant) and psi_j = s^j.

    X^(k,j)_t = c_k t^(j+1) / (j+1), a monomial curve, whose signature is
    S_w = prod_i alpha_{w_i} e_{w_i} T^{e_{w_i}} / (e_{w_1} + ... + e_{w_i}).
    """
    alpha, power = [], []
    for k in range(c.size):
        for j in range(degree + 1):
            alpha.append(c[k] / (j + 1))
            power.append(j + 1)
    parts = []
    for n in range(1, level + 1):
        vals = []
        for word in product(range(len(alpha)), repeat=n):
            acc, total = 1.0, 0
            for a in word:
                total += power[a]
                acc *= alpha[a] * power[a] / total
            vals.append(acc * horizon**total)
        parts.append(np.array(vals))
    return np.concatenate(parts)


def test_monomial_feature_closed_form_and_pwlinear_convergence() -> None:
    c = np.array([0.8, -0.6])
    dt, n_t, degree, level = 0.25, 9, 2, 3
    u = np.tile(c, (n_t, 1))
    exact = _constant_input_monomial_signature(c, degree, dt * (n_t - 1), level)
    basis = Basis.monomial(degree)
    spectral = response_feature(u, dt, basis, level, method="spectral")
    np.testing.assert_allclose(spectral, exact, rtol=1e-12, atol=1e-14)
    errors = [
        np.abs(response_feature(u, dt, basis, level, refine=r) - exact).max() for r in (2, 4, 8, 16)
    ]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 1.8) & (orders < 2.2)), orders


@pytest.mark.parametrize("basis", [BASES[1], BASES[3], BASES[5]], ids=repr)
def test_spectral_route_matches_refined_pwlinear(basis: Basis, rng: np.random.Generator) -> None:
    dt, u, level = 0.25, rng.normal(size=(11, 2)) * 0.7, 3
    spectral = response_feature(u, dt, basis, level, method="spectral")
    # pysiglib on polylines of X refined r times: error c/r^2 + O(r^-4); Richardson removes c.
    coarse = response_feature(u, dt, basis, level, refine=64)
    fine = response_feature(u, dt, basis, level, refine=128)
    scale = np.abs(spectral).max()
    assert np.abs(fine - spectral).max() < np.abs(coarse - spectral).max()
    np.testing.assert_allclose((4 * fine - coarse) / 3, spectral, atol=2e-9 * scale)


def test_feature_batch_and_channel_order(rng: np.random.Generator) -> None:
    basis, dt = Basis.exponential([-0.5, 0.2]), 0.3
    batch = rng.normal(size=(3, 8, 2))
    feats = response_feature(batch, dt, basis, 2, method="spectral")
    assert feats.shape == (3, sig_length(4, 2))
    for b in range(3):
        np.testing.assert_allclose(
            feats[b], response_feature(batch[b], dt, basis, 2, method="spectral"), rtol=1e-13
        )
    # Level 1 is X_T itself: channel (k, j) = int u^k psi_j.
    np.testing.assert_allclose(
        feats[:, :4], feature_path(batch, dt, basis)[:, -1], rtol=1e-12, atol=1e-14
    )
    one_channel = response_feature(batch[0, :, 0], dt, basis, 2)
    assert one_channel.shape == (sig_length(2, 2),)


def test_callable_route_matches_closed_form_path() -> None:
    # u(t) = (cos 2t, 1), psi = (1, e^{-t}): X in closed form; pysiglib on fine polylines,
    # Richardson-extrapolated, is an independent reference.
    horizon, level = 2.0, 4
    basis = Basis.exponential([0.0, -1.0])

    def u(t: np.ndarray) -> np.ndarray:
        return np.stack([np.cos(2 * t), np.ones_like(t)], -1)

    def x_closed(t: np.ndarray) -> np.ndarray:
        e = np.exp(-t)
        return np.stack(
            [np.sin(2 * t) / 2, (e * (2 * np.sin(2 * t) - np.cos(2 * t)) + 1) / 5, t, 1 - e], -1
        )

    got = response_feature_callable(u, horizon, basis, level, nodes=24)
    refs = [signature(x_closed(np.linspace(0, horizon, n + 1)), level) for n in (2000, 4000)]
    np.testing.assert_allclose(got, (4 * refs[1] - refs[0]) / 3, atol=1e-10)
    batch = response_feature_callable([u, u], horizon, basis, level, nodes=24, panels=2)
    np.testing.assert_allclose(batch, np.stack([got, got]), atol=1e-13)


def _ou_amplitudes(
    a: np.ndarray, c: np.ndarray, horizon: float, u: np.ndarray, dt: float
) -> np.ndarray:
    """delta_T = int_0^T e^{A(T-s)} C u_s ds for piecewise-linear u, by an ODE solver."""
    times = dt * np.arange(u.shape[0])

    def rhs(t: float, d: np.ndarray) -> np.ndarray:
        return a @ d + c @ np.array([np.interp(t, times, u[:, k]) for k in range(u.shape[1])])

    sol = integrate.solve_ivp(
        rhs,
        (0.0, horizon),
        np.zeros(a.shape[0]),
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
        t_eval=[horizon],
        first_step=dt / 8,
        max_step=dt / 4,
    )
    return sol.y[:, -1]


def test_feature_reproduces_ou_responses(rng: np.random.Generator) -> None:
    """Series terms of an OU SRNN are linear in Phi (theory.md 4 and 6).

    Linear readout V h: term 1 = V delta_T. Quadratic readout h'Mh: term 2 = delta_T' M delta_T
    with eps = 1. Kernels R(T - s) = e^{A(T-s)} C are expanded on the spectral basis of A, and
    the word of the level-2 coefficient is reversed (the signature lists the earliest time first).
    """
    a = np.array([[-0.6, 1.5], [-1.5, -0.6]])
    c = np.array([[1.0, 0.0], [0.3, -0.7]])
    m_mat = np.array([[1.0, 0.2], [0.2, 0.5]])
    v = np.array([0.4, -1.1])
    dt, n_t = 0.2, 16
    horizon = dt * (n_t - 1)
    u = rng.normal(size=(n_t, 2))
    basis = Basis.from_matrix(a, shift=horizon)
    d, m = basis.size, 2
    s = np.linspace(0.0, horizon, 60)
    kernel = np.stack([linalg.expm(a * (horizon - x)) for x in s])  # (S, n, n)
    coef = np.linalg.lstsq(basis.evaluate(s), kernel.reshape(len(s), -1), rcond=None)[0]
    e_j = coef.reshape(d, 2, 2)  # e^{A(T-s)} = sum_j psi_j(s) E_j
    g = np.einsum("jab,bk->kja", e_j, c)  # g[k, j] = E_j C_k

    phi = response_feature(u, dt, basis, 2, method="spectral")
    lv1, lv2 = _levels(phi, m * d, 2)
    delta = _ou_amplitudes(a, c, horizon, u, dt)

    a1 = np.einsum("a,kja->kj", v, g).ravel()  # index (k, j) -> k*d + j
    assert a1 @ lv1 == pytest.approx(v @ delta, rel=1e-9)

    # R2 on (s1 later, k1 j1), (s2 earlier, k2 j2); the feature word is (k2 j2)(k1 j1).
    a2 = 2 * np.einsum("kja,ab,lib->kjli", g, m_mat, g).reshape(m * d, m * d)
    assert np.sum(a2.T.ravel() * lv2) == pytest.approx(delta @ m_mat @ delta, rel=1e-9)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: response_feature(np.zeros((1, 2)), 0.1, Basis.monomial(1), 2), "u"),
        (lambda: response_feature(np.zeros((4, 2)), 0.0, Basis.monomial(1), 2), "dt"),
        (lambda: response_feature(np.zeros((4, 2)), 0.1, "monomial", 2), "basis"),
        (
            lambda: response_feature(np.zeros((4, 2)), 0.1, Basis.monomial(1), 2, method="x"),
            "method",
        ),
        (lambda: response_feature(np.zeros((4, 20)), 0.1, Basis.monomial(4), 5), "level"),
        (lambda: response_feature(np.full((4, 2), np.inf), 0.1, Basis.monomial(1), 2), "u"),
        (lambda: response_feature_callable(lambda t: t[:3], 1.0, Basis.monomial(1), 2), "u"),
        (lambda: response_feature_callable(np.sin, -1.0, Basis.monomial(1), 2), "horizon"),
    ],
)
def test_feature_validation(call, field: str) -> None:
    with pytest.raises(InputError) as info:
        call()
    assert info.value.field == field
