"""The grid engine with the input inside the activation (theory.md 7, 7.1).

* one unit: kernels of every composition up to order 3 and series terms against the gradient engine
  (an eigenbasis of the Schroedinger form: a different discretisation of the same operator), and the
  spectral convergence of the grid's kernels with the nodes per axis;
* the series terms as the eps-Taylor coefficients of the grid's own all-order driven mean (a Cauchy
  integral over complex eps: self-consistency, not an independent route);
* two units, NOT reversible (tests/specs/tanh2_inside_nonrev.toml): kernels and contact kernels against
  a forward Chebyshev Fokker-Planck collocation in h (tests/fp_oracle.py, dense exponentials), the driven
  mean against a simulation of the network (slow);
* what is still refused: code generation for the grid engine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fp_oracle import GeneralFokkerPlanck
from volterra_sym.classes.grid.kernels import kernel_values
from volterra_sym.classes.grid.operator import assemble, density_moments, stationary_density
from volterra_sym.classes.registry import engine_for
from volterra_sym.cli.main import main
from volterra_sym.model import build_model
from volterra_sym.simulate import simulate
from volterra_sym.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
SCALAR = ROOT / "derivations" / "nonlinear" / "tanh1_inside.toml"
NONREV = ROOT / "tests" / "specs" / "tanh2_inside_nonrev.toml"
T = 1.3
LAGS1 = [np.array([0.0, 0.3, 1.0, 2.0])]
LAGS2 = [np.array([0.0, 0.3, 1.0]), np.array([0.2, 0.5, 0.1])]
COMPOSITIONS = [((1,), LAGS1), ((2,), LAGS1), ((3,), LAGS1), ((1, 1), LAGS2), ((1, 2), LAGS2), ((2, 1), LAGS2)]


def _u(m: int):
    def u(times):
        times = np.asarray(times, dtype=float)
        return np.stack([np.sin(2 * times) + 0.3, np.cos(times)][:m], axis=-1)

    return u


def _relative(actual, expected) -> float:
    return float(np.abs(np.asarray(actual) - expected).max() / np.abs(expected).max())


def _cauchy(values_on_circle: np.ndarray, radius: float, order: int) -> np.ndarray:
    K = len(values_on_circle)
    theta = 2 * np.pi * np.arange(K) / K
    return np.array([np.real(np.mean(values_on_circle * np.exp(-1j * n * theta)[:, None], axis=0)) / radius**n
                     for n in range(order + 1)])


@pytest.fixture(scope="module")
def scalar():
    model = build_model(load_spec(SCALAR))
    return engine_for(model, engine="grid", order=3), engine_for(model, engine="gradient", order=3)


def test_scalar_kernels_and_contact_kernels_match_the_gradient_engine(scalar):
    grid, spectral = scalar
    assert grid.inside is not None and grid.representation.converged
    assert _relative(grid.stationary_mean().value, spectral.stationary_mean().value) < 1e-10
    for composition, lags in COMPOSITIONS:
        got = grid.kernel(lags, composition=composition)
        want = spectral.kernel(lags, composition=composition).value
        assert got.value.shape == want.shape
        assert _relative(got.value, want) < 1e-10, composition
        assert got.error < 1e-9
    # the contact kernels are not zero, and the time-ordered ones carry a'(W h + b): not the additive network's
    assert np.abs(grid.kernel(LAGS1, composition=[2]).value).max() > 1e-2
    additive = engine_for(build_model(load_spec(ROOT / "derivations" / "nonlinear" / "tanh1_scalar.toml")),
                          engine="grid", order=1)
    assert np.abs(additive.kernel(LAGS1).value - grid.kernel(LAGS1).value).max() > 1e-2


def test_scalar_kernels_converge_spectrally_with_the_grid(scalar):
    """Fourier collocation: the error against the gradient engine falls geometrically with the nodes per
    axis (measured: about a factor 30-1000 per 16 nodes from 32 on; 1e-13 by 128)."""
    grid, spectral = scalar
    rep = grid.representation
    refs = [spectral.kernel(lags, composition=c).value for c, lags in COMPOSITIONS]
    errors = []
    for N in (32, 48, 64, 96):
        op = assemble(grid.network, rep.op.coords, N, grid.inside)
        pi, _ = stationary_density(op, 1 / rep.relaxation_time)
        errors.append([_relative(kernel_values(op, pi, lags, c), r) for (c, lags), r in zip(COMPOSITIONS, refs)])
    errors = np.array(errors)
    assert np.all(errors[1:] < errors[:-1] / 30), errors
    assert errors[-1].max() < 1e-9, errors


def test_scalar_series_matches_the_gradient_engine(scalar):
    grid, spectral = scalar
    u = _u(1)
    got = grid.series(u, T, 1.0, order=3, tol=1e-12)
    want = spectral.series(u, T, 1.0, order=3, tol=1e-12).terms
    assert np.abs(got.terms - want).max() < 1e-10
    assert got.error_estimate < 1e-8
    # theory.md 7.1, reproduced before it was built on
    np.testing.assert_allclose(got.terms[:, 0], [0.31149042714, 0.27544375500, -0.08749853055, -0.00865128505],
                               rtol=0, atol=1e-10)
    on_grid = grid.series_on_grid(u, np.linspace(0.0, T, 3), order=2)
    assert np.abs(on_grid[-1] - got.terms[:3]).max() < 1e-9


@pytest.mark.slow
def test_scalar_series_terms_are_the_taylor_coefficients_of_the_grids_driven_mean(scalar):
    """Self-consistency (the grid's own forward solve with the whole perturbation, never expanded in eps)."""
    grid, _ = scalar
    u = _u(1)
    terms = grid.series(u, T, 1.0, order=2, tol=1e-12).terms
    radius, K = 0.3, 12
    circle = radius * np.exp(2j * np.pi * np.arange(K) / K)
    values = np.array([grid.driven_mean(u, [0.0, T], eps).value[-1] for eps in circle])
    np.testing.assert_allclose(terms, _cauchy(values, radius, 2), rtol=0, atol=1e-8)


def test_code_generation_refuses_an_input_inside_for_the_grid_engine(tmp_path, capsys):
    code = main(["generate", str(NONREV), "--engine", "grid", "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "inside a nonlinear activation" in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())


# ----------------------------------------------------------------------- two units, not reversible (slow)


@pytest.fixture(scope="module")
def nonrev():
    spec = load_spec(NONREV)
    engine = engine_for(build_model(spec), order=2)
    assert engine.name == "grid"  # not gradient class: the grid is the exact engine
    return spec, engine


@pytest.mark.slow
def test_nonreversible_kernels_against_forward_chebyshev(nonrev):
    spec, engine = nonrev
    rep = engine.representation
    assert rep.converged and rep.diagnostics.wall_mass < 1e-12
    mean, cov = density_moments(rep.op, rep.pi)
    fp = GeneralFokkerPlanck(spec, centre=mean, half_widths=7 * np.sqrt(np.diag(cov)), nodes=50)
    assert _relative(engine.stationary_mean().value, fp.mean()) < 1e-7
    cases = [([0.0], (1,), ((0,),)), ([0.4], (1,), ((1,),)), ([0.4, 0.6], (1, 1), ((0,), (1,))),
             ([0.6], (2,), ((0, 1),)), ([0.4], (2,), ((1, 1),)), ([0.0], (2,), ((0, 0),))]
    for lags, composition, groups in cases:
        index = (slice(None),) + tuple(k for g in groups for k in g)
        got = engine.kernel(lags, composition=composition).value[index]
        want = fp.kernel_inside(spec, lags, groups)
        assert _relative(got, want) < 1e-6, (composition, lags, got, want)
        assert np.abs(want).max() > 1e-3


@pytest.mark.slow
def test_nonreversible_series_and_driven_mean(nonrev):
    """Series terms 1-2 vs the Cauchy coefficients of the grid's own driven mean (self-consistency); the
    driven mean vs a simulation of the network (independent, z < 4, seed fixed)."""
    spec, engine = nonrev
    u = _u(2)
    t = 0.6
    terms = engine.series(u, t, 1.0, order=2, tol=1e-8).terms
    radius, K = 0.25, 8  # aliasing: the order-(n + 8) coefficient times 0.25^8 ~ 1.5e-5
    circle = radius * np.exp(2j * np.pi * np.arange(K) / K)
    values = np.array([engine.driven_mean(u, [0.0, t], eps, tol=1e-8).value[-1] for eps in circle])
    np.testing.assert_allclose(terms, _cauchy(values, radius, 2), rtol=0, atol=1e-6)
    assert np.abs(terms[1:]).min() > 1e-2
    eps = 0.8
    exact = engine.driven_mean(u, [0.0, 1.0], eps).value[-1]
    sim = simulate(engine.model, u, t=1.0, eps=eps, paths=40_000, seed=7, record_every=10**7)
    z = (sim.final_mean - exact) / sim.final_stderr
    assert np.abs(z).max() < 4, z
    # the input inside is measurably different from the additive network
    additive = engine_for(build_model(load_spec(ROOT / "derivations" / "nonlinear" / "tanh2_nonreversible.toml")),
                          order=2)
    assert np.abs(additive.driven_mean(u, [0.0, 1.0], eps).value[-1] - exact).max() > 10 * sim.final_stderr.max()
