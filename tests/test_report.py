"""Verification report: the exact-resummation oracle, truncation slopes, files, CLI behaviour."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy
import pytest

from volterra_sym import build_model, derive_kernels, load_spec, numeric_kernels, series_terms
from volterra_sym.cli.main import main
from volterra_sym.classes.ou.engine import OUEngine
from volterra_sym.classes.ou.resummation import forced_response
from volterra_sym.report.build import build_report, fit_slope
from volterra_sym.report.tables import PLOT_HINT, render_tables
from volterra_sym.report.write import write_report

from helpers import spec_input as input_signal
from oracles import ou_exact_mean


ROOT = Path(__file__).resolve().parent.parent
DERIV = ROOT / "derivations"
TANH3 = DERIV / "nonlinear" / "tanh3.toml"
TANH4 = Path(__file__).resolve().parent / "specs" / "tanh4.toml"  # no exact engine answers
FILES = {"kernels_r1.csv", "kernels_r2.csv", "mean_output.csv", "truncation_error.csv", "report.md"}
FIGURES = {"kernels.png", "mean_output.png", "truncation_error.png"}


@pytest.fixture(scope="module")
def small_report():
    """A cheap linear report (few paths and times) shared by the rendering tests."""
    return build_report(DERIV / "ou2_tanh.toml", ["sin(t)"], eps_list=[0.3, 1.0], t=2.0, paths=4000, seed=1,
                        n_times=5)


def _no_matplotlib(monkeypatch) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)


# ------------------------------------------------------------------------------------ the oracle


def test_forced_response_closed_form():
    a, w = 0.7, 2.0
    times = numpy.array([0.0, 0.5, 1.3, 4.0])
    delta = forced_response(numpy.array([[-a]]), numpy.array([[2.0]]), lambda s: numpy.sin(w * s)[:, None], times)
    expected = 2 * (a * numpy.sin(w * times) - w * numpy.cos(w * times) + w * numpy.exp(-a * times)) / (a**2 + w**2)
    numpy.testing.assert_allclose(delta[:, 0], expected, atol=1e-13)


@pytest.mark.parametrize("name, inputs", [("ou2_quadratic.toml", ["sin(t)"]), ("ou3_cubic.toml", ["sin(t)", "1"]),
                                          ("ou2_symbolic.toml", ["cos(t)"])])
def test_exact_resummation_equals_finite_series(name, inputs):
    """Polynomial readouts: the series of order = degree is the exact answer (two independent routes)."""
    spec = load_spec(DERIV / name)
    model = build_model(spec)
    nk = numeric_kernels(derive_kernels(model, order=3))
    u = input_signal(spec, inputs)
    t, eps = 1.7, 0.9
    total = series_terms(nk, u, t, eps, tol=1e-12).total
    exact = ou_exact_mean(model, u, [t], [eps])[0, 0]
    numpy.testing.assert_allclose(exact, total, rtol=1e-9, atol=1e-11)


def test_exact_resummation_stationary_mean():
    spec = load_spec(DERIV / "ou2_tanh.toml")
    model = build_model(spec)
    nk = numeric_kernels(derive_kernels(model, order=1))
    exact = OUEngine(model).driven_mean(input_signal(spec, ["1"]), [0.0, 1.0], 0.0).value
    numpy.testing.assert_allclose(exact[0], nk.stationary_mean, atol=1e-12)
    numpy.testing.assert_allclose(exact[1], nk.stationary_mean, atol=1e-12)


def test_fit_slope():
    eps = numpy.geomspace(0.01, 0.1, 5)
    assert fit_slope(eps, 2 * eps**3, numpy.ones(5, bool)) == pytest.approx(3.0)
    assert math.isnan(fit_slope(eps, eps, numpy.zeros(5, bool)))


# ----------------------------------------------------------------------------- truncation slopes


@pytest.mark.parametrize("name, inputs", [("ou2_tanh.toml", ["sin(t)"]), ("ou3_cubic.toml", ["sin(t)", "cos(2*t)"]),
                                          ("ou2_quadratic.toml", ["1 - 0.3*t"])])
def test_truncation_slopes_are_n_plus_one(name, inputs):
    """Against the exact resummation the error of the order-N series falls like eps^(N+1); a
    polynomial readout of degree <= N gives a terminating series (error at rounding level)."""
    report = build_report(DERIV / name, inputs, eps_list=[0.5], t=3.0, paths=1000, seed=0, n_times=3)
    T = report.truncation
    assert T.kind == "exact" and T.orders == (1, 2, 3)
    degree = {"ou2_tanh.toml": [None, None], "ou3_cubic.toml": [3, 1], "ou2_quadratic.toml": [2, 1]}[name]
    for q, deg in enumerate(degree):
        for a, N in enumerate(T.orders):
            if deg is not None and N >= deg:
                assert numpy.all(T.error[a, :, q] < 1e-12), (q, N)
                assert math.isnan(T.slopes[a, q])
            else:
                assert T.resolved[a, :, q].sum() >= 3
                assert abs(T.slopes[a, q] - (N + 1)) < 0.2, (q, N, T.slopes)


def test_report_monte_carlo_agrees_with_exact(small_report):
    z = small_report.mean_output.z_scores
    assert z.shape == (2, 5, 2)
    assert numpy.abs(z).max() < 4
    sums = small_report.mean_output.partial_sums
    assert sums.shape == (2, 4, 5, 2)
    stationary = small_report.mean_output.terms[:, 0]
    numpy.testing.assert_allclose(sums[:, 0], numpy.broadcast_to(stationary, sums[:, 0].shape))


def test_report_is_deterministic(small_report):
    again = build_report(DERIV / "ou2_tanh.toml", ["sin(t)"], eps_list=[0.3, 1.0], t=2.0, paths=4000, seed=1,
                         n_times=5)
    assert render_tables(again) == render_tables(small_report)


def test_nonlinear_report_uses_linearized_series_and_simulation():
    report = build_report(TANH4, ["sin(t)"], eps_list=[0.5], t=1.0, paths=4096, seed=3, n_times=3, order=2,
                          error_eps=[0.5, 1.0, 2.0])
    assert report.engine is None and report.linearized and report.fixed_point is not None
    assert report.mean_output.exact is None and report.truncation.kind == "monte-carlo"
    assert report.scheme == "heun" and report.burn_in > 0
    assert report.truncation.reference_stderr.shape == (3, 1)
    text = render_tables(report)["report.md"]
    assert "linearized" in text and "What it shows" in text and "stationary mean" in text


# ---------------------------------------------------------------------------------------- files


def test_write_report_with_figures(tmp_path, small_report):
    pytest.importorskip("matplotlib")
    out = tmp_path / "new"
    written, drawn = write_report(small_report, out)
    assert drawn
    names = {p.name for p in out.iterdir()}
    assert names == FILES | FIGURES  # and no temporary files left behind
    assert {p.name for p in written} == names
    for name in FIGURES:
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) < 300_000
    md = (out / "report.md").read_text()
    assert "![kernels](kernels.png)" in md and "max |MC - exact| / s.e." in md
    header = (out / "mean_output.csv").read_text().splitlines()[0]
    assert header.startswith("eps,t,mc_mean[f1],mc_stderr[f1],series_N0[f1]") and "exact[f2]" in header


def test_write_report_without_matplotlib(tmp_path, small_report, monkeypatch):
    _no_matplotlib(monkeypatch)
    written, drawn = write_report(small_report, tmp_path)
    assert not drawn
    assert {p.name for p in tmp_path.iterdir()} == FILES
    assert PLOT_HINT in (tmp_path / "report.md").read_text()


# ------------------------------------------------------------------------------------------ CLI


def _cli_args(out: Path, *extra: str) -> list[str]:
    return ["report", str(DERIV / "ou2_quadratic.toml"), "--input", "sin(t)", "--paths", "2000", "--t", "1",
            "--times", "3", "--eps-list", "0.5", "-o", str(out), *extra]


def test_cli_report_without_matplotlib(tmp_path, capsys, monkeypatch):
    _no_matplotlib(monkeypatch)
    out = tmp_path / "rep"
    assert main(_cli_args(out)) == 0
    captured = capsys.readouterr()
    assert PLOT_HINT in captured.err and "wrote 5 files" in captured.out
    assert {p.name for p in out.iterdir()} == FILES


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--input", "cos(t)"], "--input"),
        (["--eps-list", "0.1,abc"], "--eps-list"),
        (["--eps-list", "-1"], "--eps-list"),
        (["--times", "1"], "--times"),
        (["--t", "0"], "--t"),
        (["--param", "x=1"], "unknown parameter"),
        (["--order", "9"], "order"),
    ],
)
def test_cli_report_bad_input_writes_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "rep"
    assert main(_cli_args(out, *extra)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not out.exists()


def test_cli_report_output_is_a_file(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("keep")
    assert main(_cli_args(target)) == 2
    assert "-o" in capsys.readouterr().err
    assert target.read_text() == "keep"


def test_cli_report_nonlinear_spec_error_for_missing_spec(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing.toml"), "--input", "1", "-o", str(tmp_path / "r")]) == 2
    assert "no such spec file" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_report_refuses_a_folder_whose_parent_is_missing(tmp_path, capsys):
    """Nothing is created for a failed run: -o a/b with a missing a is refused before any work."""
    out = tmp_path / "missing" / "dir"
    assert main(_cli_args(out)) == 2
    assert "does not exist" in capsys.readouterr().err and not (tmp_path / "missing").exists()
