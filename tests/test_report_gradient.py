"""The verification report for gradient-class networks: exact series next to the linearized one and
Monte Carlo, the exact all-order mean output, truncation slopes N + 1 against it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from volterra_sym import build_model, load_spec
from volterra_sym.classes.gradient.law import gradient_law
from volterra_sym.classes.gradient.spectral import (spectral_kernels, spectral_mean_on_grid, spectral_mean_output,
                                                    spectral_series, spectral_series_on_grid)
from volterra_sym.report.build import build_report
from volterra_sym.report.write import write_report

ROOT = Path(__file__).resolve().parent.parent
SCALAR = ROOT / "derivations" / "nonlinear" / "tanh1_scalar.toml"
FIGURE = ROOT / "docs" / "figures" / "tanh1_exact_vs_linearized.png"


@pytest.fixture(scope="module")
def report():
    return build_report(SCALAR, ["sin(t)"], eps_list=[0.3, 1.5], t=5.0, paths=4000, seed=2, n_times=11)


def test_gradient_report_has_exact_and_linearized_quantities(report):
    assert report.engine == "gradient" and report.linearized and report.exact_and_linearized
    K = report.kernels
    assert K.r1_linearized is not None and K.r1.shape == K.r1_linearized.shape
    assert abs(K.r1[0, 0, 0] - 0.5203829363) < 1e-9  # exact R^(1)(0) of theory.md 5
    assert abs(K.r1_linearized[0, 0, 0] - K.r1[0, 0, 0]) > 1e-3  # the linearization is visibly different
    M = report.mean_output
    assert M.exact_terms.shape == (11, report.order + 1, 1)
    assert np.allclose(M.exact[:, 0, 0], 0.3114904271369319, atol=1e-12)
    assert M.exact_partial_sums.shape == (2, report.order + 1, 11, 1)
    assert np.abs(M.z_scores).max() < 4.5  # the simulator agrees with the exact all-order mean output


def test_truncation_slopes_against_the_exact_mean_output(report):
    T = report.truncation
    assert T.kind == "exact" and T.reference_stderr is None
    for a, N in enumerate(T.orders):
        assert abs(T.slopes[a, 0] - (N + 1)) < 0.2, (N, T.slopes[a, 0])


def test_grid_integration_matches_one_time_at_a_time():
    law = gradient_law(build_model(load_spec(SCALAR)))
    sk = spectral_kernels(law, order=3)

    def u(s):
        return np.sin(np.asarray(s, dtype=float))[..., None]

    times = np.linspace(0.0, 2.0, 5)
    terms, _, _ = spectral_series_on_grid(sk, u, times, order=3, tol=1e-11)
    mean, _, _ = spectral_mean_on_grid(sk, u, times, 0.7, tol=1e-11)
    for i, t in enumerate(times[1:], start=1):
        assert np.allclose(terms[i], spectral_series(sk, u, t, 1.0, order=3, tol=1e-12).terms, rtol=0, atol=1e-10)
        assert np.allclose(mean[i], spectral_mean_output(sk, u, t, 0.7, tol=1e-12), rtol=0, atol=1e-10)


def test_report_files_describe_the_gradient_class(report, tmp_path):
    written, drawn = write_report(report, tmp_path, figures=True)
    names = {p.name for p in written}
    assert {"report.md", "mean_output.csv", "kernels_r1.csv", "truncation_error.csv"} <= names
    text = (tmp_path / "report.md").read_text()
    assert "**gradient** engine" in text and "exact series N=3" in text and "linearized series N=3" in text
    assert "exact all-order mean output" in text
    header = (tmp_path / "mean_output.csv").read_text().splitlines()[0]
    assert "exact_series_N3[f1]" in header and "linearized_series_N3[f1]" in header
    assert "R1_linearized[f1,u1]" in (tmp_path / "kernels_r1.csv").read_text().splitlines()[0]
    if drawn:
        assert (tmp_path / "mean_output.png").stat().st_size > 10_000


def test_readme_figure_is_committed_and_small():
    assert FIGURE.is_file(), "run `volterra-sym report derivations/nonlinear/tanh1_scalar.toml --input 'sin(t)' " \
                             "--eps-list 0.3,1.5 -o report` and copy report/mean_output.png"
    data = FIGURE.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 200_000
