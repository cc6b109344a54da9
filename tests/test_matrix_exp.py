"""The error-bounded float64 e^{A tau} (volterra_sym/matrix_exp.py) against mpmath.expm at 40 digits.

The reference is mpmath's Taylor exponential of the exact rational drift: it shares nothing with the
spectral and Pade routes. Two properties are checked entrywise at lags from 1e-3 to 150:

* the stated bound is honest: |E - exact| <= B (each route alone and the trusted combination);
* the trusted value is accurate: |E - exact| <= 1e-10 max|exact| (none of these lags is refused).

The drifts: a lightly damped oscillator (complex pair; at long lags the rounding of the rates and
frequencies through the exponent dominates the spectral error), a non-normal nearly defective
triangular drift (the spectral sum cancels, the Pade route must be kept), a real 3x3 with a complex
pair.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy

from volterra_sym.matrix_exp import TrustedExponential, expm, expm_bounded, spectral_data

R = sympy.Rational
DRIFTS = {
    "oscillator": sympy.Matrix([[-R(1, 10), 7], [-R(13, 3), -R(1, 10)]]),  # frequency sqrt(91/3)
    "non-normal": sympy.Matrix([[-1, 1000], [0, -R(10001, 10000)]]),
    "3x3 complex pair": sympy.Matrix([[-R(1, 2), 3, 0], [-3, -R(1, 2), R(1, 3)], [R(1, 4), 0, -2]]),
}
LAGS = np.array([1e-3, 0.05, 0.7, 3.0, 20.0, 75.0, 150.0])


def exact_expm(A: sympy.Matrix, lags: np.ndarray) -> np.ndarray:
    with mpmath.workdps(40):
        M = mpmath.matrix([[mpmath.mpf(int(A[i, j].p)) / int(A[i, j].q) for j in range(A.shape[1])]
                           for i in range(A.shape[0])])
        return np.array([np.array(mpmath.expm(M * mpmath.mpf(float(t))).tolist(), dtype=float) for t in lags])


@pytest.fixture(scope="module", params=sorted(DRIFTS))
def case(request):
    A = DRIFTS[request.param]
    return request.param, A, np.array(A.tolist(), dtype=float), exact_expm(A, LAGS)


def test_pade_routes_are_accurate_and_bounded(case):
    _, _, An, exact = case
    E, B = expm_bounded(LAGS[:, None, None] * An)
    assert np.all(np.abs(E - exact) <= B)
    scale = np.abs(exact).max(axis=(1, 2))[:, None, None]
    plain = expm(LAGS[:, None, None] * An)
    # the unbounded Pade exponential (ExpmEntry nodes): accurate where the bounded route says it can be
    trusted = B <= 1e-10 * scale
    assert np.all(np.abs(plain - exact)[trusted] <= 1e-9 * np.broadcast_to(scale, exact.shape)[trusted])


def test_spectral_route_is_bounded(case):
    _, A, _, exact = case
    data = spectral_data(A)
    assert data is not None
    E, B = data.evaluate(LAGS)
    assert np.all(np.abs(E - exact) <= B)


def test_trusted_exponential_is_accurate_and_keeps_the_better_route(case):
    name, A, An, exact = case
    trusted = TrustedExponential(An, A)
    E, B = trusted.with_bound(LAGS)
    assert np.all(np.abs(E - exact) <= B)
    scale = np.abs(exact).max(axis=(1, 2))[:, None, None]
    assert np.all(np.abs(trusted(LAGS) - exact) <= 1e-10 * scale), name  # the promise (ACCEPT)
