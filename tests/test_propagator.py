"""e^{A tau}: every closed-form method and the numeric Pade exponential against scipy.linalg.expm."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from volterra_sym.propagator import ExpmEntry, derive_propagator, expm

tau = sympy.Symbol("tau")
g, beta, a = sympy.symbols("g beta a", real=True)
R = sympy.Rational

CASES = {
    "diagonal": (sympy.Matrix([[-1, 0], [0, -R(5, 2)]]), {}),
    "diagonal symbolic": (sympy.Matrix([[-g, 0], [0, -2 * g]]), {g: 0.8}),
    "triangular": (sympy.Matrix([[-1, 1, 0], [0, -2, 1], [0, 0, -3]]), {}),
    "triangular symbolic": (sympy.Matrix([[-g, 1], [0, -g - 1]]), {g: 1.3}),
    "2x2 complex pair": (sympy.Matrix([[-R(3, 2), R(1, 2)], [-R(3, 10), -1]]), {}),
    "2x2 real pair": (sympy.Matrix([[-1, 1], [R(1, 2), -2]]), {}),
    "2x2 repeated (Jordan)": (sympy.Matrix([[-1, 1], [-1, -3]]), {}),
    "2x2 rotation symbolic": (sympy.Matrix([[-g, beta], [-beta, -g]]), {g: 1.1, beta: 0.7}),
    "2x2 rotation symbolic at beta=0": (sympy.Matrix([[-g, beta], [-beta, -g]]), {g: 1.1, beta: 0.0}),
    "eigen-exact (quadratic factor)": (sympy.Matrix([[-2, 1, 0], [-1, -2, 0], [0, 0, -1]]), {}),
    "jordan 3x3": (sympy.Matrix([[-1, 1, 0], [0, -1, 0], [0, 0, -2]]), {}),
    "eigen-numeric (irreducible cubic)": (sympy.Matrix([[-1, R(1, 2), 0], [R(1, 5), -R(6, 5), R(3, 10)],
                                                         [R(1, 10), -R(2, 5), -R(9, 10)]]), {}),
    "numeric node (symbolic 3x3)": (sympy.Matrix([[-a, 1, 0], [1, -2, 1], [0, 1, -a]]), {a: 2.5}),
}
EXPECTED_METHOD = {
    "diagonal": "diagonal", "diagonal symbolic": "diagonal", "triangular": "triangular",
    "triangular symbolic": "triangular", "2x2 complex pair": "2x2", "2x2 real pair": "2x2",
    "2x2 repeated (Jordan)": "2x2", "2x2 rotation symbolic": "2x2", "2x2 rotation symbolic at beta=0": "2x2",
    "eigen-exact (quadratic factor)": "eigen-exact", "jordan 3x3": "jordan",
    "eigen-numeric (irreducible cubic)": "eigen-numeric", "numeric node (symbolic 3x3)": "numeric",
}


@pytest.mark.parametrize("case", sorted(CASES), ids=str)
def test_closed_forms_match_scipy(case):
    A, values = CASES[case]
    prop = derive_propagator(A, tau)
    assert prop.method == EXPECTED_METHOD[case]
    An = np.array(A.subs(values).evalf(30).tolist(), dtype=float)
    for t in (0.0, 0.37, 2.0, 7.5):
        ref = scipy.linalg.expm(An * t)
        if prop.closed_form:
            got = np.array(prop.at(t).subs(values).evalf(30).tolist(), dtype=float)
        else:
            assert prop.matrix.atoms(ExpmEntry)
            got = expm(An * t)
        assert np.abs(got - ref).max() < 1e-14 * max(1.0, np.abs(ref).max())


def test_closed_form_is_real_and_free_of_imaginary_unit():
    for case, (A, _) in CASES.items():
        prop = derive_propagator(A, tau)
        assert not prop.matrix.has(sympy.I), case


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1), st.floats(1e-3, 60.0))
def test_pade_expm_matches_scipy(n, seed, scale):
    M = np.random.default_rng(seed).normal(size=(n, n)) * scale / n
    ref = scipy.linalg.expm(M)
    assert np.abs(expm(M) - ref).max() <= 1e-11 * np.abs(ref).max()


def test_pade_expm_is_vectorised():
    rng = np.random.default_rng(1)
    M = rng.normal(size=(5, 3, 3, 3))
    got = expm(M)
    for idx in np.ndindex(5, 3):
        assert np.allclose(got[idx], scipy.linalg.expm(M[idx]), rtol=1e-13, atol=1e-14)
