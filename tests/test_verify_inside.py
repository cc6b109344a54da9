"""``verify`` for an input inside the activation (theory.md 7): the forward Fokker-Planck route with the
operators -div(a^(j)(z)/j! o C.. rho), the claims that generalise (correlation form with the conjugate
-rho^-1 div(rho a'(z) C_k)), those skipped with a reason, and teeth: a wrong contact term fails."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from volterra_sym import build_model, load_spec
from volterra_sym.classes.gradient.law import gradient_law
from volterra_sym.classes.gradient.spectral import spectral_kernels
from volterra_sym.fokker_planck import ForwardFokkerPlanck, InsideActivation
from volterra_sym.verification.claims.gradient import verify_gradient
from volterra_sym.verification.oracles.forward import solver_for
from volterra_sym.verification.runner import verify_spec

ROOT = Path(__file__).resolve().parent.parent
SCALAR = ROOT / "derivations" / "nonlinear" / "tanh1_inside.toml"
TWO = ROOT / "derivations" / "nonlinear" / "tanh2_inside.toml"


@pytest.fixture(scope="module")
def scalar():
    model = build_model(load_spec(SCALAR))
    return model, spectral_kernels(gradient_law(model), order=3)


def test_forward_route_reproduces_the_recorded_inside_terms():
    """theory.md 7.1 records the scalar network's terms (u = sin(2t) + 0.3, t = 1.3), reproduced there by
    a Chebyshev solver and the Cauchy coefficients of the driven mean; the Fourier-RK4 route agrees."""
    fp = solver_for(load_spec(SCALAR), half_width=6.5, nodes=128, step=None)
    fp.relax(tol=1e-13)
    terms, _ = fp.forced(lambda s: np.array([np.sin(2 * s) + 0.3]), 1.3, 1.0, 3)
    recorded = [0.31149042714, 0.27544375500, -0.08749853055, -0.00865128505]
    np.testing.assert_allclose(terms[:, 0], recorded, rtol=0, atol=2e-10)


def test_a_linear_activation_inside_is_the_additive_route():
    """With a(x) = x the inside operators are -div(C_k rho) and no contact term: the additive solver's numbers."""
    W, b, C = np.array([[0.5]]), np.array([0.3]), np.array([[1.2]])

    def drift(H):
        return -H + np.tensordot(W, H, axes=1) + b.reshape((1,) + (1,) * (H.ndim - 1))

    linear = InsideActivation(W, b, (lambda x: x, np.ones_like, np.zeros_like, np.zeros_like))
    kwargs = dict(half_width=6.0, nodes=64, step=2.0**-7)
    additive = ForwardFokkerPlanck(drift, np.array([[0.49]]), C, [lambda h: h**2], **kwargs)
    inside = ForwardFokkerPlanck(drift, np.array([[0.49]]), C, [lambda h: h**2], inside=linear, **kwargs)
    u = lambda s: np.array([np.cos(s)])  # noqa: E731
    a, c = additive.forced(u, 0.5, 0.7, 3), inside.forced(u, 0.5, 0.7, 3)
    np.testing.assert_allclose(c[0], a[0], rtol=0, atol=1e-13)
    np.testing.assert_allclose(c[1], a[1], rtol=0, atol=1e-13)
    requests = [((0.3,), (0,)), ((0.2, 0.4), (0, 0))]
    np.testing.assert_allclose(inside.kernels(requests), additive.kernels(requests), rtol=0, atol=1e-13)
    assert abs(additive.kernels(requests)).max() > 1e-2
    # no contact kernel for an additive input, nor inside a linear activation
    assert not np.any(additive.kernels([((0.3,), ((0, 0),))]))
    assert np.abs(inside.kernels([((0.3,), ((0, 0),))])).max() == 0


def test_scalar_inside_passes_the_independent_claims(scalar):
    """The cheap version of the full run: the forward route (kernels, contact kernels, series, driven mean)
    and Monte Carlo, both independent, pass; the FDT derivative form is skipped with its reason."""
    model, sk = scalar
    report = verify_gradient(model, spectral=sk, order=2, samples=1, mc_paths=4000,
                             claims=["forward_fokker_planck", "monte_carlo", "fdt_derivative"], progress=False)
    claims = {c.name: c for c in report.claims}
    assert report.passed, report.format_text()
    forward = claims["forward_fokker_planck"]
    assert forward.status == "passed" and forward.independent and forward.digits >= 8.5, forward.detail
    assert "input inside the activation" in forward.detail and "contact kernels" in forward.detail
    assert claims["monte_carlo"].status == "passed" and claims["monte_carlo"].independent
    assert claims["fdt_derivative"].status == "skipped" and "additive input" in claims["fdt_derivative"].detail


