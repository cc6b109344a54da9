"""Generated modules of gradient-class specs (volterra_sym.codegen.spectral, templates/spectral_module.py.j2).

* committed modules beside their specs are current (stamp) and equal a fresh generation (numerically:
  another BLAS may change the last bits of the eigen-decomposition, the text around them must not change);
* two generations on one machine are byte-identical; the OU modules' stamps do not depend on the
  spectral templates;
* the contract (volterra_sym.codegen.conformance.check_generated_module) and parameters fixed at the defaults;
* kernel and series against the engine (spectral_kernel_values / spectral_series) and against the
  independent Fokker-Planck routes of tests/fp_oracle.py to 1e-7, series at O(dt^2).
"""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import numpy as np
import pytest

from fp_oracle import FokkerPlanck
from volterra_sym.verification.oracles.forward import solver_for
from volterra_sym import build_model, load_spec
from volterra_sym.cli.main import main
from volterra_sym.codegen.pipeline import expected_inputs_sha256, generate_module, generate_source
from volterra_sym.classes.gradient.law import gradient_law
from volterra_sym.codegen.loader import load_generated
from volterra_sym.codegen.render import SPECTRAL_TEMPLATES, template_sources
from volterra_sym.classes.gradient.spectral import spectral_kernel_values, spectral_kernels, spectral_series
from volterra_sym.codegen.spectral import generate_spectral_source
from volterra_sym.codegen.stamp import inputs_sha256, read_stamp
from volterra_sym.codegen.conformance import check_generated_module

ROOT = Path(__file__).resolve().parent.parent
NONLINEAR = ROOT / "derivations" / "nonlinear"
SCALAR = NONLINEAR / "tanh1_scalar.toml"
REVERSIBLE = NONLINEAR / "tanh2_reversible.toml"
PARAM = ROOT / "tests" / "specs" / "grad_param.toml"
_NUMBER_LINE = re.compile(r"^    [-+0-9.e, inf]+,$")


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.fixture(scope="module")
def scalar():
    spec = load_spec(rel(SCALAR))
    module = load_generated(SCALAR.with_suffix(".py"), spec=rel(SCALAR))
    return spec, module, spectral_kernels(gradient_law(build_model(spec)), order=spec.order)


@pytest.fixture(scope="module")
def reversible():
    spec = load_spec(rel(REVERSIBLE))
    module = load_generated(REVERSIBLE.with_suffix(".py"), spec=rel(REVERSIBLE))
    return spec, module, spectral_kernels(gradient_law(build_model(spec)), order=spec.order)


def _u(t):
    t = np.asarray(t, dtype=float)
    return (np.sin(1.3 * t) + 0.3 * np.cos(2.1 * t))[..., None]


def _split(text: str) -> tuple[list[str], np.ndarray]:
    """(non-numeric lines below the stamp, every printed number in order)."""
    lines = text.splitlines()[2:]
    words, numbers = [], []
    for line in lines:
        if _NUMBER_LINE.match(line):
            numbers += [float(x) for x in line.replace(",", " ").split()]
        else:
            words.append(line)
    return words, np.array(numbers)


def _compare_with_fresh(spec_path: Path, fresh: str) -> None:
    target = spec_path.with_suffix(".py")
    how = f"regenerate it with `python -m volterra_sym generate {rel(spec_path)}` and commit it"
    assert target.is_file(), how
    committed = target.read_text(encoding="utf-8")
    _, stamp, _ = read_stamp(committed)
    assert stamp.template == "spectral_module.py.j2"
    assert stamp.inputs_sha256 == expected_inputs_sha256(rel(spec_path)), how
    if fresh == committed:
        return
    # another BLAS/thread count may change the eigen-decomposition's last bits, nothing else
    words_a, numbers_a = _split(committed)
    words_b, numbers_b = _split(fresh)
    assert words_a == words_b, how
    assert numbers_a.shape == numbers_b.shape
    assert np.abs(numbers_a - numbers_b).max() <= 1e-9 * np.abs(numbers_a).max(), how


def test_committed_scalar_module_equals_a_fresh_generation(tmp_path):
    _compare_with_fresh(SCALAR, generate_module(rel(SCALAR), tmp_path).source)

@pytest.mark.slow  # slower than ~3 s on the 2-core machine: run with -m slow (CI runs both)

def test_committed_reversible_module_equals_a_fresh_generation(reversible):
    """The full pipeline but the eigen-decomposition, which the module fixture has already done."""
    spec, _, sk = reversible
    source = generate_spectral_source(spec, build_model(spec), inputs_sha256=expected_inputs_sha256(spec),
                                      source_label=rel(REVERSIBLE), spectral=sk)
    _compare_with_fresh(REVERSIBLE, source)


