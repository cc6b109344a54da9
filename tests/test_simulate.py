"""Monte-Carlo simulator: exactness for the OU class, reproducibility, weak order, stationary start, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy
import pytest

from helpers import spec_input as input_signal
from oracles import ou_exact_mean

from volterra_sym import build_model, derive_kernels, load_spec, numeric_kernels
from volterra_sym.cli.main import main
from volterra_sym.errors import DerivationError, InputError
from volterra_sym.model import linearize
from volterra_sym.propagator import expm
from volterra_sym.network import NumericSRNN, numeric_srnn, ou_transition, stationary_covariance
from volterra_sym.network import sqrtm_psd as _sqrtm_psd
from volterra_sym.simulate import BLOCK, simulate, simulate_responses
from volterra_sym.stepping import Stepper as _Stepper

ROOT = Path(__file__).resolve().parent.parent
DERIV = ROOT / "derivations"
TANH3 = DERIV / "nonlinear" / "tanh3.toml"

#: theory.md 5, reference values of the scalar tanh network (gamma=1, w=1.5, b=0.3, c=1, s=0.8)
SCALAR_TANH = """
name = "scalar_tanh"
[model]
activation = "tanh"
Gamma = [[1.0]]
W = [[1.5]]
b = [0.3]
C = [[1.0]]
sigma = [[0.8]]
readout = ["tanh(h1)"]
"""
SCALAR_TANH_MEAN = 0.3114904271


@pytest.fixture
def scalar_tanh(tmp_path: Path) -> Path:
    path = tmp_path / "scalar_tanh.toml"
    path.write_text(SCALAR_TANH)
    return path


def _model(name: str):
    spec = load_spec(DERIV / name)
    return spec, build_model(spec)


# --------------------------------------------------------------------------------- linear class


@pytest.mark.parametrize(
    "name, inputs",
    [("ou2_quadratic.toml", ["sin(t)"]), ("ou3_cubic.toml", ["sin(t)", "cos(2*t)"]), ("ou2_tanh.toml", ["1 - t/2"])],
)
def test_linear_monte_carlo_agrees_with_exact_resummation(name, inputs):
    """10^5 paths, fixed seed: every recorded time and output within 4 standard errors of the
    independent oracle E f(mu + xi + eps delta_t)."""
    spec, model = _model(name)
    u = input_signal(spec, inputs)
    result = simulate(model, u, t=2.0, eps=0.8, paths=100_000, seed=20240611, dt=0.02, record_every=10)
    assert result.scheme == "exact" and result.burn_in == 0.0
    assert len(result.times) == 11 and result.times[-1] == pytest.approx(2.0)
    exact = ou_exact_mean(model, u, result.times, [0.8])[0]
    z = (result.mean - exact) / result.stderr
    assert numpy.abs(z).max() < 4, z
    assert numpy.all(result.stderr > 0) and numpy.all(result.stderr < 0.02)


def test_exact_transition_has_no_time_step_bias():
    """A piecewise-linear input is integrated exactly: dt = 0.5 is as good as dt = 0.01."""
    spec, model = _model("ou2_quadratic.toml")
    u = input_signal(spec, ["1 - 0.4*t"])
    result = simulate(model, u, t=3.0, eps=1.5, paths=100_000, seed=7, dt=0.5)
    exact = ou_exact_mean(model, u, result.times, [1.5])[0]
    assert numpy.abs((result.mean - exact) / result.stderr).max() < 4


def test_ou_transition_blocks():
    spec, model = _model("ou3_cubic.toml")
    net = numeric_srnn(model)
    Sigma = net.sigma @ net.sigma.T
    dt = 0.3
    E, Q, J0, J1 = ou_transition(net.A, Sigma, dt)
    numpy.testing.assert_allclose(E, expm(net.A * dt), atol=1e-14)
    numpy.testing.assert_allclose(Q, net.S - E @ net.S @ E.T, atol=1e-12)
    r, w = numpy.polynomial.legendre.leggauss(20)
    r = (r + 1) * dt / 2
    w = w * dt / 2
    stack = expm(r[:, None, None] * net.A)
    numpy.testing.assert_allclose(J0, numpy.einsum("k,kij->ij", w, stack), atol=1e-14)
    numpy.testing.assert_allclose(J1, numpy.einsum("k,kij->ij", w * (dt - r), stack), atol=1e-14)
    S = stationary_covariance(net.A, Sigma)
    numpy.testing.assert_allclose(net.A @ S + S @ net.A.T + Sigma, 0, atol=1e-13)
    L = _sqrtm_psd(Q)
    numpy.testing.assert_allclose(L @ L.T, Q, atol=1e-14)


def test_linear_stationary_law_matches_derivation():
    spec, model = _model("ou2_symbolic.toml")
    nk = numeric_kernels(derive_kernels(model), {"beta": 0.1})
    net = numeric_srnn(model, {"beta": 0.1})
    numpy.testing.assert_allclose(net.mu, nk.mu, atol=1e-13)
    numpy.testing.assert_allclose(net.S, nk.S, atol=1e-13)
    result = simulate(model, None, t=1.0, eps=0.0, paths=50_000, seed=3, params={"beta": 0.1}, record_every=50)
    assert numpy.abs((result.mean - nk.stationary_mean) / result.stderr).max() < 4


# ------------------------------------------------------------------------------ reproducibility


def test_same_seed_same_numbers_whatever_the_chunk_size():
    spec, model = _model("ou3_cubic.toml")
    u = input_signal(spec, ["sin(t)", "1"])
    paths = 3 * BLOCK + 17  # a partial block too
    runs = [simulate(model, u, t=1.0, eps=0.5, paths=paths, seed=11, chunk_size=c) for c in (BLOCK, 2 * BLOCK, None)]
    for other in runs[1:]:
        numpy.testing.assert_array_equal(runs[0].mean, other.mean)
        numpy.testing.assert_array_equal(runs[0].stderr, other.stderr)
    different = simulate(model, u, t=1.0, eps=0.5, paths=paths, seed=12)
    assert not numpy.array_equal(runs[0].mean, different.mean)


def test_nonlinear_chunk_size_independent():
    spec, model = _model("nonlinear/tanh3.toml")
    net = numeric_srnn(model)
    u = input_signal(spec, ["sin(t)"])
    a = simulate(net, u, t=0.5, eps=1.0, paths=2 * BLOCK + 5, seed=1, burn_in=1.0, chunk_size=BLOCK)
    b = simulate(net, u, t=0.5, eps=1.0, paths=2 * BLOCK + 5, seed=1, burn_in=1.0, chunk_size=4 * BLOCK)
    numpy.testing.assert_array_equal(a.mean, b.mean)


def test_result_is_frozen():
    spec, model = _model("ou2_quadratic.toml")
    result = simulate(model, None, t=0.1, eps=0.0, paths=10, seed=0)
    with pytest.raises(AttributeError):
        result.paths = 3  # type: ignore[misc]
    assert result.final_mean.shape == (2,)


# ------------------------------------------------------------------------------------ nonlinear

@pytest.mark.slow  # slower than ~3 s on the 2-core machine: run with -m slow (CI runs both)

def test_scalar_tanh_stationary_mean_reference(scalar_tanh):
    """Burn-in + Heun reproduce the invariant-density value <tanh(h)> of theory.md 5."""
    model = build_model(load_spec(scalar_tanh))
    result = simulate(model, None, t=2.0, eps=0.0, paths=100_000, seed=5, dt=0.02, record_every=25)
    assert result.scheme == "heun" and result.burn_in > 0
    z = (result.mean[:, 0] - SCALAR_TANH_MEAN) / result.stderr[:, 0]
    assert numpy.abs(z).max() < 4, z

@pytest.mark.slow  # slower than ~3 s on the 2-core machine: run with -m slow (CI runs both)

def test_tanh3_start_is_stationary():
    """Without input, E f(h_t) does not drift: the burn-in reached the invariant law."""
    spec, model = _model("nonlinear/tanh3.toml")
    net = numeric_srnn(model)
    assert net.fixed_point is not None and net.relaxation_time > 0
    result = simulate(net, None, t=3.0, eps=0.0, paths=40_000, seed=2, dt=0.02, record_every=50)
    assert 5 * net.relaxation_time <= result.burn_in < 50 * net.relaxation_time
    d = result.mean[-1] - result.mean[0]
    assert abs(d[0]) < 4 * numpy.hypot(result.stderr[0, 0], result.stderr[-1, 0])


def _coupled_weak_errors(net: NumericSRNN, scheme: str, ratios, *, paths: int, T: float, fine: int):
    """E f(Y^dt_T) - E f(Y^ref_T) with coarse increments summed from the reference's fine ones."""
    rng = numpy.random.default_rng(20240611)
    n = net.n_hidden
    h0 = net.mu[:, None] + _sqrtm_psd(net.S) @ rng.standard_normal((n, paths))
    Z = rng.standard_normal((fine, net.sigma.shape[1], paths))
    eps = numpy.array([1.0])

    def run(scheme: str, ratio: int) -> numpy.ndarray:
        steps = fine // ratio
        dt = T / steps
        grid = numpy.arange(steps + 1) * dt
        stepper = _Stepper(net, scheme, dt, numpy.sin(2 * grid)[:, None], eps)
        h = h0[None, None]
        for i in range(steps):
            z = Z[i * ratio : (i + 1) * ratio].sum(axis=0) / numpy.sqrt(ratio)
            h = stepper.step(h, i, z[None])
        return net.output(h)[0][0, 0]

    reference = run("heun", 1)
    out = []
    for ratio in ratios:
        d = run(scheme, ratio) - reference
        out.append((T * ratio / fine, d.mean(), d.std() / numpy.sqrt(paths)))
    return numpy.array(out)


