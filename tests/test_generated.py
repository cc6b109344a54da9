"""Every derivations/*.toml has a committed, current generated module that honours the contract.

* golden: regenerating into a temporary folder reproduces the committed file byte for byte;
* conformance: :func:`volterra_sym.codegen.conformance.check_generated_module` (engine agreement included);
* oracles: kernels and series terms against the independent mpmath/scipy resummation
  (``_codegen_support``), with the O(dt^2) convergence order of ``series`` measured.
"""

from __future__ import annotations

import mpmath
import numpy
import pytest

from _codegen_support import (
    DERIVATIONS,
    ROOT,
    all_indices,
    delta,
    mp_model,
    oracle_kernel,
    oracle_series,
    relative,
    smooth_input,
)
from volterra_sym.codegen.pipeline import generate_module
from volterra_sym.codegen.loader import load_generated
from volterra_sym.spec import load_spec
from volterra_sym.codegen.conformance import check_generated_module

IDS = [p.stem for p in DERIVATIONS]


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


_MODULES: dict = {}


def committed(spec_path):
    """The committed module of a spec, imported once per session after its stamp check."""
    if spec_path not in _MODULES:
        spec = load_spec(relative(spec_path))
        _MODULES[spec_path] = (spec, load_generated(spec_path.with_name(f"{spec.name}.py"), spec=relative(spec_path)))
    return _MODULES[spec_path]


def test_there_are_derivations():
    assert len(DERIVATIONS) >= 4


@pytest.mark.parametrize("spec_path", DERIVATIONS, ids=IDS)
def test_committed_module_matches_a_fresh_generation(spec_path, tmp_path):
    spec = load_spec(relative(spec_path))
    target = spec_path.with_name(f"{spec.name}.py")
    how = f"regenerate it with `python -m volterra_sym generate {relative(spec_path)}`, review the diff and commit it"
    assert target.is_file(), f"{relative(target)} is missing: {how}"
    fresh = generate_module(relative(spec_path), tmp_path)
    assert fresh.path.read_bytes() == target.read_bytes(), f"{relative(target)} differs from a fresh generation: {how}"


@pytest.mark.parametrize("spec_path", DERIVATIONS, ids=IDS)
def test_conformance(spec_path):
    spec, module = committed(spec_path)
    check_generated_module(module, spec)


@pytest.mark.parametrize("spec_path", DERIVATIONS, ids=IDS)
def test_kernel_matches_the_resummation_oracle(spec_path):
    spec, module = committed(spec_path)
    rng = numpy.random.default_rng(7)
    with mpmath.workdps(30):
        model = mp_model(spec)
        for n in range(1, spec.order + 1):
            lags = rng.uniform(0.05, 1.5, size=n)
            values = module.kernel(n, *lags)
            scale = max(1.0, float(numpy.abs(values).max()))
            for q in range(spec.n_outputs):
                for idx in all_indices(spec.n_inputs, n):
                    expected = float(oracle_kernel(model, lags, q, idx))
                    assert values[(q,) + idx] == pytest.approx(expected, abs=1e-10 * scale), (n, q, idx)


@pytest.mark.parametrize("spec_path", DERIVATIONS, ids=IDS)
def test_series_converges_at_second_order_to_the_resummation(spec_path):
    spec, module = committed(spec_path)
    m, order, eps = spec.n_inputs, spec.order, 0.8
    u = smooth_input(m)
    checkpoints = numpy.array([0.5, 1.0, 1.5, 2.0])
    with mpmath.workdps(25):
        model = mp_model(spec)
        deltas = delta(model, u, checkpoints)
        expected = numpy.stack([oracle_series(model, d, eps, order) for d in deltas], axis=1)  # (order+1, 4, p)
    errors = []
    for dt in (0.05, 0.025):
        times = numpy.arange(int(round(2.0 / dt)) + 1) * dt
        terms = module.series(u(times), dt, eps=eps)
        picked = terms[:, numpy.round(checkpoints / dt).astype(int)]
        errors.append(numpy.abs(picked - expected).max(axis=(1, 2)))
    coarse, fine = errors
    assert coarse[0] < 1e-12 and fine[0] < 1e-12  # term 0 is the stationary mean, exactly
    for n in range(1, order + 1):
        if fine[n] < 1e-11:  # a vanishing term (polynomial degree below n)
            assert coarse[n] < 1e-11
            continue
        ratio = coarse[n] / fine[n]
        assert 3.3 < ratio < 4.7, f"order {n}: error {coarse[n]:.3e} -> {fine[n]:.3e} (ratio {ratio:.2f}, expected ~4)"
        assert fine[n] < 1e-3