def _wrong_contact(sk, factor=1.1):
    """The engine with its contact term (a''(z)/2, j = 2) scaled: series term 2 and the contact kernels move."""
    inside = sk.inside
    coefficients = (inside.coefficients[0], factor * inside.coefficients[1]) + tuple(inside.coefficients[2:])
    return dataclasses.replace(sk, inside=dataclasses.replace(inside, coefficients=coefficients))


def test_a_wrong_contact_term_fails_the_forward_claim(scalar):
    model, sk = scalar
    bad = verify_gradient(model, spectral=_wrong_contact(sk), order=2, samples=1, mc_paths=0,
                          claims=["forward_fokker_planck"], progress=False)
    claim = bad.claims[0]
    assert claim.status == "failed" and not bad.passed, claim.detail
    assert "series term 2" in claim.worst or "R^[2]" in claim.worst, claim.worst


def test_correlation_claim_uses_the_inside_conjugate(scalar):
    """kernels_vs_correlation takes b_k = a'(z) C_k and its conjugate -rho^-1 div(rho b_k): it passes the
    engine (with the additive conjugate it agreed to 0.03 digits) and fails a first-order operator 1% off."""
    model, sk = scalar
    good = verify_gradient(model, spectral=sk, order=1, samples=1, mc_paths=0, claims=["kernels_vs_correlation"],
                           progress=False)
    assert good.claims[0].status == "passed" and good.claims[0].digits >= 11, good.format_text()
    bad = verify_gradient(model, spectral=dataclasses.replace(sk, B=1.01 * sk.B), order=1, samples=1, mc_paths=0,
                          claims=["kernels_vs_correlation"], progress=False)
    assert bad.claims[0].status == "failed"


@pytest.mark.slow
def test_a_wrong_contact_term_fails_the_expansion_claim(scalar):
    model, sk = scalar
    good = verify_gradient(model, spectral=sk, order=2, samples=1, mc_paths=0, claims=["series_vs_driven_mean"],
                           progress=False)
    assert good.passed is False  # self-consistency alone never passes a report
    assert good.claims[0].status == "passed" and not good.claims[0].independent, good.claims[0].detail
    bad = verify_gradient(model, spectral=_wrong_contact(sk), order=2, samples=1, mc_paths=0,
                          claims=["series_vs_driven_mean"], progress=False)
    assert bad.claims[0].status == "failed"


@pytest.mark.slow
# tanh2_inside's full run (its forward claim alone: 858 s at load 10, 8.55 digits) is too long for CI
@pytest.mark.parametrize("spec", [SCALAR], ids=["tanh1_inside"])
def test_inside_specs_verify(spec):
    report = verify_spec(spec, progress=False)
    assert report.passed, report.format_text()
    status = {c.name: c for c in report.claims}
    independent = [c.name for c in report.claims if c.independent and c.status == "passed"]
    assert {"forward_fokker_planck", "monte_carlo"} <= set(independent), independent
    assert status["fdt_derivative"].status == "skipped"
    for name in ("kernels_vs_correlation", "series_vs_driven_mean", "taylor_coefficients"):
        assert status[name].status == "passed", status[name].detail
    assert not [c.name for c in report.claims if c.status == "failed"]


@pytest.mark.slow
def test_conformance_checks_an_inside_module_against_the_forward_route(monkeypatch):
    """The committed tanh1_inside module passes; with the forward solver's input operators made additive
    (the wrong equation for this network) the forward check fails, so it is really exercised."""
    from volterra_sym.codegen import conformance
    from volterra_sym.loader import load_generated

    module = load_generated(ROOT / "derivations" / "nonlinear" / "tanh1_inside.py")
    conformance.check_generated_module(module, SCALAR)
    solver = conformance._forward_solver

    def additive(spec):
        fp = solver(spec)
        fp.inside = None
        return fp

    monkeypatch.setattr(conformance, "_forward_solver", additive)
    with pytest.raises(AssertionError, match="forward Fokker-Planck"):
        conformance.check_generated_module(module, SCALAR)