@pytest.mark.parametrize("scheme, expected, ratios", [("euler", 1.0, (64, 32, 16, 8)), ("heun", 2.0, (64, 32, 16))])
def test_weak_order(scalar_tanh, scheme, expected, ratios):
    """Euler-Maruyama has weak order 1, stochastic Heun (additive noise) weak order 2."""
    net = numeric_srnn(build_model(load_spec(scalar_tanh)))
    errors = _coupled_weak_errors(net, scheme, ratios, paths=50_000, T=2.0, fine=256)
    dts, bias, se = errors.T
    assert numpy.all(numpy.abs(bias) > 3 * se), errors  # the bias is resolved at every step size
    slope = numpy.polyfit(numpy.log(dts), numpy.log(numpy.abs(bias)), 1)[0]
    assert abs(slope - expected) < 0.35, (slope, errors)


def test_exact_scheme_needs_linear_activation():
    spec, model = _model("nonlinear/tanh3.toml")
    with pytest.raises(InputError, match="linear activation"):
        simulate(model, None, t=1.0, eps=0.0, paths=10, seed=0, scheme="exact")


def test_divergence_is_reported(tmp_path: Path):
    path = tmp_path / "cubic.toml"
    path.write_text(SCALAR_TANH.replace('"tanh"', '"x**3"').replace("1.5", "3.0").replace("0.8", "1.5"))
    with pytest.warns(RuntimeWarning, match="unbounded"):
        model = build_model(load_spec(path))
    with pytest.raises(DerivationError, match="diverged"):
        simulate(model, None, t=50.0, eps=0.0, paths=BLOCK, seed=0, dt=0.2, scheme="euler", burn_in=0.0)


