"""One conformance suite over every engine (in the spirit of scikit-learn's estimator checks).

Each engine is run on a spec it applies to and must keep the interface's contract: shapes and
axes, broadcasting over lag arrays, the order-0 term and t = 0, the series on a grid equal to the
series one time at a time, the driven mean at eps = 0 equal to the stationary mean and agreeing with
the truncated series to O(eps^(N+1)), refusals of bad lags, and the registry's choice.

A statistical engine (``kind == "statistical"``, Monte Carlo) answers with standard errors of the
value's shape and is deterministic for its seed, so the equalities between its own answers (the same
lag alone or in an array, the series on a grid or one time at a time) hold exactly; comparisons
between different estimates (the driven mean against the stationary mean and the series) hold
within 4 standard errors instead of a tolerance.
"""

from __future__ import annotations

from pathlib import Path

import numpy
import pytest

from volterra_sym.classes.registry import ENGINES, EXACT_ENGINES, NoEngineError, engine_class, engine_for
from volterra_sym.errors import DerivationError, InputError
from volterra_sym.model import build_model
from volterra_sym.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
DERIV = ROOT / "derivations"
#: few, short Monte-Carlo paths: the contract, not the accuracy (tests/test_montecarlo.py checks that)
MC_OPTIONS = {"paths": 512, "seed": 3, "dt": 0.1, "window": 8.0}
CASES = [
    ("ou", DERIV / "ou3_cubic.toml", {}),
    ("ou", DERIV / "ou2_tanh.toml", {}),
    ("gradient", DERIV / "nonlinear" / "tanh1_scalar.toml", {}),
    ("gradient", DERIV / "nonlinear" / "tanh1_inside.toml", {}),
    ("grid", DERIV / "nonlinear" / "tanh1_scalar.toml", {}),
    ("grid", DERIV / "nonlinear" / "tanh1_inside.toml", {}),
    pytest.param(("grid", ROOT / "tests" / "specs" / "tanh2_inside_nonrev.toml", {}), marks=pytest.mark.slow),
    pytest.param(("grid", DERIV / "nonlinear" / "tanh2_nonreversible.toml", {}), marks=pytest.mark.slow),
    pytest.param(("grid", DERIV / "nonlinear" / "tanh3.toml", {}), marks=pytest.mark.slow),
    ("linearized", DERIV / "nonlinear" / "tanh3.toml", {}),
    ("linearized", DERIV / "ou2_quadratic.toml", {}),
    ("mc", DERIV / "ou2_quadratic.toml", MC_OPTIONS),
    ("mc", DERIV / "nonlinear" / "tanh1_scalar.toml", {**MC_OPTIONS, "burn_in": 20.0}),
    ("mc", DERIV / "nonlinear" / "tanh1_inside.toml", {**MC_OPTIONS, "burn_in": 20.0}),
]
SIGMAS = 4.0
NO_EXACT_ENGINE = ROOT / "tests" / "specs" / "tanh4.toml"  # four units, not gradient class


def _u(m: int):
    def u(times):
        times = numpy.asarray(times, dtype=float)
        return numpy.stack([numpy.sin((k + 1) * times) + 0.3 * k for k in range(m)], axis=-1)

    return u


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{c[1].stem}")
def engine(request):
    name, path, options = request.param
    return engine_for(build_model(load_spec(path)), engine=name, order=2, **options)


def _within(a, b, *, what: str) -> None:
    """Two statistical estimates (Estimate-like: value, stderr) agree within SIGMAS combined s.e."""
    diff = numpy.abs(a[0] - b[0])
    bound = SIGMAS * numpy.hypot(a[1], b[1])
    assert numpy.all(diff <= bound), (what, diff, bound)


def test_every_engine_is_registered_and_applies(engine):
    assert ENGINES[engine.name] is type(engine)
    assert type(engine).applies(engine.model) is None
    assert engine.kind in ("exact", "approximate", "statistical")


def test_statistical_answers_carry_standard_errors_of_the_value_shape(engine):
    u = _u(engine.model.n_inputs)
    answers = [engine.stationary_mean(), engine.kernel([numpy.array([0.2, 0.6])]), engine.kernel([0.3, 0.1])]
    if engine.kind != "statistical":
        assert all(a.stderr is None for a in answers)
        return
    answers.append(engine.driven_mean(u, [0.0, 0.5], 0.4))
    series = engine.series(u, 0.7, 0.4)
    for a in answers + [series]:
        value = a.value if hasattr(a, "value") else a.terms
        assert a.stderr.shape == value.shape and numpy.all(numpy.isfinite(a.stderr)) and numpy.all(a.stderr >= 0)
    assert numpy.all(answers[1].stderr > 0) and numpy.all(series.stderr[1:] > 0)


def test_kernel_shapes_and_broadcasting(engine):
    p, m = engine.model.n_outputs, engine.model.n_inputs
    mean = engine.stationary_mean()
    assert mean.value.shape == (p,) and mean.engine == engine.name
    one = engine.kernel([0.4]).value
    assert one.shape == (p, m)
    grid = engine.kernel([numpy.array([0.4, 0.9])]).value
    assert grid.shape == (2, p, m)
    numpy.testing.assert_allclose(grid[0], one, rtol=1e-12, atol=1e-14)
    two = engine.kernel([numpy.array([[0.1], [0.2]]), numpy.array([0.3, 0.5, 0.7])]).value
    assert two.shape == (2, 3, p, m, m)
    single = engine.kernel([0.2, 0.7]).value
    numpy.testing.assert_allclose(two[1, 2], single, rtol=1e-12, atol=1e-14)


