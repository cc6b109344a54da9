"""Public conformance suite for generated modules (in the spirit of scikit-learn's ``check_estimator``).

>>> check_generated_module(module, "derivations/ou2_quadratic.toml")  # doctest: +SKIP

:func:`check_generated_module` holds any generated module to the contract of
``templates/module.py.j2``: numpy-only imports, a fresh stamp, the API version, the constants and
signatures, broadcasting and float64 output, clear errors for bad arguments, and agreement with
the engine's own float64 evaluation (:func:`~volterra_sym.evaluate.kernel_values` and
:func:`~volterra_sym.series.series_terms`; for a gradient-class module generated from a nonlinear
spec, :func:`~volterra_sym.spectral.spectral_kernel_values` and
:func:`~volterra_sym.spectral.spectral_series`, within the module's own TOLERANCE; for a grid-engine
module, the :class:`~volterra_sym.classes.grid.engine.GridEngine` to rounding; and a ValueError for
parameter values other than the embedded defaults). Agreement with the engine is
self-consistency, so the series is also checked against a route independent of the module and of
the kernels, at a stated tolerance: the Richardson value of dt = 0.01 and 0.005 against the exact
resummation E f(mu + xi + eps delta_t) (OU modules, :data:`SERIES_TOL`), or against the forward
Fokker-Planck equation on a grid (gradient-class modules, with their stationary mean and kernels to
:data:`FORWARD_TOL`). Failures raise ``AssertionError`` naming the check.
"""

from __future__ import annotations

import ast
import inspect
import warnings
from pathlib import Path
from types import ModuleType

import numpy

import sympy

from ..classes.ou.derive import derive_kernels
from ..classes.ou.evaluate import kernel_values, numeric_kernels
from ..classes.ou.resummation import forced_response, taylor_terms
from .loader import runtime_api_version
from ..model import build_model, numeric_matrix, resolve_parameters
from ..classes.ou.series import series_terms
from ..spec import DerivationSpec, load_spec
from .stamp import output_sha256, read_stamp

__all__ = ["check_generated_module", "ALLOWED_IMPORTS"]

#: the only modules a generated module may import
ALLOWED_IMPORTS = frozenset({"numpy", "__future__"})
#: the series (Richardson value of dt = 0.01 and 0.005) against the independent route, relative to
#: max(1, |terms|): the resummation for OU modules, the forward Fokker-Planck equation for the others
SERIES_TOL = 1e-9
#: kernels and stationary mean of gradient-class modules against the forward Fokker-Planck equation
#: (the modules keep the modes needed for ~1e-8; the grid route is good to ~1e-10)
FORWARD_TOL = 1e-7


def _fail(check: str, message: str) -> AssertionError:
    return AssertionError(f"[{check}] {message}")