# ------------------------------------------------------------------------- responses (CRN) + API


def test_responses_on_common_random_numbers():
    spec, model = _model("ou2_tanh.toml")
    u = input_signal(spec, ["sin(t)"])
    est = simulate_responses(model, u, t=2.0, eps=[0.05, 0.5], paths=20_000, seed=4, record_every=50)
    assert est.eps.tolist() == [0.0, 0.05, 0.5]
    numpy.testing.assert_allclose(est.response, est.mean - est.mean[:1], atol=1e-12)
    # pathwise differences are far less noisy than the means themselves
    assert numpy.all(est.response_stderr[1, 1:] < 0.2 * est.stderr[1, 1:])
    exact = ou_exact_mean(model, u, est.times, [0.0, 0.05, 0.5])
    assert numpy.all(est.response_stderr[:, 0] == 0)  # t = 0: no input yet, identical paths
    z = (est.response[1:, 1:] - (exact[1:, 1:] - exact[:1, 1:])) / est.response_stderr[1:, 1:]
    assert numpy.abs(z).max() < 4
    single = est.result(2)
    assert single.eps == 0.5 and single.mean.shape == (len(est.times), 2)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"paths": 1}, "paths"),
        ({"paths": 2.5}, "paths"),
        ({"seed": -1}, "seed"),
        ({"t": -1.0}, "t"),
        ({"t": float("nan")}, "t"),
        ({"dt": 0.0}, "dt"),
        ({"eps": float("inf")}, "eps"),
        ({"scheme": "rk4"}, "scheme"),
    ],
)
def test_bad_arguments(kwargs, field):
    spec, model = _model("ou2_quadratic.toml")
    args = {"t": 1.0, "eps": 0.1, "paths": 10, "seed": 0} | kwargs
    with pytest.raises(InputError) as err:
        simulate(model, None, **args)
    assert err.value.field == field


