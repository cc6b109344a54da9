"""Truncated signatures: layout, pysiglib/NumPy/iisignature agreement, Chen, smooth route."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from volterra_sym.errors import InputError, MissingExtraError
from volterra_sym.features import chen
from volterra_sym.features.signature import (
    chen_product,
    sig_length,
    signature,
    signature_reference,
    smooth_signature,
)

SEED = 20240611
HYP = settings(max_examples=30, deadline=None)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


def _levels(sig: np.ndarray, dim: int, level: int) -> list[np.ndarray]:
    out, start = [], 0
    for n in range(1, level + 1):
        out.append(sig[..., start : start + dim**n])
        start += dim**n
    return out


def _tensor_product(a: np.ndarray, b: np.ndarray, dim: int, level: int) -> np.ndarray:
    """Truncated tensor-algebra product, written out independently of the module."""
    la = [np.ones(1)] + _levels(a, dim, level)
    lb = [np.ones(1)] + _levels(b, dim, level)
    return np.concatenate(
        [sum(np.outer(la[i], lb[n - i]).ravel() for i in range(n + 1)) for n in range(1, level + 1)]
    )


def _monomial_curve_signature(powers: list[int], coef: list[float], level: int) -> np.ndarray:
    """Exact signature of X^a_t = coef_a t^powers_a on [0, 1] (powers >= 1).

    Iterating int_0^t r^p d(c r^k) = c k r^(p+k) / (p+k) gives
    S_w = prod_i c_{w_i} k_{w_i} / (k_{w_1} + ... + k_{w_i}).
    """
    dim = len(powers)
    parts = []
    for n in range(1, level + 1):
        vals = []
        for word in product(range(dim), repeat=n):
            acc, total = 1.0, 0
            for a in word:
                total += powers[a]
                acc *= coef[a] * powers[a] / total
            vals.append(acc)
        parts.append(np.array(vals))
    return np.concatenate(parts)


paths = st.tuples(
    st.integers(1, 12), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1)
)


@HYP
@given(paths)
def test_signature_matches_numpy_reference_and_pysiglib(case: tuple[int, int, int, int]) -> None:
    pysiglib = pytest.importorskip("pysiglib")
    n_t, dim, level, seed = case
    path = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n_t, dim))
    got = signature(path, level)
    assert got.shape == (sig_length(dim, level),)
    np.testing.assert_allclose(got, signature_reference(path, level), rtol=1e-12, atol=1e-12)
    if n_t > 1:
        direct = pysiglib.sig(np.ascontiguousarray(path), level)
        np.testing.assert_allclose(got, direct, rtol=1e-12, atol=1e-12)


@HYP
@given(paths, st.integers(1, 200))
def test_numpy_backend_matches_reference_in_any_chunking(case: tuple[int, int, int, int], chunk: int) -> None:
    """The NumPy route (used without the [signature] extra) against the one-segment-at-a-time reference,
    with the segments split into chunks of every size."""
    n_t, dim, level, seed = case
    path = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(2, n_t, dim))
    saved = chen._NUMPY_CHUNK_ENTRIES
    chen._NUMPY_CHUNK_ENTRIES = chunk * 2 * sig_length(dim, level)
    try:
        got = signature(path, level, backend="numpy", scalar_term=True)
    finally:
        chen._NUMPY_CHUNK_ENTRIES = saved
    np.testing.assert_allclose(got, signature_reference(path, level, scalar_term=True), rtol=1e-12, atol=1e-12)


def test_numpy_chen_product_is_the_tensor_product(rng: np.random.Generator) -> None:
    a, b = rng.normal(size=(2, sig_length(3, 3)))
    got = chen_product(a, b, 3, 3, backend="numpy")
    np.testing.assert_allclose(got, _tensor_product(a, b, 3, 3), rtol=1e-13, atol=1e-14)


def test_without_pysiglib_the_numpy_route_answers(monkeypatch: pytest.MonkeyPatch, rng) -> None:
    monkeypatch.setattr(chen, "_PYSIGLIB", [])
    monkeypatch.setitem(__import__("sys").modules, "pysiglib", None)  # import pysiglib -> ImportError
    assert chen.signature_backend() == "numpy"
    path = rng.normal(size=(6, 2))
    np.testing.assert_allclose(signature(path, 3), signature_reference(path, 3), rtol=1e-12, atol=1e-13)
    with pytest.raises(MissingExtraError, match=r"pip install 'volterra-sym\[signature\]'"):
        signature(path, 3, backend="pysiglib")
    with pytest.raises(InputError, match="backend"):
        signature(path, 3, backend="torch")


def test_batch_equals_loop(rng: np.random.Generator) -> None:
    batch = rng.normal(size=(5, 9, 3))
    got = signature(batch, 3)
    assert got.shape == (5, sig_length(3, 3))
    for b in range(5):
        np.testing.assert_allclose(got[b], signature_reference(batch[b], 3), rtol=1e-12, atol=1e-13)


def test_layout_first_index_is_earliest_time() -> None:
    # Move along e0 by 2, then along e1 by 3: only the word (0, 1) has an ordered pair.
    path = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 3.0]])
    lv1, lv2 = _levels(signature(path, 2), 2, 2)
    np.testing.assert_allclose(lv1, [2.0, 3.0])
    np.testing.assert_allclose(lv2, [2.0, 6.0, 0.0, 4.5], atol=1e-14)


def test_straight_line_is_tensor_exponential(rng: np.random.Generator) -> None:
    inc = rng.normal(size=3)
    got = signature(np.stack([np.zeros(3), inc]), 4)
    expected, term = [], np.ones(1)
    for n in range(1, 5):
        term = np.outer(term, inc).ravel() / n
        expected.append(term)
    np.testing.assert_allclose(got, np.concatenate(expected), rtol=1e-13)


def test_scalar_term_and_single_point(rng: np.random.Generator) -> None:
    path = rng.normal(size=(6, 2))
    with_one = signature(path, 3, scalar_term=True)
    assert with_one[0] == 1.0
    np.testing.assert_allclose(with_one[1:], signature(path, 3), rtol=0, atol=0)
    assert sig_length(2, 3, scalar_term=True) == with_one.size
    np.testing.assert_array_equal(signature(path[:1], 2), np.zeros(6))
    assert signature(np.zeros((0, 4, 2)), 2).shape == (0, 6)


@HYP
@given(st.integers(2, 10), st.integers(1, 3), st.integers(1, 4), st.data())
def test_chen_identity(n_t: int, dim: int, level: int, data: st.DataObject) -> None:
    seed = data.draw(st.integers(0, 2**32 - 1))
    cut = data.draw(st.integers(0, n_t - 1))
    path = np.random.default_rng(seed).normal(size=(n_t, dim))
    head, tail = signature(path[: cut + 1], level), signature(path[cut:], level)
    whole = signature(path, level)
    scale = max(1.0, float(np.abs(whole).max()))
    np.testing.assert_allclose(
        _tensor_product(head, tail, dim, level), whole, rtol=1e-12, atol=1e-12 * scale
    )
    np.testing.assert_allclose(
        chen_product(head, tail, dim, level), whole, rtol=1e-12, atol=1e-12 * scale
    )


def test_iisignature_cross_check(rng: np.random.Generator) -> None:
    iisignature = pytest.importorskip("iisignature")
    for dim, level in [(1, 5), (2, 4), (3, 3), (5, 2)]:
        path = rng.normal(size=(17, dim))
        np.testing.assert_allclose(
            signature(path, level), iisignature.sig(path, level), rtol=1e-12, atol=1e-12
        )


def test_signature_of_monomial_curve_closed_form() -> None:
    powers, coef, level = [1, 2, 3], [1.0, -0.5, 2.0], 4
    exact = _monomial_curve_signature(powers, coef, level)
    t = np.linspace(0.0, 1.0, 4001)
    path = np.stack([c * t**k for c, k in zip(coef, powers, strict=True)], axis=-1)
    # Polyline error is O(h^2) with h = 1/4000.
    np.testing.assert_allclose(signature(path, level), exact, atol=1e-6)


def test_smooth_signature_exact_for_polynomial_velocity() -> None:
    powers, coef, level = [1, 2, 3], [1.0, -0.5, 2.0], 4
    exact = _monomial_curve_signature(powers, coef, level)

    def velocity(t: np.ndarray) -> np.ndarray:
        return np.stack([c * k * t ** (k - 1) for c, k in zip(coef, powers, strict=True)], axis=-1)

    # Level-4 integrand has degree <= 4*3 - 1 = 11, interpolated exactly by 12 nodes.
    got = smooth_signature(velocity, 0.0, 1.0, level, nodes=12)
    np.testing.assert_allclose(got, exact, rtol=1e-12, atol=1e-13)
    got_panels = smooth_signature(velocity, 0.0, 1.0, level, nodes=12, panels=3)
    np.testing.assert_allclose(got_panels, exact, rtol=1e-12, atol=1e-13)


def test_smooth_signature_levy_area_of_circle() -> None:
    # X_t = (cos t - 1, sin t): Levy area (1/2) int x dy - y dx = (t - sin t) / 2.
    t_end = 5.0

    def velocity(t: np.ndarray) -> np.ndarray:
        return np.stack([-np.sin(t), np.cos(t)], axis=-1)

    got = smooth_signature(velocity, 0.0, t_end, 2, nodes=40)
    dx, dy = math.cos(t_end) - 1.0, math.sin(t_end)
    area = 0.5 * (t_end - math.sin(t_end))
    expected = [dx, dy, dx * dx / 2, dx * dy / 2 + area, dx * dy / 2 - area, dy * dy / 2]
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)


def test_smooth_signature_converges_geometrically() -> None:
    def velocity(t: np.ndarray) -> np.ndarray:
        return np.stack([np.exp(-t) * np.cos(3 * t), np.sin(2 * t)], axis=-1)

    ref = smooth_signature(velocity, 0.0, 3.0, 4, nodes=64)
    errors = [
        np.abs(smooth_signature(velocity, 0.0, 3.0, 4, nodes=q) - ref).max() for q in (8, 16, 24)
    ]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-10
    # An independent route: pysiglib on a fine polyline of the closed-form path agrees to O(h^2).
    t = np.linspace(0.0, 3.0, 30001)
    x0 = (np.exp(-t) * (3 * np.sin(3 * t) - np.cos(3 * t)) + 1.0) / 10.0
    path = np.stack([x0, (1.0 - np.cos(2 * t)) / 2.0], axis=-1)
    np.testing.assert_allclose(signature(path, 4), ref, atol=1e-8)


def test_smooth_signature_batch_velocity() -> None:
    def velocity(t: np.ndarray) -> np.ndarray:
        return np.stack([np.stack([np.cos(t), t], -1), np.stack([t**2, np.ones_like(t)], -1)])

    got = smooth_signature(velocity, 0.0, 1.0, 3, nodes=16, scalar_term=True)
    assert got.shape == (2, sig_length(2, 3, scalar_term=True))
    exact = _monomial_curve_signature([3, 1], [1.0 / 3.0, 1.0], 3)
    np.testing.assert_allclose(got[1, 1:], exact, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"path": np.zeros(5), "level": 2}, "path"),
        ({"path": np.zeros((2, 3, 4, 5)), "level": 2}, "path"),
        ({"path": np.zeros((0, 3)), "level": 2}, "path"),
        ({"path": [[0.0, np.nan], [1.0, 2.0]], "level": 2}, "path"),
        ({"path": [["a", "b"]], "level": 2}, "path"),
        ({"path": np.zeros((3, 2)), "level": 0}, "level"),
        ({"path": np.zeros((3, 2)), "level": True}, "level"),
        ({"path": np.zeros((3, 2)), "level": 2.0}, "level"),
        ({"path": np.zeros((3, 50)), "level": 5}, "level"),
    ],
)
def test_invalid_input_raises_input_error(kwargs: dict, field: str) -> None:
    with pytest.raises(InputError) as info:
        signature(**kwargs)
    assert info.value.field == field
    assert "\n" not in str(info.value)


def test_smooth_signature_rejects_bad_velocity() -> None:
    with pytest.raises(InputError, match="velocity"):
        smooth_signature(lambda t: t, 0.0, 1.0, 2)
    with pytest.raises(InputError, match="interval"):
        smooth_signature(lambda t: t[:, None], 1.0, 0.0, 2)
    with pytest.raises(InputError, match="nodes"):
        smooth_signature(lambda t: t[:, None], 0.0, 1.0, 2, nodes=1)


def test_chen_product_rejects_mismatched_shapes() -> None:
    with pytest.raises(InputError, match="sig_b"):
        chen_product(np.zeros(6), np.zeros(5), 2, 2)
