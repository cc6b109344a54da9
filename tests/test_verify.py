"""High-precision verification (``volterra-sym verify``): claims, teeth, references, CLI."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import mpmath
import pytest
import sympy

from helpers import QUADRATIC, write_spec
from volterra_sym import build_model, derive_kernels, kernel_values, load_spec, numeric_kernels
from volterra_sym.cli.main import main
from volterra_sym.errors import InputError
from volterra_sym.propagator import Propagator
from volterra_sym.verification.oracles.gaussian_path import (
    TrigInput,
    correlation_kernel,
    forced_mean_shift,
    gauss_hermite_rule,
    mp_model,
    resummation_coefficients,
    standard_expectation,
)
from volterra_sym.verification.references import check_references, reference_path
from volterra_sym.verification.claims.ou import CLAIMS, verify_kernels
from volterra_sym.verification.claims.ou_run import engine_kernel, sample_points
from volterra_sym.verification.runner import ClaimResult, VerificationReport, verify_spec

ROOT = Path(__file__).resolve().parent.parent
QUAD = ROOT / "derivations" / "ou2_quadratic.toml"
FAST = {"dps": 30, "samples": 1, "seed": 3}


@pytest.fixture(scope="module")
def quadratic():
    return derive_kernels(build_model(load_spec(QUAD)))


def _scaled_moments(kset, order, output, factor):
    moments = [list(level) for level in kset.moments]
    moments[order][output] = {k: factor * v for k, v in kset.moments[order][output].items()}
    return dataclasses.replace(kset, moments=tuple(tuple(level) for level in moments))


# --- the oracles themselves ---------------------------------------------------------------------


def test_gauss_hermite_rule_is_exact_for_polynomials():
    with mpmath.workdps(40):
        x, w = gauss_hermite_rule(4)
        for k in range(8):
            moment = mpmath.fsum(wi * xi**k for xi, wi in zip(x, w))
            exact = 0 if k % 2 else math.prod(range(1, k, 2))
            assert abs(moment - exact) < mpmath.mpf(10) ** -35


def test_trapezoid_matches_known_gaussian_integral():
    with mpmath.workdps(40):
        # E cos(u) = exp(-1/2) for u ~ N(0, 1); E cos(u1) cos(u2) = exp(-1)
        one = standard_expectation(lambda u: mpmath.cos(u[0]), 1, None)
        two = standard_expectation(lambda u: mpmath.cos(u[0]) * mpmath.cos(u[1]), 2, None)
        assert abs(one - mpmath.exp(-0.5)) < mpmath.mpf(10) ** -36
        assert abs(two - mpmath.exp(-1)) < mpmath.mpf(10) ** -36


def test_correlation_oracle_matches_theory_quadratic_formula(quadratic):
    """theory.md 4: R^(2) = 2 C^T e^{A^T tau1} M e^{A(tau1+tau2)} C for f = h^T M h (f1 = h1^2 + h1 h2)."""
    values = numeric_kernels(quadratic).values
    with mpmath.workdps(40):
        om = mp_model(quadratic.model.spec, values)
        t1, t2 = mpmath.mpf("0.375"), mpmath.mpf("0.875")
        M = mpmath.matrix([[1, 0.5], [0.5, 0]])
        C = om.C
        expected = 2 * (C.T * mpmath.expm(om.A * t1).T * M * mpmath.expm(om.A * (t1 + t2)) * C)[0]
        got = correlation_kernel(om, 0, (0, 0), [t1, t2])
        assert abs(got - expected) < mpmath.mpf(10) ** -35
        # first order: 2 mu^T M e^{A tau} C, with mu from the oracle's own Lyapunov solve
        expected1 = 2 * (om.mu.T * M * mpmath.expm(om.A * t1) * C)[0]
        assert abs(correlation_kernel(om, 0, (0,), [t1]) - expected1) < mpmath.mpf(10) ** -35


def test_resummation_oracle_matches_quadratic_taylor_coefficients(quadratic):
    values = numeric_kernels(quadratic).values
    with mpmath.workdps(40):
        om = mp_model(quadratic.model.spec, values)
        u = TrigInput((0.5,), (0.25,), (-0.75,), (1.5,))
        delta = forced_mean_shift(om, u, mpmath.mpf("1.25"))
        # delta_t = int_0^t e^{A(t-s)} C u_s ds, checked against plain mpmath.quad
        t = mpmath.mpf("1.25")
        for i in range(2):
            ref = mpmath.quad(lambda s, i=i: (mpmath.expm(om.A * (t - s)) * om.C)[i, 0] * u.mp(s)[0], [0, t])
            assert abs(delta[i] - ref) < mpmath.mpf(10) ** -30
        c = resummation_coefficients(om, 0, delta, 3)
        M = mpmath.matrix([[1, 0.5], [0.5, 0]])
        assert abs(c[1] - 2 * (om.mu.T * M * delta)[0]) < mpmath.mpf(10) ** -35
        assert abs(c[2] - (delta.T * M * delta)[0]) < mpmath.mpf(10) ** -35
        assert abs(c[3]) < mpmath.mpf(10) ** -35


# --- every shipped derivation -------------------------------------------------------------------


def test_every_derivation_verifies(derivation):
    report = verify_spec(derivation, dps=50, samples=1, seed=11)
    assert report.passed, report.format_text()
    for claim in report.claims:
        assert claim.status in ("passed", "skipped"), claim
        if claim.name in ("stationary_law", "backward_vs_correlation", "zero_lag", "series_vs_resummation"):
            assert claim.status == "passed" and claim.digits >= 30, claim
    assert mpmath.mp.dps == 15  # the global context is untouched


@pytest.mark.slow
def test_every_derivation_verifies_with_three_samples(derivation):
    report = verify_spec(derivation, dps=50, samples=3, seed=0)
    assert report.passed, report.format_text()


def test_recorded_references_match_the_float64_engine(derivation):
    """Every spec has recorded oracle values, and the float64 engine reproduces all of them."""
    path = reference_path(derivation)
    assert path.is_file(), f"record references with `volterra-sym verify --record {derivation.name}`"
    kset = derive_kernels(build_model(load_spec(derivation)))
    result = check_references(kset, path)
    assert result.status == "passed", result
    assert result.checked >= 4


def test_reference_check_has_teeth(tmp_path, quadratic):
    path = reference_path(QUAD)
    text = path.read_text()
    data = text.split('value = "', 2)
    head, rest = data[0] + 'value = "' + data[1], data[2]
    number, tail = rest.split('"', 1)
    broken = tmp_path / "ou2_quadratic.reference.toml"
    broken.write_text(head + 'value = "' + repr(float(number) * (1 + 1e-9)) + '"' + tail)
    assert check_references(quadratic, broken).status == "failed"


# --- teeth: deliberately wrong kernels ----------------------------------------------------------


def test_transposed_propagator_fails(quadratic):
    prop = quadratic.propagator  # a LazyPropagator: derived on first use
    wrong = dataclasses.replace(quadratic, propagator=Propagator(prop.tau, prop.matrix.T, prop.method))
    report = verify_kernels(wrong, claims=["backward_vs_correlation", "series_vs_resummation"], **FAST)
    assert report.claim("backward_vs_correlation").status == "failed"
    assert report.claim("series_vs_resummation").status == "failed"
    assert not report.passed


def test_sign_flip_of_first_moment_fails(quadratic):
    wrong = _scaled_moments(quadratic, 1, 0, -1)
    report = verify_kernels(wrong, claims=["backward_vs_correlation", "zero_lag"], **FAST)
    assert report.claim("backward_vs_correlation").status == "failed"
    assert report.claim("zero_lag").status == "failed"


def test_factor_two_in_second_order_fails(quadratic):
    wrong = _scaled_moments(quadratic, 2, 0, 2)
    report = verify_kernels(wrong, claims=["backward_vs_correlation", "series_vs_resummation"], **FAST)
    assert report.claim("backward_vs_correlation").status == "failed"
    assert report.claim("series_vs_resummation").status == "failed"


def test_wrong_stationary_law_fails(quadratic):
    law = quadratic.law
    wrong = dataclasses.replace(quadratic, law=dataclasses.replace(
        law, conjugates=tuple(-c for c in law.conjugates), covariance=law.covariance * 2))
    report = verify_kernels(wrong, claims=["stationary_law"], **FAST)
    assert report.claim("stationary_law").status == "failed"


def test_float64_callable_is_pluggable(quadratic):
    engine = engine_kernel(quadratic)
    good = verify_kernels(quadratic, claims=["float64_vs_mpmath"], kernel=engine, **FAST)
    assert good.claim("float64_vs_mpmath").status == "passed"
    assert good.claim("float64_vs_mpmath").digits >= 12

    def off(n, *lags, **params):
        return engine(n, *lags, **params) * (1 + 1e-10)

    bad = verify_kernels(quadratic, claims=["float64_vs_mpmath"], kernel=off, **FAST)
    assert bad.claim("float64_vs_mpmath").status == "failed"


# --- classes without an oracle ------------------------------------------------------------------


def test_no_oracle_is_reported_as_skipped(tmp_path):
    spec = {
        **QUADRATIC,
        "model": {
            "activation": "linear",
            "Gamma": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            "W": [[0.0, 0.2, 0.0], [0.0, 0.0, 0.2], [0.0, 0.0, 0.0]],
            "b": [0.1, 0.0, 0.0],
            "C": [[1.0], [0.0], [0.0]],
            "sigma": [[0.5, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.5]],
            "readout": ["tanh(h1 + h2 + h3)"],
        },
        "expansion": {"order": 1},
    }
    report = verify_spec(write_spec(tmp_path, spec), claims=["backward_vs_correlation", "series_vs_resummation"],
                         **FAST)
    for name in ("backward_vs_correlation", "series_vs_resummation"):
        claim = report.claim(name)
        assert claim.status == "skipped" and claim.passed is None
        assert "no independent oracle" in claim.detail
    assert not report.passed  # skipped is not failed, but nothing independent passed ...
    text = report.format_text()
    assert "skipped: backward_vs_correlation" in text and "NOT VERIFIED" in text  # ... and is said so


# --- report, API and CLI ------------------------------------------------------------------------


def test_report_is_reproducible_and_serialisable(quadratic):
    a = verify_kernels(quadratic, claims=["stationary_law"], **FAST)
    b = verify_kernels(quadratic, claims=["stationary_law"], **FAST)
    c = verify_kernels(quadratic, claims=["stationary_law"], dps=30, samples=1, seed=4)
    assert a.points == b.points and a.points != c.points
    assert isinstance(a, VerificationReport) and isinstance(a.claims[0], ClaimResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.seed = 1  # type: ignore[misc]
    data = json.loads(a.to_json())
    assert data["seed"] == 3 and data["passed"] is True
    assert set(data["claims"][0]) >= {"name", "passed", "digits", "detail"}
    assert any(p["kind"] == "kernel" for p in data["points"])


def test_sample_points_are_dyadic_and_positive(quadratic):
    pts = sample_points(quadratic, 4, 0)
    for per_order in pts.lags:
        for lags in per_order:
            for x in lags:
                assert x > 0 and (x * 1024).is_integer()


def test_bad_options_raise_input_error(quadratic):
    with pytest.raises(InputError):
        verify_kernels(quadratic, dps=5)
    with pytest.raises(InputError):
        verify_kernels(quadratic, samples=0)
    with pytest.raises(InputError):
        verify_kernels(quadratic, claims=["nonsense"])
    with pytest.raises(InputError):
        verify_kernels(quadratic, params={"nope": 1.0})


def test_cli_json_and_exit_codes(capsys, tmp_path, monkeypatch):
    assert main(["verify", str(QUAD), "--json", "--dps", "30", "--samples", "1", "--seed", "5"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["passed"] is True and data["seed"] == 5 and data["points"]
    assert [c["name"] for c in data["claims"]] == [c for c in CLAIMS if c != "linearization"]
    assert {c["name"]: c["independent"] for c in data["claims"]}["precision_ladder"] is False
    assert data["verdict"].startswith("all checked claims passed")
    assert err == ""  # no progress bar when stderr is not a terminal

    assert main(["verify", str(tmp_path / "missing.toml")]) == 2
    assert main(["verify", str(QUAD), "--dps", "3"]) == 2
    assert main(["verify", str(QUAD), "--param", "x=1"]) == 2
    assert main(["verify", str(QUAD), "--record", "--dps", "30"]) == 2
    capsys.readouterr()

    import volterra_sym.classes.ou.engine as verify_module  # the OU engine's derivation

    real = verify_module.derive_kernels

    def broken(model, order=None):
        return _scaled_moments(real(model, order=order), 1, 0, -1)

    monkeypatch.setattr(verify_module, "derive_kernels", broken)
    assert main(["verify", str(QUAD), "--dps", "30", "--samples", "1"]) == 1
    out, _ = capsys.readouterr()
    assert "FAILED" in out and "backward_vs_correlation" in out


def test_cli_record_writes_sibling_reference(tmp_path, capsys):
    spec = write_spec(tmp_path, QUADRATIC, name="toy.toml")
    assert main(["verify", str(spec), "--record", "--samples", "1"]) == 0
    ref = tmp_path / "toy.reference.toml"
    assert ref.is_file()
    text = ref.read_text()
    assert "method = " in text and "[[kernel]]" in text and "[series]" in text
    import tomllib

    data = tomllib.loads(text)
    digits = len(data["kernel"][0]["value"].lstrip("-0.").split("e")[0].replace(".", ""))
    assert digits >= 40
    kset = derive_kernels(build_model(load_spec(spec)))
    assert check_references(kset, ref).status == "passed"
    assert "wrote" in capsys.readouterr().out


def test_recorded_values_match_closed_forms_in_float64(quadratic):
    """Recorded oracle kernel values against kernel_values directly (a second, explicit reading)."""
    import tomllib

    data = tomllib.loads(reference_path(QUAD).read_text())
    nk = numeric_kernels(quadratic)
    for entry in data["kernel"]:
        value = kernel_values(nk, [float(x) for x in entry["lags"]])[(entry["output"],) + tuple(entry["indices"])]
        assert value == pytest.approx(float(entry["value"]), rel=1e-12, abs=1e-14)


def test_numeric_propagator_nodes_are_evaluated(quadratic):
    """A KernelSet whose e^{A tau} is all ExpmEntry nodes (method "numeric") verifies too."""
    from volterra_sym.propagator import ExpmEntry, Propagator

    tau = quadratic.propagator.tau
    nodes = sympy.ImmutableMatrix(2, 2, lambda i, j: ExpmEntry(i, j, tau))
    numeric = dataclasses.replace(quadratic, propagator=Propagator(tau, nodes, "numeric"))
    report = verify_kernels(numeric, claims=["backward_vs_correlation", "series_vs_resummation",
                                             "float64_vs_mpmath"], **FAST)
    assert report.passed, report.format_text()
    assert report.claim("backward_vs_correlation").digits >= 25


def test_generated_module_kernel_plugs_in(derivation):
    """The generated module's ``kernel(n, *lags, **params)`` is checked like the engine's (when present)."""
    import importlib.util

    path = derivation.with_suffix(".py")
    if not path.is_file():
        pytest.skip(f"no generated module {path.name}")
    spec = importlib.util.spec_from_file_location(f"_generated_{derivation.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    kset = derive_kernels(build_model(load_spec(derivation)))
    report = verify_kernels(kset, claims=["float64_vs_mpmath"], kernel=module.kernel, **FAST)
    assert report.claim("float64_vs_mpmath").status == "passed", report.format_text()
    assert check_references(kset, reference_path(derivation), kernel=module.kernel).status == "passed"
