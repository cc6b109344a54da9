"""Time-augmented form: generator-word coefficients against the kernels' Taylor expansion and
the series at a short horizon."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import sympy

from volterra_sym import (
    build_model,
    derive_kernels,
    load_spec,
    numeric_kernels,
    series_terms,
)
from volterra_sym.features.augmented import (
    augmented_coefficients,
    augmented_feature,
    kernel_word,
)
from volterra_sym.classes.ou.derive import kernel_expression
from volterra_sym.features.signature import signature_reference

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def quadratic():
    kset = derive_kernels(build_model(load_spec(ROOT / "derivations" / "ou2_quadratic.toml")), order=2)
    return kset, numeric_kernels(kset)

@pytest.mark.slow  # slower than ~3 s on the 2-core machine: run with -m slow (CI runs both)

def test_coefficients_are_taylor_coefficients_of_the_kernels(quadratic) -> None:
    """For n <= 2, k in {0}^n and p_j <= 2:

        d^{p_1}_{tau_1} ... d^{p_n}_{tau_n} R^(n)_{f_q; k}(0, ..., 0)
            == coefficient of the word (k_n+1) 0^{p_n} ... (k_1+1) 0^{p_1},

    the left side from SymPy derivatives of the closed-form kernel (derive.kernel_expression,
    built from e^{A tau}), the right side from stationary means of generator words.
    """
    kset, _ = quadratic
    level = 6
    aug = augmented_coefficients(kset, level)
    checked = 0
    for n in (1, 2):
        for powers in itertools.product(range(3), repeat=n):
            word = kernel_word((0,) * n, powers)
            for q in range(kset.model.n_outputs):
                kernel = kernel_expression(kset, q, (0,) * n, tidy=False)
                for lag, p in zip(kset.lags, powers):
                    kernel = sympy.diff(kernel, lag, p)
                expected = complex(sympy.N(kernel.subs({lag: 0 for lag in kset.lags}), 30))
                got = aug.coefficients.get(word, (0,) * kset.model.n_outputs)[q]
                assert complex(sympy.N(got, 30)) == pytest.approx(expected, rel=1e-20, abs=1e-20)
                checked += 1
    assert checked == 2 * (3 + 9)


def test_structure_of_the_words(quadratic) -> None:
    kset, _ = quadratic
    aug = augmented_coefficients(kset, 5)
    assert all(word[0] != 0 for word in aug.coefficients)  # <L0 g> = 0
    # a quadratic readout: at most two input letters; the linear output only one
    assert max(sum(1 for a in w if a) for w in aug.coefficients) == 2
    assert all(c[1] == 0 for w, c in aug.coefficients.items() if sum(1 for a in w if a) == 2)
    assert kernel_word((0, 1), (2, 1)) == (2, 0, 1, 0, 0)


def test_augmented_feature_layout() -> None:
    # U = (t, int u) for u = cos: compare with the NumPy Chen recursion on a fine polyline
    t = np.linspace(0.0, 0.8, 4001)
    path = np.stack([t, np.sin(t)], -1)
    ref = signature_reference(path, 3)
    got = augmented_feature(np.cos, 0.8, 3)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-8)


def test_time_augmented_representation_reproduces_the_series(quadratic) -> None:
    """At T = 0.5 the signature of U_t = (t, int_0^t u) with the word coefficients reproduces every
    series term (core series_terms, an ODE route), with the error falling geometrically in the
    signature level."""
    kset, nk = quadratic
    horizon, eps = 0.5, 0.7

    def u(t):
        return (np.cos(2.0 * np.asarray(t)) + 0.5)[:, None]

    series = series_terms(nk, u, horizon, eps).terms
    errors = []
    for level in (4, 6, 8, 10):
        aug = augmented_coefficients(kset, level)
        terms = aug.terms(augmented_feature(u, horizon, level), eps)
        errors.append(float(np.abs(terms - series).max()))
    assert errors[-1] < 1e-6 * np.abs(series).max()
    assert all(b < a / 5 for a, b in itertools.pairwise(errors)), errors
    # the weights are linear in eps^(input letters): scaling the path by eps is the same thing
    aug = augmented_coefficients(kset, 6)
    scaled = aug.weights(1.0) @ augmented_feature(u, horizon, 6, eps=eps)
    unscaled = aug.weights(eps) @ augmented_feature(u, horizon, 6)
    np.testing.assert_allclose(scaled, unscaled, rtol=1e-12)

@pytest.mark.slow  # slower than ~3 s on the 2-core machine: run with -m slow (CI runs both)

def test_two_inputs_and_a_cubic_readout() -> None:
    spec = load_spec(ROOT / "derivations" / "ou3_cubic.toml")
    kset = derive_kernels(build_model(spec), order=3)
    nk = numeric_kernels(kset)
    horizon, eps = 0.3, 0.8

    def u(t):
        t = np.asarray(t)
        return np.stack([np.sin(3 * t) + 1.0, np.exp(-t)], -1)

    series = series_terms(nk, u, horizon, eps).terms
    aug = augmented_coefficients(kset, 7)
    terms = aug.terms(augmented_feature(u, horizon, 7), eps)
    np.testing.assert_allclose(terms, series, rtol=0, atol=2e-5 * np.abs(series).max())