def test_input_signal_checks():
    spec, _ = _model("ou3_cubic.toml")
    with pytest.raises(InputError, match="2 input channel"):
        input_signal(spec, ["sin(t)"])
    with pytest.raises(InputError, match=r"inputs\[1\]"):
        input_signal(spec, ["__import__('os')", "1"])
    u = input_signal(spec, ["sin(t)", "2"])
    assert u(numpy.array([0.0, 1.0])).shape == (2, 2)
    bad = input_signal(spec, ["1/(t - 1)", "0"])
    with pytest.raises(InputError, match="not finite"):
        bad(numpy.array([0.0, 1.0]))


def test_linearized_model_simulates_as_ou():
    spec, model = _model("nonlinear/tanh3.toml")
    lin = linearize(model)
    u = input_signal(spec, ["sin(t)"])
    result = simulate(lin, u, t=1.0, eps=0.5, paths=20_000, seed=9, record_every=20)
    assert result.scheme == "exact"
    exact = ou_exact_mean(lin, u, result.times, [0.5])[0]
    assert numpy.abs((result.mean - exact) / result.stderr).max() < 4


# ---------------------------------------------------------------------------------------- CLI


def test_cli_simulate_json_is_reproducible(capsys):
    argv = ["simulate", str(DERIV / "ou2_quadratic.toml"), "--input", "sin(t)", "--t", "1", "--eps", "0.5",
            "--paths", "5000", "--seed", "42", "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert {"mean", "stderr", "paths", "dt", "seed", "engine", "version"} <= set(first)
    assert first["paths"] == 5000 and first["seed"] == 42 and first["dt"] == pytest.approx(0.01)
    assert len(first["mean"]) == len(first["stderr"]) == 2
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == first


def test_cli_simulate_nonlinear_text(capsys):
    argv = ["simulate", str(TANH3), "--input", "sin(t)", "--t", "0.5", "--eps", "0.5", "--paths", "2000",
            "--seed", "1", "--dt", "0.05"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "scheme heun" in out and "burn-in" in out and "f1:" in out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--paths", "1"], "paths"),
        (["--dt", "-1"], "dt"),
        (["--input", "cos(t)"], "--input"),
        (["--param", "nope=1"], "unknown parameter"),
    ],
)
def test_cli_simulate_bad_input_one_line(capsys, extra, message):
    argv = ["simulate", str(DERIV / "ou2_quadratic.toml"), "--input", "sin(t)", "--t", "1", "--eps", "0.5",
            "--paths", "100", "--seed", "0"] + extra
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_block_statistics_pool_to_the_whole_sample():
    """Per-block (mean, sum of squared deviations) pooled by ``_combine`` give the mean and standard error
    of the whole sample, between-block spread included."""
    from volterra_sym.simulate import _combine

    rng = numpy.random.default_rng(4)
    sizes = [BLOCK, BLOCK, 300]
    blocks = [rng.normal(loc=0.2 * j, scale=1.0 + j, size=s) for j, s in enumerate(sizes)]
    means = numpy.array([b.mean() for b in blocks]).reshape(-1, 1, 1, 1)
    m2 = numpy.array([((b - b.mean()) ** 2).sum() for b in blocks]).reshape(-1, 1, 1, 1)
    mean, stderr = _combine(means, m2, numpy.array(sizes, dtype=float))
    sample = numpy.concatenate(blocks)
    assert abs(float(mean.ravel()[0]) - sample.mean()) < 1e-14
    assert abs(float(stderr.ravel()[0]) - sample.std(ddof=1) / numpy.sqrt(sample.size)) < 1e-15
