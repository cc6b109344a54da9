"""Gradient-class (reversible) nonlinear networks: exact kernels from the known invariant density."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sympy

from fp_oracle import FokkerPlanck
from volterra_sym.verification.oracles.forward import solver_for
from volterra_sym import build_model, load_spec
from volterra_sym.cli.main import main
from volterra_sym.errors import DerivationError
from volterra_sym.classes.gradient.law import gradient_law, is_gradient_class, taylor_words
from volterra_sym.classes.gradient.spectral import (density_means, spectral_kernel_values, spectral_kernels, spectral_mean_output,
                                   spectral_series)

ROOT = Path(__file__).resolve().parent.parent
SCALAR = ROOT / "derivations" / "nonlinear" / "tanh1_scalar.toml"
REVERSIBLE = ROOT / "derivations" / "nonlinear" / "tanh2_reversible.toml"


@pytest.fixture(scope="module")
def scalar():
    law = gradient_law(build_model(load_spec(SCALAR)))
    return law, spectral_kernels(law)


@pytest.fixture(scope="module")
def scalar_fp():
    return FokkerPlanck(load_spec(SCALAR), half_width=7.0, nodes=120)


def test_theory_reference_values(scalar):
    """theory.md 5: <f> = 0.3114904271, R^(1)(0) = 0.5203829363, R^(1)(1) = 0.3895240791 (9 digits)."""
    _, sk = scalar
    assert abs(sk.stationary_mean[0] - 0.3114904271) < 1e-10
    assert abs(spectral_kernel_values(sk, [0.0])[0, 0] - 0.5203829363) < 1e-10
    assert abs(spectral_kernel_values(sk, [1.0])[0, 0] - 0.3895240791) < 1e-10


def test_density_solves_stationary_fokker_planck_exactly(scalar):
    law, _ = scalar
    model = law.model
    h = model.hidden
    rho = sympy.exp(law.log_density)
    residual = sum(-sympy.diff(model.drift[i] * rho, x) + law.noise_variance / 2 * sympy.diff(rho, x, 2)
                   for i, x in enumerate(h))
    assert sympy.simplify((residual / rho).rewrite(sympy.exp)) == 0


def test_scalar_kernels_match_fokker_planck(scalar, scalar_fp, rng):
    _, sk = scalar
    fp = scalar_fp
    assert abs(fp.mean(fp.rho)[0] - sk.stationary_mean[0]) < 1e-9
    for lags in ([0.0], [0.37], [2.5], [0.3, 0.8], [1.1, 0.2], [0.4, 0.5, 0.6]):
        got = spectral_kernel_values(sk, lags)[(0,) + (0,) * len(lags)]
        expected = fp.kernel(lags, [0] * len(lags))[0]
        assert abs(got - expected) <= 1e-7 * max(abs(expected), 1e-3), (lags, got, expected)


def test_scalar_series_and_exact_mean_output_match_fokker_planck(scalar):
    _, sk = scalar
    u = lambda t: np.sin(2 * np.asarray(t, dtype=float))[..., None]  # noqa: E731
    exact = spectral_mean_output(sk, u, 1.5, 0.4)
    fp = FokkerPlanck(load_spec(SCALAR), half_width=7.0, nodes=90)
    expected = fp.mean_output(lambda s: np.sin(2 * s), 1.5, 0.4, steps=60)
    assert np.allclose(exact, expected, rtol=1e-7)
    series = spectral_series(sk, u, 1.5, 0.4, order=3)
    # the truncated series approaches the exact mean output with an O(eps^4) remainder
    assert abs(series.total[0] - expected[0]) < 2e-3
    smaller = spectral_series(sk, u, 1.5, 0.04, order=3)
    assert abs(smaller.total[0] - spectral_mean_output(sk, u, 1.5, 0.04)[0]) < 1e-7


def test_small_lag_taylor_coefficients(scalar):
    """R^(1)(tau) = sum_p tau^p/p! <C . grad L0^p f>, the means taken by quadrature of the density."""
    law, sk = scalar
    means = density_means(sk, taylor_words(law, 0, 0, 4))
    for tau in (1e-3, 1e-2, 5e-2):
        taylor = sum(m * tau**p / np.prod(range(1, p + 1)) for p, m in enumerate(means))
        got = spectral_kernel_values(sk, [tau])[0, 0]
        assert abs(got - taylor) < 5 * tau**5 * max(1.0, abs(means[-1])) + 1e-11


def test_fdt_derivative_form(scalar, scalar_fp):
    """Reversible FDT: R^(1)_{f;k}(tau) = -(2/s^2) d/dtau E[f(h_tau) C_k . h_0], correlation from Fokker-Planck."""
    law, sk = scalar
    fp = scalar_fp
    s2 = float(law.noise_variance)
    x = fp.grid[0][fp.inner]
    weighted = x * fp.rho  # C = 1

    def corr(tau):
        return fp.mean(fp.propagate(weighted, tau))[0]

    for tau in (0.3, 1.2):
        d = 1e-3
        derivative = (corr(tau - 2 * d) - 8 * corr(tau - d) + 8 * corr(tau + d) - corr(tau + 2 * d)) / (12 * d)
        assert abs(-2 / s2 * derivative - spectral_kernel_values(sk, [tau])[0, 0]) < 1e-7


@pytest.mark.slow
def test_scalar_monte_carlo(scalar):
    from volterra_sym.simulate import simulate

    law, sk = scalar
    u = lambda t: np.sin(2 * np.asarray(t, dtype=float))[..., None]  # noqa: E731
    from volterra_sym.classes.registry import engine_for

    start = engine_for(law.model).stationary_sampler()  # exact start: no burn-in (within the path-step budget)
    res = simulate(law.model, u, t=1.5, eps=0.8, paths=200_000, seed=7, dt=0.005, start=start)
    exact = spectral_mean_output(sk, u, 1.5, 0.8)
    assert abs(res.mean[-1, 0] - exact[0]) < 4 * res.stderr[-1, 0]


@pytest.fixture(scope="module")
def reversible():
    law = gradient_law(build_model(load_spec(REVERSIBLE)))
    return law, spectral_kernels(law, order=2)

@pytest.mark.slow  # slower than ~3 s on the 2-core machine: run with -m slow (CI runs both)

def test_reversible_class_detected_and_density_exact(reversible):
    law, _ = reversible
    assert is_gradient_class(law.model) is None
    model = law.model
    for i, x in enumerate(model.hidden):
        assert sympy.simplify((model.drift[i] + sympy.diff(law.potential, x)).rewrite(sympy.exp)) == 0


@pytest.fixture(scope="module")
def reversible_fp():
    return solver_for(load_spec(REVERSIBLE), half_width=6.5, nodes=96)

@pytest.mark.slow  # slower than ~3 s on the 2-core machine: run with -m slow (CI runs both)

def test_reversible_kernels_match_fokker_planck(reversible, reversible_fp):
    _, sk = reversible
    fp = reversible_fp
    assert np.allclose(fp.mean(fp.rho), sk.stationary_mean, rtol=1e-7, atol=1e-9)
    for lags in ([0.0], [0.5], [1.5], [0.3, 0.7]):
        got = spectral_kernel_values(sk, lags)[(slice(None),) + (0,) * len(lags)]
        expected = fp.kernel(lags, [0] * len(lags))
        assert np.abs(got - expected).max() <= 1e-7 * np.abs(expected).max(), (lags, got, expected)

@pytest.mark.slow  # slower than ~3 s on the 2-core machine: run with -m slow (CI runs both)

def test_reversible_series_matches_fokker_planck(reversible, reversible_fp):
    _, sk = reversible
    u = lambda t: np.cos(1.5 * np.asarray(t, dtype=float))[..., None]  # noqa: E731
    got = spectral_series(sk, u, 0.8, 0.5, order=2).terms
    expected = reversible_fp.series_terms(lambda s: np.cos(1.5 * s), 0.8, 0.5, 2)
    assert np.abs(got - expected).max() <= 1e-7 * np.abs(expected).max(), (got, expected)


def test_not_gradient_class_is_refused(tmp_path):
    spec_path = ROOT / "derivations" / "nonlinear" / "tanh3.toml"  # the grid engine's, not the gradient's
    with pytest.raises(DerivationError, match="no known invariant density"):
        gradient_law(build_model(load_spec(spec_path)))


def test_cli_for_gradient_class(capsys):
    assert main(["kernel", str(SCALAR), "--order", "1", "--lags", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["value"][0][0] - 0.3895240791) < 1e-10
    assert main(["series", str(SCALAR), "--input", "sin(2*t)", "--t", "1.5", "--eps", "0.04", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"t", "eps", "order", "terms", "total", "exact", "engine"} <= set(out) and len(out["terms"]) == 4
    assert out["engine"] == "gradient"
    assert main(["derive", str(SCALAR), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["stationary_mean"][0] - 0.3114904271) < 1e-10
    assert abs(out["taylor"][0]["words"][0]["mean"] - 0.5203829363) < 1e-9
    nonrev = ROOT / "tests" / "specs" / "tanh4.toml"  # four units, not gradient class: no exact engine
    assert main(["kernel", str(nonrev), "--order", "1", "--lags", "1"]) == 2
    err = capsys.readouterr().err
    assert "--linearize" in err and "--engine mc" in err