def test_two_generations_are_byte_identical(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = generate_module(rel(SCALAR), tmp_path / "a")
    second = generate_module(rel(SCALAR), tmp_path / "b")
    assert first.path.read_bytes() == second.path.read_bytes()


def test_template_families_are_stamped_separately():
    ou, spectral = template_sources("ou"), template_sources("spectral")
    assert set(SPECTRAL_TEMPLATES) <= set(spectral) and not set(SPECTRAL_TEMPLATES) & set(ou)
    assert "_stamp.py.j2" in ou and "_stamp.py.j2" in spectral
    assert template_sources() == ou
    # a change to a spectral template changes the spectral modules' inputs only
    raw = load_spec(rel(SCALAR)).raw
    kwargs = dict(generator="0.1.0", sympy_version="1.14.0", printer_settings={})
    changed = dict(spectral)
    changed["_spectral_runtime.py.j2"] = changed["_spectral_runtime.py.j2"] + b"\n"
    assert inputs_sha256(raw, templates=changed, **kwargs) != inputs_sha256(raw, templates=spectral, **kwargs)


def test_check_discovers_the_nonlinear_modules(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "derivations/nonlinear/tanh1_scalar.py: current" in out
    assert "derivations/nonlinear/tanh2_reversible.py: current" in out
    assert "derivations/ou2_tanh.py: current" in out


def test_generate_refuses_a_network_no_exact_engine_answers(tmp_path, capsys):
    assert main(["generate", rel(ROOT / "tests" / "specs" / "tanh4.toml"), "-o", str(tmp_path)]) == 2
    assert "no exact engine" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_conformance_of_the_scalar_module(scalar):
    spec, module, sk = scalar
    check_generated_module(module, spec, spectral=sk)
    assert module.PROPAGATOR == "spectral" and module.MODES == len(module._LAM) <= len(sk.lam)
    text = Path(module.__file__).read_text(encoding="utf-8")
    assert "import numpy\n" in text and "sympy" not in text.split('"""', 2)[2]


def test_scalar_kernels_match_the_engine_and_fokker_planck(scalar):
    spec, module, sk = scalar
    rng = np.random.default_rng(5)
    for n in range(1, spec.order + 1):
        lags = [np.concatenate([[0.0], rng.uniform(0.0, 2.5, size=30)]) for _ in range(n)]
        expected = spectral_kernel_values(sk, lags)
        assert np.abs(module.kernel(n, *lags) - expected).max() <= 10 * module.TOLERANCE * np.abs(expected).max()
    fp = FokkerPlanck(spec, half_width=7.0, nodes=120)
    assert abs(module.stationary_mean()[0] - fp.mean(fp.rho)[0]) < 1e-9
    for lags in ([0.0], [0.37], [2.5], [0.3, 0.8], [1.1, 0.2], [0.4, 0.5, 0.6]):
        got = module.kernel(len(lags), *lags)[(0,) + (0,) * len(lags)]
        expected = fp.kernel(lags, [0] * len(lags))[0]
        assert abs(got - expected) <= 1e-7 * max(abs(expected), 1e-3), (lags, got, expected)


def test_scalar_series_is_second_order_and_matches_the_engine_and_fokker_planck(scalar):
    spec, module, sk = scalar
    T, eps = 1.5, 0.8
    reference = spectral_series(sk, _u, T, eps, order=spec.order).terms
    errors, finals = [], []
    for dt in (0.02, 0.01, 0.005):
        times = np.arange(int(round(T / dt)) + 1) * dt
        terms = module.series(_u(times), dt, eps=eps)
        assert terms.shape == (spec.order + 1, len(times), 1)
        finals.append(terms[:, -1])
        errors.append(np.abs(terms[:, -1] - reference).max(axis=1))
    for n in range(1, spec.order + 1):
        assert 3.7 < errors[0][n] / errors[1][n] < 4.3 and 3.7 < errors[1][n] / errors[2][n] < 4.3
    richardson = (4 * finals[2] - finals[1]) / 3
    assert np.abs(richardson - reference).max() <= 1e-7 * np.abs(reference).max()
    fp = solver_for(spec, half_width=7.0, nodes=128)
    expected = fp.series_terms(lambda s: _u(s)[..., 0], T, eps, spec.order)
    assert np.abs(richardson - expected).max() <= 1e-7 * np.abs(expected).max()

@pytest.mark.slow  # slower than ~3 s on the 2-core machine: run with -m slow (CI runs both)

def test_reversible_module_matches_the_engine_and_fokker_planck(reversible):
    spec, module, sk = reversible
    check_generated_module(module, spec, spectral=sk)
    fp = solver_for(spec, half_width=6.5, nodes=96)
    assert np.allclose(module.stationary_mean(), fp.mean(fp.rho), rtol=1e-9, atol=1e-11)
    for lags in ([0.0], [0.5], [1.5], [0.3, 0.7], [0.0, 0.0]):
        got = module.kernel(len(lags), *lags)[(slice(None),) + (0,) * len(lags)]
        expected = fp.kernel(lags, [0] * len(lags))
        assert np.abs(got - expected).max() <= 1e-7 * np.abs(expected).max(), (lags, got, expected)

@pytest.mark.slow  # slower than ~3 s on the 2-core machine: run with -m slow (CI runs both)

def test_reversible_series_is_second_order(reversible):
    spec, module, sk = reversible
    T, eps = 0.8, 0.5
    reference = spectral_series(sk, _u, T, eps, order=spec.order).terms
    finals = []
    for dt in (0.01, 0.005):
        times = np.arange(int(round(T / dt)) + 1) * dt
        finals.append(module.series(_u(times), dt, eps=eps)[:, -1])
    coarse, fine = (np.abs(f - reference).max(axis=1) for f in finals)
    assert np.all((coarse[1:] / fine[1:] > 3.6) & (coarse[1:] / fine[1:] < 4.4))
    richardson = (4 * finals[1] - finals[0]) / 3
    assert np.abs(richardson - reference).max() <= 1e-7 * np.abs(reference).max()


@pytest.mark.slow
def test_reversible_series_matches_fokker_planck(reversible):
    spec, module, _ = reversible
    T, eps = 0.8, 0.5
    finals = []
    for dt in (0.01, 0.005):
        times = np.arange(int(round(T / dt)) + 1) * dt
        finals.append(module.series(_u(times), dt, eps=eps)[:, -1])
    richardson = (4 * finals[1] - finals[0]) / 3
    fp = solver_for(spec, half_width=6.5, nodes=96)
    expected = fp.series_terms(lambda s: _u(s)[..., 0], T, eps, spec.order)
    assert np.abs(richardson - expected).max() <= 1e-7 * np.abs(expected).max()


def test_first_order_series_is_exact_for_a_piecewise_linear_input(scalar):
    """The runtime integrates each step exactly for a source linear over the step, so the order-1 term at
    coarse steps (lam dt up to ~50: both branches of the step weights) equals int_0^t R^(1)(t - s) u(s) ds
    of the piecewise-linear input, here by 20-point Gauss-Legendre per step of the module's own kernel."""
    _, module, _ = scalar
    dt, T = 0.25, 13
    samples = _u(np.arange(T) * dt)
    terms = module.series(samples, dt, eps=1.0, order=1)
    x, w = np.polynomial.legendre.leggauss(20)
    t_end = (T - 1) * dt
    total = 0.0
    for i in range(T - 1):
        s = i * dt + (x + 1) * dt / 2
        u_lin = samples[i, 0] + (samples[i + 1, 0] - samples[i, 0]) * (s - i * dt) / dt
        total += (w * dt / 2 * module.kernel(1, t_end - s)[:, 0, 0] * u_lin).sum()
    assert abs(terms[1, -1, 0] - total) <= 1e-10 * max(1.0, abs(total)), (terms[1, -1, 0], total)


def test_parameters_are_fixed_at_the_defaults(tmp_path):
    result = generate_module(rel(PARAM), tmp_path)
    module = load_generated(result.path)
    spec = load_spec(rel(PARAM))
    assert module.PARAMETERS == {"gamma": 1.3}
    check_generated_module(module, spec)
    np.testing.assert_array_equal(module.kernel(1, 0.5, gamma=1.3), module.kernel(1, 0.5))
    with pytest.raises(ValueError, match="differs from the value 1.3.*regenerate"):
        module.kernel(1, 0.5, gamma=1.5)
    with pytest.raises(ValueError, match="spectral representation"):
        module.series(np.zeros((4, 1)), 0.1, gamma=1.31)
    with pytest.raises(TypeError, match="unexpected keyword argument 'beta'"):
        module.stationary_mean(beta=1.0)
    assert "1.3" in module.__doc__ and "ValueError" in module.__doc__


def test_series_cost_is_linear_in_the_number_of_samples(scalar):
    _, module, _ = scalar
    dt = 1e-3

    def timed(T):
        u = _u(np.arange(T) * dt)
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            module.series(u, dt)
            best = min(best, time.perf_counter() - start)
        return best

    small, large = timed(20_000), timed(80_000)
    assert large / small < 8, (small, large)  # O(T) (4x the samples); O(T^2) would be ~16x


def test_generate_source_is_numpy_only(tmp_path):
    _, source = generate_source(rel(SCALAR))
    tree = ast.parse(source)
    imports = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imports |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imports == {"__future__", "numpy"}
