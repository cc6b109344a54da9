"""Every command with the grid engine: derive, kernel, series, verify (teeth included), generate and
the committed modules, report. One-unit cases run by default; the rest is marked slow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from volterra_sym import build_model, load_spec
from volterra_sym.classes.registry import engine_for
from volterra_sym.cli.main import main
from volterra_sym.codegen.conformance import check_generated_module
from volterra_sym.codegen.loader import load_generated
from volterra_sym.verification.claims.grid import GRID_CLAIMS, verify_grid

ROOT = Path(__file__).resolve().parent.parent
NONLINEAR = ROOT / "derivations" / "nonlinear"
SCALAR = NONLINEAR / "tanh1_scalar.toml"
NONREV = NONLINEAR / "tanh2_nonreversible.toml"
TANH3 = NONLINEAR / "tanh3.toml"


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.fixture(scope="module")
def scalar_grid():
    return engine_for(build_model(load_spec(SCALAR)), engine="grid", order=2)


def test_derive_shows_the_grid(capsys):
    assert main(["derive", str(SCALAR), "--engine", "grid", "--json", "--order", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["engine"] == "grid" and abs(out["stationary_mean"][0] - 0.3114904271) < 1e-10
    grid = out["grid"]
    assert grid["converged"] and grid["wall_mass"] < 1e-12 and abs(grid["modes"][0]["re"]) < 1e-8
    assert grid["modes"][1]["re"] < 0 and grid["nodes_per_axis"] ** 1 == grid["unknowns"]
    assert abs(out["taylor"][0]["words"][0]["mean"] - 0.5203829363) < 1e-9  # R^(1)(0) = <C . grad f>


def test_derive_text_and_latex(scalar_grid):
    from volterra_sym.report.present import describe

    text = describe(scalar_grid, "text")
    assert "Fourier collocation" in text and "Leading eigenvalues" in text and "Walls: probability" in text
    assert r"L_0 g" in describe(scalar_grid, "latex")


def test_series_json_carries_the_exact_driven_mean(capsys):
    assert main(["series", str(SCALAR), "--engine", "grid", "--input", "sin(2*t)", "--t", "1.5", "--eps", "0.04",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["engine"] == "grid" and len(out["terms"]) == 4
    assert abs(out["exact"][0] - out["total"][0]) < 1e-7  # O(eps^4) at eps = 0.04
    assert out["error_estimate"] < 1e-8


def test_verify_has_teeth(scalar_grid):
    wrong = lambda n, *lags, **params: (scalar_grid.kernel(list(lags)).value if n else  # noqa: E731
                                        scalar_grid.stationary_mean().value) * (1 + 1e-6)
    good = verify_grid(scalar_grid, claims=["stationary_mean", "forward_kernels"])
    assert good.passed and all(c.independent for c in good.claims)
    bad = verify_grid(scalar_grid, claims=["stationary_mean", "forward_kernels"], kernel=wrong)
    assert [c.status for c in bad.claims] == ["failed", "failed"]


@pytest.mark.slow
def test_verify_command_on_the_grid_engine(capsys):
    code = main(["verify", str(SCALAR), "--engine", "grid", "--mc-paths", "4000", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["passed"] and out["engine"] == "grid"
    claims = {c["name"]: c for c in out["claims"]}
    assert set(claims) == set(GRID_CLAIMS) and all(c["status"] == "passed" for c in claims.values())
    assert not claims["resolution_ladder"]["independent"] and not claims["kernels_vs_series"]["independent"]
    assert claims["monte_carlo"]["independent"] and claims["stationary_mean"]["digits"] >= 8


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tanh2_nonreversible", "tanh3"])
def test_committed_grid_modules_conform(name):
    spec = load_spec(NONLINEAR / f"{name}.toml")
    module = load_generated(NONLINEAR / f"{name}.py")
    assert module.PROPAGATOR == "grid" and module.NODES ** spec.n_hidden == len(module._PI)
    engine = engine_for(build_model(spec))
    check_generated_module(module, spec, engine=engine)
    u = np.stack([np.sin(np.arange(41) * 0.05)] * spec.n_inputs, axis=-1)
    mean = module.driven_mean(u, 0.05, eps=0.5)
    exact = engine.driven_mean(lambda t: np.stack([np.sin(np.asarray(t, dtype=float))] * spec.n_inputs, axis=-1),
                               [0.0, 2.0], 0.5).value[-1]
    assert np.abs(mean[-1] - exact).max() < 5e-4  # O(dt^2) reading of the samples (dt = 0.05)


def test_check_lists_the_grid_modules(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "derivations/nonlinear/tanh2_nonreversible.py: current" in out
    assert "derivations/nonlinear/tanh3.py: current" in out


@pytest.mark.slow
def test_report_with_the_grid_engine():
    from volterra_sym.report.build import build_report
    from volterra_sym.report.tables import render_tables

    report = build_report(NONREV, ["sin(t)", "cos(t)"], eps_list=[0.5], t=2.0, paths=4000, seed=3, n_times=5,
                          order=2)
    assert report.engine == "grid" and report.linearized and report.truncation.kind == "exact"
    assert np.nanmax(np.abs(report.mean_output.z_scores)) < 4
    assert np.all(np.abs(report.truncation.slopes - np.array([[2.0], [3.0]])) < 0.3)
    text = render_tables(report)["report.md"]
    assert "**grid** engine" in text and "linearized" in text
