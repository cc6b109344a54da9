"""The runtime block shared by every generated module, tested once, on its own."""

from __future__ import annotations

import itertools

import numpy
import pytest
import scipy.integrate
import scipy.linalg

from volterra_sym.propagator import expm as engine_expm
from volterra_sym.codegen.render import runtime_source


@pytest.fixture(scope="module")
def rt():
    namespace = {"numpy": numpy, "__name__": "runtime_under_test"}
    exec(compile(runtime_source(), "_runtime.py", "exec"), namespace)
    return namespace


@pytest.fixture
def rng():
    return numpy.random.default_rng(20240611)


def _stable(rng, n):
    M = rng.normal(size=(n, n))
    return M - (numpy.abs(numpy.linalg.eigvals(M)).max() + 0.3) * numpy.eye(n)


def test_expm_matches_scipy_and_the_engine(rt, rng):
    stack = rng.normal(size=(5, 3, 3)) * numpy.array([0.01, 0.5, 2.0, 10.0, 40.0])[:, None, None]
    got = rt["_expm"](stack)
    for M, E in zip(stack, got):
        numpy.testing.assert_allclose(E, scipy.linalg.expm(M), rtol=1e-12, atol=1e-14 * numpy.abs(E).max())
    numpy.testing.assert_array_equal(got, engine_expm(stack))
    numpy.testing.assert_allclose(rt["_expm"](numpy.zeros((2, 2))), numpy.eye(2), rtol=1e-15)
    assert rt["_expm"](numpy.zeros((0, 2, 2))).shape == (0, 2, 2)


def test_step_operators_integrate_a_linear_input_exactly(rt, rng):
    A = _stable(rng, 3)
    dt = 0.37
    E, Pa, Pb = rt["_step_operators"](A, dt)
    numpy.testing.assert_allclose(E, scipy.linalg.expm(A * dt), rtol=1e-13)
    u0, u1 = rng.normal(size=3), rng.normal(size=3)
    exact, _ = scipy.integrate.quad_vec(
        lambda r: scipy.linalg.expm(A * (dt - r)) @ (u0 * (1 - r / dt) + u1 * r / dt), 0.0, dt, epsabs=1e-15)
    numpy.testing.assert_allclose(Pa @ u0 + Pb @ u1, exact, rtol=1e-12, atol=1e-15)


def _naive_series(A, C, moments, u, dt, eps, order):
    """Z_{i+1} = exp(x_i) (x) E^(x)k Z_i step by step with dense Kronecker matrices."""
    E = scipy.linalg.expm(A * dt)
    nh = A.shape[0]
    aug = numpy.zeros((3 * nh, 3 * nh))
    aug[:nh, :nh], aug[:nh, nh:2 * nh], aug[nh:2 * nh, 2 * nh:] = A * dt, numpy.eye(nh), numpy.eye(nh)
    F = scipy.linalg.expm(aug)
    Pa, Pb = dt * (F[:nh, nh:2 * nh] - F[:nh, 2 * nh:]), dt * F[:nh, 2 * nh:]
    kron = [numpy.ones((1, 1))]
    for _ in range(order):
        kron.append(numpy.kron(kron[-1], E))
    Z = [numpy.ones(1)] + [numpy.zeros(nh**k) for k in range(1, order + 1)]
    p = moments[0].shape[0]
    out = numpy.zeros((order + 1, len(u), p))
    out[0] = moments[0]
    for i in range(len(u) - 1):
        x = Pa @ (C @ u[i]) + Pb @ (C @ u[i + 1])
        X = [numpy.ones(1)]
        for k in range(1, order + 1):
            X.append(numpy.kron(X[-1], x) / k)
        P = [kron[k] @ Z[k] for k in range(order + 1)]
        Z = [sum(numpy.kron(X[j], P[k - j]) for j in range(k + 1)) for k in range(order + 1)]
        for k in range(1, order + 1):
            out[k, i + 1] = eps**k * moments[k].reshape(p, -1) @ Z[k]
    return out


def _moments(rng, p, nh, order):
    out = []
    for k in range(order + 1):
        M = rng.normal(size=(p,) + (nh,) * k)
        # symmetrise over the hidden axes, as <D^k f> is
        M = sum(M.transpose((0,) + tuple(1 + q for q in perm)) for perm in itertools.permutations(range(k)))
        out.append(M)
    return tuple(out)


@pytest.mark.parametrize("T", [1, 2, 3, 17, 101, 400])
def test_blocked_series_equals_the_naive_step_recursion(rt, rng, T):
    nh, m, p, order = 3, 2, 2, 3
    A, C = _stable(rng, nh), rng.normal(size=(nh, m))
    moments = _moments(rng, p, nh, order)
    u = rng.normal(size=(T, m))
    expected = _naive_series(A, C, moments, u, 0.05, 0.7, order)
    for kron in (64, 1):  # Kronecker powers, or axis by axis
        rt["_KRON_LIMIT"] = kron
        try:
            got = rt["_series_terms"](u, 0.05, 0.7, order, A, C, moments, order)
        finally:
            rt["_KRON_LIMIT"] = 64
        numpy.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-13)