def test_contact_kernels(engine):
    """Kernels of a composition with an entry above 1 (theory.md 7.1): input axes grouped by time; zero for
    an additive input or a linear activation, not zero (and symmetric in the inputs sharing a time) for an
    input inside a nonlinear activation."""
    model = engine.model
    p, m = model.n_outputs, model.n_inputs
    both = engine.kernel([numpy.array([0.3, 0.8])], composition=[2])
    assert both.value.shape == (2, p, m, m)
    numpy.testing.assert_allclose(engine.kernel([0.8], composition=[2]).value, both.value[1], rtol=1e-12, atol=1e-14)
    if model.input_placement == "additive" or model.affine:
        assert not numpy.any(both.value)
    else:
        assert numpy.abs(both.value).max() > 1e-3
        numpy.testing.assert_allclose(both.value, numpy.swapaxes(both.value, -1, -2), rtol=1e-9, atol=1e-12)
    with pytest.raises(InputError) as err:
        engine.kernel([0.3], composition=[3])  # above the engine's order
    assert err.value.field == "composition"


def test_bad_lags_are_refused(engine):
    for lags in ([-1.0], [float("nan")], [float("inf")]):
        with pytest.raises(InputError) as err:
            engine.kernel(lags)
        assert err.value.field == "lags"
    with pytest.raises(InputError):
        engine.kernel([0.1, 0.2, 0.3])  # above the engine's order


def test_series_at_zero_time_and_on_a_grid(engine):
    u = _u(engine.model.n_inputs)
    start = engine.series(u, 0.0, 0.7)
    numpy.testing.assert_allclose(start.terms[0], engine.stationary_mean().value, rtol=1e-12, atol=1e-14)
    assert numpy.all(start.terms[1:] == 0) and start.terms.shape == (engine.order + 1, engine.model.n_outputs)
    times = numpy.linspace(0.0, 1.0, 3)
    grid = engine.series_on_grid(u, times, tol=1e-10)
    assert grid.shape == (3, engine.order + 1, engine.model.n_outputs)
    for i, t in enumerate(times):
        numpy.testing.assert_allclose(grid[i], engine.series(u, float(t), 1.0, tol=1e-10).terms, rtol=1e-7, atol=1e-9)
    assert engine.series(u, 1.0, 0.5).engine == engine.name


def test_driven_mean_agrees_with_the_series(engine):
    if not engine.has_driven_mean:
        pytest.skip("no all-order driven mean")
    u = _u(engine.model.n_inputs)
    times = [0.0, 1.0]
    if engine.kind == "statistical":
        mean = engine.stationary_mean()
        still = engine.driven_mean(u, times, 0.0)
        for k in range(2):
            _within((still.value[k], still.stderr[k]), (mean.value, mean.stderr), what=f"eps = 0 at t = {times[k]}")
        # eps = 0.3: the order-3 remainder (< 1e-4 for these specs, by their exact engines) is far below
        # the noise; the s.e. of the total is bounded by the sum of the terms' s.e.
        series = engine.series(u, 1.0, 0.3)
        driven = engine.driven_mean(u, times, 0.3)
        _within((driven.value[-1], driven.stderr[-1]), (series.total, series.stderr.sum(axis=0)),
                what="driven mean vs series")
        return
    still = engine.driven_mean(u, times, 0.0).value
    numpy.testing.assert_allclose(still, numpy.stack([engine.stationary_mean().value] * 2), rtol=1e-9, atol=1e-11)
    terms = engine.series(u, 1.0, 1.0, tol=1e-12).terms
    errors = []
    for eps in (0.02, 0.04):
        exact = engine.driven_mean(u, times, eps).value[-1]
        truncated = (eps ** numpy.arange(len(terms)))[:, None] * terms
        errors.append(numpy.abs(exact - truncated.sum(axis=0)).max())
    # the error of the order-2 series is O(eps^3): halving eps divides it by ~8 (or it is at rounding)
    assert errors[1] < 1e-11 or 5 < errors[1] / max(errors[0], 1e-300) < 11, errors


def test_stationary_sampler_is_none_or_seeded_draws(engine):
    sampler = engine.stationary_sampler()
    if sampler is None:
        return
    draws = sampler(numpy.random.default_rng(1), 64)
    assert draws.shape == (64, engine.model.n_hidden) and numpy.all(numpy.isfinite(draws))
    assert numpy.array_equal(draws, sampler(numpy.random.default_rng(1), 64))


def test_the_registry_picks_the_first_exact_engine():
    assert EXACT_ENGINES[0] == "ou"
    assert engine_class(build_model(load_spec(DERIV / "ou3_cubic.toml"))).name == "ou"
    assert engine_class(build_model(load_spec(DERIV / "nonlinear" / "tanh1_scalar.toml"))).name == "gradient"
    assert EXACT_ENGINES == ("ou", "gradient", "grid")
    assert engine_class(build_model(load_spec(DERIV / "nonlinear" / "tanh3.toml"))).name == "grid"
    assert engine_class(build_model(load_spec(DERIV / "nonlinear" / "tanh2_nonreversible.toml"))).name == "grid"
    with pytest.raises(NoEngineError) as err:
        engine_class(build_model(load_spec(NO_EXACT_ENGINE)))
    assert set(err.value.reasons) == set(EXACT_ENGINES) and "1 to 3 hidden units" in err.value.reasons["grid"]
    with pytest.raises(DerivationError, match="does not apply"):
        engine_for(build_model(load_spec(DERIV / "ou3_cubic.toml")), engine="gradient")
    with pytest.raises(InputError, match="unknown engine"):
        engine_for(build_model(load_spec(DERIV / "ou3_cubic.toml")), engine="nope")
