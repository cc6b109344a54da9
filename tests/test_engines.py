"""One conformance suite over every engine (in the spirit of scikit-learn's estimator checks).

Each engine is run on a spec it applies to and must keep the interface's contract: shapes and
axes, broadcasting over lag arrays, the order-0 term and t = 0, the series on a grid equal to the
series one time at a time, the driven mean at eps = 0 equal to the stationary mean and agreeing with
the truncated series to O(eps^(N+1)), refusals of bad lags, and the registry's choice.
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
CASES = [
    ("ou", DERIV / "ou3_cubic.toml"),
    ("ou", DERIV / "ou2_tanh.toml"),
    ("gradient", DERIV / "nonlinear" / "tanh1_scalar.toml"),
    ("grid", DERIV / "nonlinear" / "tanh1_scalar.toml"),
    pytest.param(("grid", DERIV / "nonlinear" / "tanh2_nonreversible.toml"), marks=pytest.mark.slow),
    pytest.param(("grid", DERIV / "nonlinear" / "tanh3.toml"), marks=pytest.mark.slow),
    ("linearized", DERIV / "nonlinear" / "tanh3.toml"),
    ("linearized", DERIV / "ou2_quadratic.toml"),
]
NO_EXACT_ENGINE = ROOT / "tests" / "specs" / "tanh4.toml"  # four units, not gradient class


def _u(m: int):
    def u(times):
        times = numpy.asarray(times, dtype=float)
        return numpy.stack([numpy.sin((k + 1) * times) + 0.3 * k for k in range(m)], axis=-1)

    return u


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{c[1].stem}")
def engine(request):
    name, path = request.param
    return engine_for(build_model(load_spec(path)), engine=name, order=2)


def test_every_engine_is_registered_and_applies(engine):
    assert ENGINES[engine.name] is type(engine)
    assert type(engine).applies(engine.model) is None
    assert engine.kind in ("exact", "approximate", "statistical")


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
