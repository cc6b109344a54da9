"""The grid engine (volterra_sym.classes.grid): against closed forms, the gradient engine, independent
forward Fokker-Planck discretisations (tests/fp_oracle.py) and Monte Carlo.

Default run: one-unit cases (cheap). Two- and three-unit cases are marked slow.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sympy

from fp_oracle import DifferenceFokkerPlanck, GeneralFokkerPlanck
from volterra_sym import build_model, load_spec
from volterra_sym.classes.grid.engine import GridEngine
from volterra_sym.classes.grid.expmv import expmv, sweep
from volterra_sym.classes.registry import engine_for
from volterra_sym.cli.main import main
from volterra_sym.errors import DerivationError
from volterra_sym.simulate import simulate_responses

ROOT = Path(__file__).resolve().parent.parent
NONLINEAR = ROOT / "derivations" / "nonlinear"
SCALAR = NONLINEAR / "tanh1_scalar.toml"
REVERSIBLE = NONLINEAR / "tanh2_reversible.toml"
NONREV = NONLINEAR / "tanh2_nonreversible.toml"
TANH3 = NONLINEAR / "tanh3.toml"
TOY = ROOT / "tests" / "specs" / "toy.toml"
DEGENERATE = ROOT / "tests" / "specs" / "tanh2_degenerate.toml"


def _engines(path, order=2):
    model = build_model(load_spec(path))
    return engine_for(model, engine="grid", order=order), engine_for(model, order=order)


def _close(actual, expected, rtol, label=""):
    actual, expected = np.asarray(actual), np.asarray(expected)
    scale = float(np.abs(expected).max())
    error = float(np.abs(actual - expected).max())
    assert error <= rtol * scale, (label, error, scale)


@pytest.fixture(scope="module")
def scalar():
    return _engines(SCALAR, order=3)


# ------------------------------------------------------------------------------------- one unit


def test_scalar_network_matches_the_gradient_engine(scalar):
    grid, spectral = scalar
    assert grid.name == "grid" and spectral.name == "gradient"
    _close(grid.stationary_mean().value, spectral.stationary_mean().value, 1e-10, "mean")
    assert abs(grid.kernel([1.0]).value[0, 0] - 0.3895240791) < 1e-10  # theory.md 5
    lags = [np.array([0.0, 0.1, 0.7, 2.5])]
    _close(grid.kernel(lags).value, spectral.kernel(lags).value, 1e-10, "R1")
    two = [np.array([[0.0], [0.4]]), np.array([0.0, 0.3, 1.1])]
    _close(grid.kernel(two).value, spectral.kernel(two).value, 1e-10, "R2")
    three = [np.array([0.2, 0.0]), np.array([0.5, 0.1]), np.array([0.3, 0.9])]
    _close(grid.kernel(three).value, spectral.kernel(three).value, 1e-10, "R3")
    assert grid.kernel([0.5]).error < 1e-10 and grid.representation.converged


def test_scalar_series_and_driven_mean_match_the_gradient_engine(scalar):
    grid, spectral = scalar
    u = lambda t: np.sin(2 * np.asarray(t, dtype=float))[..., None]  # noqa: E731
    got, want = grid.series(u, 1.2, 0.6, tol=1e-10), spectral.series(u, 1.2, 0.6, tol=1e-10)
    _close(got.terms, want.terms, 1e-9, "series")
    assert got.error_estimate < 1e-8 and got.engine == "grid"
    times = [0.0, 0.6, 1.2]
    _close(grid.driven_mean(u, times, 0.6).value, spectral.driven_mean(u, times, 0.6).value, 1e-9, "driven mean")


def test_driven_mean_refused_when_the_input_pushes_the_density_out_of_the_box(scalar):
    grid, _ = scalar
    u = lambda t: np.ones_like(np.asarray(t, dtype=float))[..., None]  # noqa: E731
    moderate = grid.driven_mean(u, [0.0, 3.0], 6.0)  # the density nears the wall: its share enters the error
    assert 1e-9 < moderate.error < 1e-4
    with pytest.raises(DerivationError, match="walls of the grid's box"):
        grid.driven_mean(u, [0.0, 3.0], 12.0)
    assert np.all(np.isfinite(grid.series(u, 3.0, 12.0).terms))  # the series terms do not move with eps


def test_linear_network_matches_the_ou_closed_forms():
    model = build_model(load_spec(TOY))  # one linear unit, readout h1^2, parameter s
    for params in ({}, {"s": 0.8}):
        grid, ou = engine_for(model, params, engine="grid"), engine_for(model, params)
        assert ou.name == "ou"
        _close(grid.stationary_mean().value, ou.stationary_mean().value, 1e-10, "mean")
        for lags in ([np.array([0.0, 0.5, 2.0])], [np.array([0.0, 0.3]), np.array([0.7, 0.0])]):
            _close(grid.kernel(lags).value, ou.kernel(lags).value, 1e-9, f"order {len(lags)}")


def test_taylor_exponential_actions_against_scipy():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(3)
    A = rng.normal(size=(30, 30)) - 6 * np.eye(30)
    A[0, 1] = 40.0  # strongly non-normal
    V = rng.normal(size=(30, 2))
    norm = float(np.abs(A).sum(axis=0).max())
    for t in (0.0, 0.05, 1.3):
        _close(expmv(lambda X: A @ X, V, t, norm), scipy_linalg.expm(t * A) @ V, 1e-12, f"t={t}")
    swept = sweep(lambda X: A @ X, V, [0.0, 0.2, 0.2, 1.0], norm)
    _close(swept[3], scipy_linalg.expm(A) @ V, 1e-12, "sweep")


def test_refusals():
    degenerate = build_model(load_spec(DEGENERATE))
    reason = GridEngine.applies(degenerate)
    assert reason is not None and "singular" in reason
    with pytest.raises(DerivationError, match="singular"):
        engine_for(degenerate, engine="grid")
    four = build_model(load_spec(ROOT / "tests" / "specs" / "tanh4.toml"))
    assert "1 to 3 hidden units" in GridEngine.applies(four)


def test_cli_kernel_with_the_grid_engine(capsys):
    assert main(["kernel", str(SCALAR), "--engine", "grid", "--order", "1", "--lags", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["engine"] == "grid" and abs(out["value"][0][0] - 0.3895240791) < 1e-10
    assert 0 < out["error_estimate"] < 1e-9


# ------------------------------------------------------------------------------- two units (slow)


@pytest.mark.slow
def test_reversible_network_matches_the_spectral_engine_to_1e8():
    grid, spectral = _engines(REVERSIBLE)
    assert spectral.name == "gradient"
    _close(grid.stationary_mean().value, spectral.stationary_mean().value, 1e-8, "mean")
    for lags in ([np.array([0.0, 0.2, 0.9, 3.0])], [np.array([[0.0], [0.5]]), np.array([0.0, 0.25, 1.5])]):
        _close(grid.kernel(lags).value, spectral.kernel(lags).value, 1e-8, f"order {len(lags)}")


@pytest.fixture(scope="module")
def nonrev():
    spec = load_spec(NONREV)
    engine = engine_for(build_model(spec), order=2)
    assert engine.name == "grid"
    return spec, engine


@pytest.fixture(scope="module")
def nonrev_oracle(nonrev):
    """Forward Chebyshev collocation in h (tests/fp_oracle.py), on a box 7 standard deviations wide."""
    from volterra_sym.classes.grid.operator import density_moments

    spec, engine = nonrev
    mean, cov = density_moments(engine.representation.op, engine.representation.pi)
    return GeneralFokkerPlanck(spec, centre=mean, half_widths=7 * np.sqrt(np.diag(cov)), nodes=50)


@pytest.mark.slow
def test_nonreversible_network_against_forward_chebyshev(nonrev, nonrev_oracle):
    spec, engine = nonrev
    fp = nonrev_oracle
    rep = engine.representation
    assert rep.converged and rep.relative_error < 1e-8 and rep.diagnostics.wall_mass < 1e-12
    _close(engine.stationary_mean().value, fp.mean(), 1e-7, "mean")
    h1, h2 = spec.hidden
    assert abs(fp.expectation(sympy.lambdify((h1, h2), 1 - sympy.tanh(h1) ** 2 + 0.4 * h2))
               - engine.kernel([0.0]).value[0, 0]) < 1e-7  # R^(1)_{f1;1}(0) = <C_1 . grad f1>
    for lags, idx in (([0.4], (1,)), ([0.3, 0.6], (0, 1))):
        got = engine.kernel(lags).value[(slice(None),) + idx]
        _close(got, fp.kernel(lags, idx), 1e-6, f"R^({len(lags)}){idx}")


@pytest.mark.slow
def test_nonreversible_network_against_monte_carlo(nonrev):
    spec, engine = nonrev
    u = lambda t: np.stack([np.sin(1.3 * np.asarray(t, dtype=float)), 0.5 + 0 * np.asarray(t, dtype=float)], -1)  # noqa: E731
    t, eps = 1.5, 0.7
    sim = simulate_responses(engine.model, u, t=t, eps=[eps], paths=40_000, seed=5)
    exact = engine.driven_mean(u, [0.0, t], eps).value[-1]
    z = (sim.mean[1, -1] - exact) / sim.stderr[1, -1]
    assert np.all(np.abs(z) < 4), z
    response = exact - engine.stationary_mean().value
    z_resp = (sim.response[1, -1] - response) / sim.response_stderr[1, -1]
    assert np.all(np.abs(z_resp) < 4), z_resp
    terms = engine.series(u, t, eps, tol=1e-9).terms
    assert np.abs(terms.sum(axis=0) - exact).max() < 0.05  # order-2 truncation at eps = 0.7


# ----------------------------------------------------------------------------- three units (slow)


@pytest.fixture(scope="module")
def tanh3():
    spec = load_spec(TANH3)
    engine = engine_for(build_model(spec), order=2)
    assert engine.name == "grid"
    return spec, engine


@pytest.mark.slow
def test_tanh3_against_richardson_finite_differences(tanh3):
    spec, engine = tanh3
    from volterra_sym.classes.grid.operator import density_moments

    rep = engine.representation
    assert rep.converged and rep.relative_error < 1e-5
    mean, cov = density_moments(rep.op, rep.pi)
    fd = DifferenceFokkerPlanck(spec, centre=mean, half_widths=7 * np.sqrt(np.diag(cov)), levels=(20, 24, 32))
    h1, h2, h3 = spec.hidden
    value, change = fd.expectation(h1 + h2**2)
    assert change < 2e-5 and abs(engine.stationary_mean().value[0] - value) < 5 * change + 1e-6
    # small lags: R^(1)(tau) = <C . grad f> + tau <C . grad L0 f> + O(tau^2), words by SymPy, means by differences
    model = engine.model
    f = model.readout[0]
    word1 = sum(model.C[i, 0] * sympy.diff(model.generator(f), x) for i, x in enumerate(model.hidden))
    c1, change1 = fd.expectation(sympy.expand(word1))
    tau = 2.0**-10
    assert abs(engine.kernel([tau]).value[0, 0] - (1.0 + tau * c1)) < 1e-6 + tau * change1


@pytest.mark.slow
def test_tanh3_against_monte_carlo(tanh3):
    spec, engine = tanh3
    u = lambda t: np.sin(np.asarray(t, dtype=float))[..., None]  # noqa: E731
    t, eps = 2.0, 1.0
    sim = simulate_responses(engine.model, u, t=t, eps=[eps], paths=100_000, seed=11)
    exact = engine.driven_mean(u, [0.0, t], eps).value[-1]
    stationary = engine.stationary_mean().value
    assert abs((sim.mean[0, 0, 0] - stationary[0]) / sim.stderr[0, 0, 0]) < 4
    assert abs((sim.mean[1, -1, 0] - exact[0]) / sim.stderr[1, -1, 0]) < 4
    assert abs((sim.response[1, -1, 0] - (exact[0] - stationary[0])) / sim.response_stderr[1, -1, 0]) < 4