def test_series_does_not_depend_on_blocking(rt, rng, monkeypatch):
    nh, m, p, order = 2, 1, 3, 4
    A, C = _stable(rng, nh), rng.normal(size=(nh, m))
    moments = _moments(rng, p, nh, order)
    u = rng.normal(size=(333, m))
    reference = rt["_series_terms"](u, 0.02, 1.3, order, A, C, moments, order)
    for memory, kron in itertools.product((31, 100, 1000, 1 << 20), (1, 4, 64)):
        # tiny blocks and many groups; Kronecker products for none, some or all levels
        rt["_SERIES_MEMORY"], rt["_KRON_LIMIT"] = memory, kron
        try:
            blocked = rt["_series_terms"](u, 0.02, 1.3, order, A, C, moments, order)
        finally:
            rt["_SERIES_MEMORY"], rt["_KRON_LIMIT"] = 1 << 20, 64
        numpy.testing.assert_allclose(blocked, reference, rtol=1e-11, atol=1e-13)


def test_first_order_term_is_exact_for_a_piecewise_linear_input(rt, rng):
    nh, m, dt, T = 2, 2, 0.3, 12
    A, C = _stable(rng, nh), rng.normal(size=(nh, m))
    moments = (numpy.zeros(nh), numpy.eye(nh))  # term 1 is then delta_t itself
    u = rng.normal(size=(T, m))
    got = rt["_series_terms"](u, dt, 1.0, 1, A, C, moments, 1)[1]
    state = numpy.zeros(nh)
    for i in range(T - 1):  # integrate knot to knot so the kinks are resolved exactly
        def rhs(t, y, i=i):
            w = (t - i * dt) / dt
            return A @ y + C @ (u[i] * (1 - w) + u[i + 1] * w)
        state = scipy.integrate.solve_ivp(rhs, (i * dt, (i + 1) * dt), state, method="DOP853",
                                          rtol=1e-13, atol=1e-15).y[:, -1]
        numpy.testing.assert_allclose(got[i + 1], state, rtol=1e-10, atol=1e-13)


def test_gaussian_mean_by_hermite_quadrature(rt):
    mu, S = numpy.array([0.3, -0.2]), numpy.array([[0.5, 0.1], [0.1, 0.4]])
    value = rt["_gaussian_mean"](lambda h1: h1**4, (0,), mu, S)
    assert value == pytest.approx(0.3**4 + 6 * 0.3**2 * 0.5 + 3 * 0.5**2, rel=1e-13)
    assert rt["_gaussian_mean"](lambda h1, h2: h1 * h2, (0, 1), mu, S) == pytest.approx(0.1 - 0.06, rel=1e-13)
    assert rt["_gaussian_mean"](lambda h2: numpy.cos(h2), (1,), mu, S) == pytest.approx(
        numpy.exp(-0.4 / 2) * numpy.cos(-0.2), rel=1e-12)
    with pytest.raises(FloatingPointError):
        rt["_gaussian_mean"](lambda h1: numpy.exp(40 * h1**2), (0,), mu, S)


def test_kernel_values_chunking_and_contraction(rt, rng, monkeypatch):
    nh, m, p, order = 3, 2, 2, 3
    A, C = _stable(rng, nh), rng.normal(size=(nh, m))
    moments = _moments(rng, p, nh, order)

    def propagator(tau):
        return scipy.linalg.expm(numpy.multiply.outer(tau, A)) if numpy.ndim(tau) == 0 else numpy.stack(
            [scipy.linalg.expm(t * A) for t in tau]).reshape(numpy.shape(tau) + (nh, nh))

    lags = [rng.uniform(0, 2, size=(5, 1)), rng.uniform(0, 2, size=(1, 4)), rng.uniform(0, 2, size=4)]
    full = rt["_kernel_values"](3, lags, moments, C, propagator, order)
    rt["_KERNEL_CHUNK"] = 3
    try:
        chunked = rt["_kernel_values"](3, lags, moments, C, propagator, order)
    finally:
        rt["_KERNEL_CHUNK"] = 1 << 15
    numpy.testing.assert_allclose(chunked, full, rtol=1e-14)
    b = numpy.broadcast_arrays(*lags)
    i, j = 4, 2
    s = numpy.cumsum([b[0][i, j], b[1][i, j], b[2][i, j]])
    V = [scipy.linalg.expm(A * t) @ C for t in s]
    expected = numpy.einsum("zabc,ax,by,cw->zxyw", moments[3], *V)
    numpy.testing.assert_allclose(full[i, j], expected, rtol=1e-12)


def test_argument_validation(rt):
    resolve = rt["_resolve"]
    assert resolve("f", {"a": numpy.float32(2)}, ("a", "b"), (1.0, 3.0)) == {"a": 2.0, "b": 3.0}
    with pytest.raises(TypeError, match="unexpected keyword argument 'c'; the parameters of this model are: a, b"):
        resolve("f", {"c": 1.0}, ("a", "b"), (1.0, 3.0))
    with pytest.raises(TypeError, match="none"):
        resolve("f", {"c": 1.0}, (), ())
    with pytest.raises(TypeError):
        resolve("f", {"a": True}, ("a",), (1.0,))
    with pytest.raises(TypeError):
        resolve("f", {"a": "1.0"}, ("a",), (1.0,))
    with pytest.raises(ValueError, match="scalar"):
        resolve("f", {"a": [1.0, 2.0]}, ("a",), (1.0,))
    with pytest.raises(ValueError, match="finite"):
        resolve("f", {"a": float("nan")}, ("a",), (1.0,))
    with pytest.raises(ValueError, match="no stationary law"):
        rt["_check_law"](numpy.array([[0.1]]), numpy.array([[1.0]]), {"a": 1.0})
    with pytest.raises(ValueError, match="positive definite"):
        rt["_check_law"](numpy.array([[-1.0]]), numpy.array([[-1.0]]), {})