def _imports(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add((node.module or "").split(".")[0] or ".")
    return found


def _close(actual: numpy.ndarray, expected: numpy.ndarray, rtol: float, check: str) -> None:
    actual = numpy.asarray(actual)
    expected = numpy.asarray(expected)
    if actual.shape != expected.shape:
        raise _fail(check, f"shape {actual.shape} != expected {expected.shape}")
    scale = max(1.0, float(numpy.abs(expected).max(initial=0.0)))
    error = float(numpy.abs(actual - expected).max(initial=0.0))
    if not error <= rtol * scale:
        raise _fail(check, f"max abs error {error:.3e} exceeds {rtol:g} * {scale:.3g}")


def _raises(kind: type[BaseException], check: str, func, *args, **kwargs) -> None:
    try:
        func(*args, **kwargs)
    except kind:
        return
    except Exception as err:  # noqa: BLE001 - reported as a failed check
        raise _fail(check, f"raised {type(err).__name__}: {err}; expected {kind.__name__}") from err
    raise _fail(check, f"did not raise {kind.__name__}")


def _smooth_input(m: int):
    def u(t: numpy.ndarray) -> numpy.ndarray:
        t = numpy.asarray(t, dtype=numpy.float64)
        return numpy.stack([numpy.sin(1.1 * t + 0.7 * c) + 0.4 * numpy.cos(2.3 * t) for c in range(m)], axis=-1)

    return u


def check_generated_module(
    module: ModuleType,
    spec: str | Path | DerivationSpec,
    *,
    rtol: float = 1e-9,
    seed: int = 20240611,
    check_stamp: bool = True,
    spectral=None,
    engine=None,
) -> None:
    """Check ``module`` (generated from ``spec``) against the generated-module contract.

    Parameters
    ----------
    module : module
        An imported generated module (for example from :func:`volterra_sym.loader.load_generated`).
    spec : path or DerivationSpec
        The spec it was generated from.
    rtol : float
        Tolerance of the kernel comparison with the engine, relative to ``max(1, |value|)``.
    seed : int
        Seed of the random lags.
    check_stamp : bool
        Also require a fresh stamp (needs ``module.__file__``).
    spectral : SpectralKernels, optional
        Gradient-class modules only: the engine's representation to compare with (built from the
        spec when omitted; the 2-unit build takes seconds).
    engine : GridEngine, optional
        Grid-engine modules only: the engine to compare with (built from the spec when omitted).

    Raises
    ------
    AssertionError
        On the first failed check; the message starts with the check's name in brackets.
    """
    from .pipeline import expected_inputs_sha256  # deferred: codegen imports the whole pipeline

    if not isinstance(spec, DerivationSpec):
        spec = load_spec(spec)
    rng = numpy.random.default_rng(seed)
    p, m, nh, order = spec.n_outputs, spec.n_inputs, spec.n_hidden, spec.order

    # source: numpy only, stamp fresh
    path = getattr(module, "__file__", None)
    if path is not None:
        text = Path(path).read_text(encoding="utf-8")
        extra = _imports(text) - ALLOWED_IMPORTS
        if extra:
            raise _fail("imports", f"the module imports {sorted(extra)}; only numpy is allowed")
        if check_stamp:
            _, stamp, body = read_stamp(text, path=str(path))
            if output_sha256(body) != stamp.output_sha256:
                raise _fail("stamp", "output_sha256 does not match: the module was edited by hand")
            if stamp.inputs_sha256 != expected_inputs_sha256(spec):
                raise _fail("stamp", f"inputs_sha256 is stale; regenerate with `volterra-sym generate {spec.source}`")
    elif check_stamp:
        raise _fail("stamp", "the module has no __file__ to read its stamp from")

    # constants
    expected = {"API_VERSION": runtime_api_version(), "NAME": spec.name, "ORDER": order, "N_HIDDEN": nh,
                "N_INPUTS": m, "N_OUTPUTS": p}
    for name, value in expected.items():
        if getattr(module, name, None) != value:
            raise _fail("constants", f"{name} = {getattr(module, name, None)!r}, expected {value!r}")
    if not isinstance(module.PARAMETERS, dict) or list(module.PARAMETERS.items()) != list(spec.defaults.items()):
        raise _fail("constants", f"PARAMETERS = {module.PARAMETERS!r}, expected {dict(spec.defaults)!r} in spec order")

    family = None
    if spec.activation != "linear":
        from ..classes.registry import engine_class

        family = {"gradient": "spectral", "grid": "grid"}.get(engine_class(build_model(spec)).name, "spectral")
        if getattr(module, "PROPAGATOR", None) != family:
            raise _fail("constants", f"PROPAGATOR = {getattr(module, 'PROPAGATOR', None)!r}, expected {family!r}")
        if spec.defaults:
            name, value = next(iter(spec.defaults.items()))
            _raises(ValueError, "errors", module.kernel, 1, 0.5, **{name: value * 1.01 + 0.01})

    # signatures
    P = inspect.Parameter
    shapes = {
        "stationary_mean": [("params", P.VAR_KEYWORD, P.empty)],
        "kernel": [("n", P.POSITIONAL_ONLY, P.empty), ("lags", P.VAR_POSITIONAL, P.empty),
                   ("composition", P.KEYWORD_ONLY, None), ("params", P.VAR_KEYWORD, P.empty)],
        "series": [("u", P.POSITIONAL_ONLY, P.empty), ("dt", P.POSITIONAL_ONLY, P.empty),
                   ("eps", P.KEYWORD_ONLY, 1.0), ("order", P.KEYWORD_ONLY, order),
                   ("params", P.VAR_KEYWORD, P.empty)],
    }
    for fname, want in shapes.items():
        func = getattr(module, fname, None)
        if func is None or not callable(func):
            raise _fail("signature", f"{fname} is missing")
        got = [(q.name, q.kind, q.default) for q in inspect.signature(func).parameters.values()]
        if got != want:
            raise _fail("signature", f"{fname}{inspect.signature(func)} does not match the contract")
        if not (func.__doc__ or "").strip():
            raise _fail("signature", f"{fname} has no docstring")

    # shapes, broadcasting, dtype
    mean = module.stationary_mean()
    if mean.shape != (p,) or mean.dtype != numpy.float64:
        raise _fail("shapes", f"stationary_mean() has shape {mean.shape} and dtype {mean.dtype}")
    _close(module.kernel(0), mean, 0.0, "shapes")
    for n in range(1, order + 1):
        tail = (p,) + (m,) * n
        scalar = module.kernel(n, *([0.25] * n))
        if scalar.shape != tail or scalar.dtype != numpy.float64:
            raise _fail("shapes", f"kernel({n}, scalars) has shape {scalar.shape}, dtype {scalar.dtype}")
        grid = [rng.uniform(0.0, 2.0, size=(4, 1)), rng.uniform(0.0, 2.0, size=(1, 3))] + [
            rng.uniform(0.0, 2.0, size=(3,)) for _ in range(n - 2)
        ]
        lags = grid[:n] if n > 1 else [grid[0]]
        values = module.kernel(n, *lags)
        shape = numpy.broadcast_shapes(*(numpy.shape(t) for t in lags))
        if values.shape != shape + tail or values.dtype != numpy.float64:
            raise _fail("shapes", f"kernel({n}, ...) has shape {values.shape}, expected {shape + tail}")
        b = numpy.broadcast_arrays(*lags)
        i = (shape[0] - 1,) + (shape[1] - 1,) * (len(shape) - 1)
        _close(values[i], module.kernel(n, *[float(a[i]) for a in b]), 1e-14, "broadcasting")
        empty = module.kernel(n, *([numpy.zeros((0,))] * n))
        if empty.shape != (0,) + tail:
            raise _fail("shapes", f"kernel({n}) of empty lags has shape {empty.shape}")

    # bad arguments
    _raises(TypeError, "errors", module.kernel, 1, 0.5, no_such_parameter=1.0)
    _raises(TypeError, "errors", module.stationary_mean, no_such_parameter=1.0)
    _raises(TypeError, "errors", module.series, numpy.zeros((3, m)), 0.1, no_such_parameter=1.0)
    if order >= 1:
        _raises(TypeError, "errors", module.kernel, 1)
        _raises(ValueError, "errors", module.kernel, 1, -0.5)
        _raises(ValueError, "errors", module.kernel, 1, numpy.nan)
    _raises(ValueError, "errors", module.kernel, order + 1, *([0.1] * (order + 1)))
    _raises(ValueError, "errors", module.series, numpy.zeros((3, m + 1)), 0.1)
    _raises(ValueError, "errors", module.series, numpy.zeros((3, m)), 0.0)
    _raises(ValueError, "errors", module.series, numpy.zeros((3, m)), 0.1, order=order + 1)
    if spec.defaults:
        name = next(iter(spec.defaults))
        _raises(ValueError, "errors", module.stationary_mean, **{name: numpy.inf})

    if spec.activation == "linear":
        # agreement with the engine's float64 evaluation, at the defaults and at nearby values
        model = build_model(spec)
        kset = derive_kernels(model)
        settings = [{}]
        if spec.defaults:
            settings.append({k: v * (1.0 + 0.02 * (j % 3 - 1)) + 0.01 for j, (k, v) in enumerate(spec.defaults.items())})
        for params in settings:
            nk = numeric_kernels(kset, params)
            _close(module.stationary_mean(**params), nk.moments[0], rtol, "engine: stationary mean")
            for n in range(1, order + 1):
                lags = [rng.uniform(0.0, 3.0, size=5) for _ in range(n)]
                _close(module.kernel(n, *lags, **params), kernel_values(nk, lags), rtol, f"engine: kernel({n})")

            # series: O(dt^2) convergence towards the engine's (RK4-converged) value at t_end
            u = _smooth_input(m)
            t_end = 1.5
            results = []
            for dt in (0.01, 0.005):
                times = numpy.arange(int(round(t_end / dt)) + 1) * dt
                terms = module.series(u(times), dt, eps=0.8, **params)
                if terms.shape != (order + 1, len(times), p) or terms.dtype != numpy.float64:
                    raise _fail("series", f"series() has shape {terms.shape}, expected {(order + 1, len(times), p)}")
                results.append(terms[:, -1])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                reference = series_terms(nk, u, t_end, 0.8, tol=1e-10).terms
            gap = numpy.abs(results[0] - results[1])
            error = numpy.abs(results[1] - reference)
            scale = max(1.0, float(numpy.abs(reference).max()))
            if not numpy.all(error <= 0.6 * gap + 1e-9 * scale):
                raise _fail("series", f"error at dt=0.005 {error.max():.3e} is not O(dt^2)-consistent with the "
                                      f"dt=0.01 -> 0.005 change {gap.max():.3e}")
            # and against a route sharing nothing with the module or the kernels: the eps-Taylor
            # coefficients of the exact resummation E f(mu + xi + eps delta_t), by quadrature of f itself
            independent = _resummation_terms(model, params, u, t_end, 0.8, order)
            _close((4 * results[1] - results[0]) / 3, independent, SERIES_TOL, "resummation: series (Richardson)")

    elif family == "grid":
        _check_grid_agreement(module, spec, rtol=rtol, rng=rng, engine=engine)
    else:
        _check_spectral_agreement(module, spec, rtol=rtol, rng=rng, spectral=spectral)

    # series structure: t_0 values, eps scaling, zero input, order truncation
    u = _smooth_input(m)(numpy.arange(40) * 0.05)
    one = module.series(u, 0.05)
    two = module.series(u, 0.05, eps=2.0)
    _close(one[0], numpy.broadcast_to(mean, one[0].shape), 0.0, "series: term 0")
    _close(one[1:, 0], numpy.zeros_like(one[1:, 0]), 0.0, "series: t = 0")
    for n in range(order + 1):
        _close(two[n], 2.0**n * one[n], 1e-12, "series: eps scaling")
    _close(module.series(u, 0.05, order=0), one[:1], 0.0, "series: order")
    zero = module.series(numpy.zeros((7, m)), 0.05)
    _close(zero[1:], numpy.zeros_like(zero[1:]), 0.0, "series: zero input")


def _resummation_terms(model, params, u, t: float, eps: float, order: int) -> numpy.ndarray:
    """Series terms at time t from the exact resummation (theory.md 4): mu and S by a float64 solve of
    the Lyapunov equation, delta_t by quadrature, E f by Gauss-Hermite of f (classes/ou/resummation)."""
    values = resolve_parameters(model.spec, params)
    A, b, C, Sigma = (numeric_matrix(M, model, values) for M in (model.A, model.b, model.C, model.Sigma))
    n = A.shape[0]
    eye = numpy.eye(n)
    S = numpy.linalg.solve(numpy.kron(eye, A) + numpy.kron(A, eye), -Sigma.reshape(-1)).reshape(n, n)
    mu = -numpy.linalg.solve(A, b[:, 0])
    delta = forced_response(A, C, u, [0.0, t])[-1]
    subs = {model.spec.parameters[k]: v for k, v in values.items()}
    readout = [sympy.sympify(f).subs(subs) for f in model.readout]
    return taylor_terms(readout, model.hidden, mu, (S + S.T) / 2, delta, eps, order)


def _check_spectral_agreement(module: ModuleType, spec: DerivationSpec, *, rtol: float, rng: numpy.random.Generator,
                              spectral=None) -> None:
    """Gradient class: kernels against the engine's spectral representation within the module's own
    TOLERANCE (it keeps fewer modes), series converging at O(dt^2) to the engine's filters, and the
    stationary mean, kernels and Richardson series against the forward Fokker-Planck equation
    (another discretisation of another equation, shared with nothing in the module) to FORWARD_TOL."""
    from ..classes.gradient.law import gradient_law
    from ..classes.gradient.spectral import spectral_kernel_values, spectral_series, spectral_kernels

    sk = spectral if spectral is not None else spectral_kernels(gradient_law(build_model(spec)), {}, order=spec.order)
    tol = max(rtol, 10 * float(getattr(module, "TOLERANCE", 0.0)))
    _close(module.stationary_mean(), sk.fhat[0], rtol, "engine: stationary mean")
    for n in range(1, spec.order + 1):
        lags = [numpy.concatenate([[0.0], rng.uniform(0.0, 3.0, size=5)]) for _ in range(n)]
        expected = spectral_kernel_values(sk, lags)
        scale = float(numpy.abs(expected).max())
        actual = module.kernel(n, *lags)
        if actual.shape != expected.shape:
            raise _fail(f"engine: kernel({n})", f"shape {actual.shape} != expected {expected.shape}")
        error = float(numpy.abs(actual - expected).max())
        if not error <= tol * scale:
            raise _fail(f"engine: kernel({n})", f"max abs error {error:.3e} exceeds {tol:g} * {scale:.3g}")
    u = _smooth_input(spec.n_inputs)
    t_end = 1.5
    results = []
    for dt in (0.01, 0.005):
        times = numpy.arange(int(round(t_end / dt)) + 1) * dt
        terms = module.series(u(times), dt, eps=0.8)
        if terms.shape != (spec.order + 1, len(times), spec.n_outputs) or terms.dtype != numpy.float64:
            raise _fail("series", f"series() has shape {terms.shape}, expected {(spec.order + 1, len(times), spec.n_outputs)}")
        results.append(terms[:, -1])
    reference = spectral_series(sk, u, t_end, 0.8, order=spec.order).terms
    gap = numpy.abs(results[0] - results[1])
    error = numpy.abs(results[1] - reference)
    scale = max(1.0, float(numpy.abs(reference).max()))
    if not numpy.all(error <= 0.6 * gap + 10 * tol * scale):
        raise _fail("series", f"error at dt=0.005 {error.max():.3e} is not O(dt^2)-consistent with the "
                              f"dt=0.01 -> 0.005 change {gap.max():.3e}")
    # and against another discretisation of another equation: the forward Fokker-Planck equation (for an
    # input inside the activation with its operators -div(a^(j)(z)/j! o C.. rho), contact kernels included)
    fp = _forward_solver(spec)
    _close(module.stationary_mean(), fp.stationary_mean(), FORWARD_TOL, "forward Fokker-Planck: stationary mean")
    requests = [((0.0,) * n, (0,) * n) for n in range(1, spec.order + 1)]
    requests += [(tuple(rng.uniform(0.1, 2.0, size=n)), tuple(rng.integers(0, spec.n_inputs, size=n)))
                 for n in range(1, spec.order + 1)]
    values = fp.kernels(requests)
    for (lags, idx), expected in zip(requests, values):
        actual = module.kernel(len(lags), *lags)[(slice(None),) + idx]
        _close(actual, expected, FORWARD_TOL, f"forward Fokker-Planck: kernel({len(lags)})")
    if fp.inside is not None:  # one contact kernel per order: every input at one time, then (j = n-1, 1)
        for n in range(2, spec.order + 1):
            for composition in ((n,), (n - 1, 1)):
                lags = tuple(rng.uniform(0.1, 2.0, size=len(composition)))
                idx = tuple(int(k) for k in rng.integers(0, spec.n_inputs, size=n))
                groups = (idx,) if len(composition) == 1 else (idx[:-1] if n > 2 else idx[0], idx[-1])
                expected = fp.kernels([(lags, groups)])[0]
                actual = module.kernel(n, *lags, composition=composition)[(slice(None),) + idx]
                _close(actual, expected, FORWARD_TOL, f"forward Fokker-Planck: contact kernel {list(composition)}")
    expected = fp.series_terms(lambda s: u(numpy.array([s]))[0], t_end, 0.8, spec.order)
    _close((4 * results[1] - results[0]) / 3, expected, SERIES_TOL, "forward Fokker-Planck: series (Richardson)")


def _check_grid_agreement(module: ModuleType, spec: DerivationSpec, *, rtol: float, rng: numpy.random.Generator,
                          engine=None) -> None:
    """Grid engine: the module rebuilds the engine's operator, so kernels agree to rounding (within
    max(rtol, 1e-9) of each order's size) and the series converges at O(dt^2) to the engine's."""
    from ..classes.registry import engine_for

    if engine is None:
        engine = engine_for(build_model(spec), engine="grid")
    tol = max(rtol, 1e-9)
    _close(module.stationary_mean(), engine.stationary_mean().value, tol, "engine: stationary mean")
    for n in range(1, spec.order + 1):
        lags = [numpy.concatenate([[0.0], rng.uniform(0.0, 2.0, size=3)]) for _ in range(n)]
        expected = engine.kernel(lags).value
        scale = float(numpy.abs(expected).max())
        actual = module.kernel(n, *lags)
        if actual.shape != expected.shape:
            raise _fail(f"engine: kernel({n})", f"shape {actual.shape} != expected {expected.shape}")
        error = float(numpy.abs(actual - expected).max())
        if not error <= tol * scale:
            raise _fail(f"engine: kernel({n})", f"max abs error {error:.3e} exceeds {tol:g} * {scale:.3g}")
    u = _smooth_input(spec.n_inputs)
    t_end = 0.6
    results = []
    for dt in (0.02, 0.01):
        times = numpy.arange(int(round(t_end / dt)) + 1) * dt
        terms = module.series(u(times), dt, eps=0.8)
        if terms.shape != (spec.order + 1, len(times), spec.n_outputs) or terms.dtype != numpy.float64:
            raise _fail("series", f"series() has shape {terms.shape}, expected {(spec.order + 1, len(times), spec.n_outputs)}")
        results.append(terms[:, -1])
    reference = engine.series(u, t_end, 0.8, tol=1e-10).terms
    gap = numpy.abs(results[0] - results[1])
    error = numpy.abs(results[1] - reference)
    scale = max(1.0, float(numpy.abs(reference).max()))
    if not numpy.all(error <= 0.6 * gap + 1e-8 * scale):
        raise _fail("series", f"error at dt=0.01 {error.max():.3e} is not O(dt^2)-consistent with the "
                              f"dt=0.02 -> 0.01 change {gap.max():.3e}")


def _forward_solver(spec: DerivationSpec):
    """The forward Fokker-Planck solver of a nonlinear spec at its defaults (volterra_sym.fokker_planck)."""
    from ..fokker_planck import InsideActivation, fitted_solver
    from ..spec import X

    subs = {spec.parameters[k]: v for k, v in spec.defaults.items()}

    def num(M):
        return numpy.array(sympy.Matrix(M).subs(subs).evalf(30).tolist(), dtype=float)

    Gamma, W, b, C, sigma = (num(M) for M in (spec.Gamma, spec.W, spec.b, spec.C, spec.sigma))
    a = sympy.lambdify(X, spec.activation_expr.subs(subs), modules="numpy")
    n = spec.n_hidden

    def drift(H):
        pre = numpy.tensordot(W, H, axes=1) + b.reshape((n,) + (1,) * (H.ndim - 1))
        return -numpy.tensordot(Gamma, H, axes=1) + a(pre)

    readout = [sympy.lambdify(spec.hidden, f.subs(subs), modules="numpy") for f in spec.readout]
    inside = None
    if spec.input_placement != "additive":
        a_x = spec.activation_expr.subs(subs)
        inside = InsideActivation(W, b[:, 0] if b.ndim == 2 else b, tuple(
            sympy.lambdify(X, sympy.diff(a_x, X, j), modules="numpy") for j in range(max(spec.order, 1) + 1)))
    return fitted_solver(drift, sigma @ sigma.T, C, readout, inside=inside)
