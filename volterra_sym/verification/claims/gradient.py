"""``verify`` for gradient-class (reversible) nonlinear networks: claims with independent routes.

The engine's kernels of this class come from one Fourier eigen-decomposition of the generator
(:mod:`volterra_sym.spectral`). Each claim below checks them, or the symbolic law they rest on,
against a route that does not diagonalise anything (:mod:`volterra_sym.gradient_oracles`):

=========================  ====================================================================
``stationary_density``     rho_inf ~ exp(-2U/s^2) solves the stationary Fokker-Planck equation:
                           L0* rho / rho simplifies to 0 (SymPy) and vanishes at sample points
                           in mpmath relative to the size of its terms; the normaliser
                           Z = int rho by mpmath quadrature (two independent rules agree).
``stationary_mean``        the engine's <f>_inf vs the quadrature of f against the normalised
                           symbolic density (mpmath).
``taylor_coefficients``    R^(1)_{f;k}(tau) near zero lag vs sum_p tau^p/p! <C_k . grad L0^p f>,
                           the generator words integrated against the density (theory.md 5).
``fdt_derivative``         R^(1)_{f;k}(tau) = -(2/s^2) d/dtau E[f(h_tau) C_k . h_0] (reversible
                           FDT), the correlation by a Lanczos heat-semigroup action on a Fourier
                           grid (float64). Additive input only (skipped inside the activation).
``kernels_vs_correlation`` every kernel order at random lags vs the correlation form
                           < psi_0 A_k, e^{-tau_n H} ... psi_0 f > by the same Lanczos route (input
                           inside: C_k . grad -> a'(z) C_k . grad, A_k = -rho^-1 div(rho a'(z) C_k)).
``forward_fokker_planck``  <f>, kernels, series terms and the all-order driven mean vs the forward
                           equation d rho/dt = L0* rho on a Fourier grid with RK4 in time, built
                           from the spec parsed again (:mod:`.forward`): independent of the law.
                           An input inside the activation: its operators -div(a^(j)(z)/j! ..),
                           contact kernels and contact terms included.
``series_vs_driven_mean``  the engine's series terms vs the Cauchy coefficients in eps of its own
                           all-order driven mean (:mod:`.expansion`; self-consistency).
``float64_vs_mpmath``      one hidden unit: the engine vs an mpmath Fourier-collocation route with
                           shift-and-invert Lanczos (~23 digits), orders 1..3.
``precision_ladder``       one hidden unit: that mpmath route at two grids, Krylov sizes and
                           precisions agrees with itself (it really has the digits it claims).
``theory_reference``       the reference values of theory.md 5 (scalar tanh network) reproduced.
``monte_carlo``            E f(h_t) of the driven network from the simulator (volterra_sym.simulate)
                           vs the engine's exact all-order mean output, and the pathwise response
                           E f(h^eps_t) - E f(h^0_t), each within 4 standard errors.
=========================  ====================================================================

The routes of stationary_density .. precision_ladder start from the engine's symbolic law (potential,
density, generator words) and model, so they are self-consistency checks (``independent=False``);
forward_fokker_planck, theory_reference and monte_carlo are independent of them.

Digits are -log10 of the worst error relative to the largest reference value of the same
quantity. The float64 claims need SPECTRAL_DIGITS (the spectral method is converged to 1e-9),
the mpmath ones QUADRATURE_DIGITS / LADDER_DIGITS, ``theory_reference`` 9 digits (the reference
values are printed with 10); ``monte_carlo`` passes when both differences are within 4 standard
errors, its "digits" and "need" being those of the difference and of 4 standard errors. What
cannot be checked for a network says ``skipped: <reason>``.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType

import mpmath
import numpy
import sympy

from ...classes.gradient.law import gradient_law, taylor_words
from ...classes.gradient.spectral import (
    SpectralKernels,
    spectral_kernels,
)
from ...errors import InputError
from ...model import SymbolicModel, resolve_parameters
from ...progress import progress_bar
from ..oracles.density import float_density_means
from ..oracles.gaussian_path import NoOracle, parameter_substitution
from ..results import (
    ClaimResult,
    KernelCallable,
    Tally,
    VerificationReport,
    check_options,
    skipped_claim,
)

from .expansion import series_vs_driven_mean
from .forward import forward_fokker_planck
from .gradient_run import (DEFAULT_MC_PATHS, LADDER_DIGITS, MC_SIGMAS, QUADRATURE_DIGITS, REFERENCE_DIGITS,
                           REFERENCE_NETWORK, REFERENCE_VALUES, SPECTRAL_DIGITS, TAYLOR_DEGREE, TAYLOR_LAGS, GradientRun,
                           magnitude, spectral_kernel_callable)

__all__ = ["GRADIENT_CLAIMS", "verify_gradient", "spectral_kernel_callable", "REFERENCE_NETWORK",
           "REFERENCE_VALUES", "DEFAULT_MC_PATHS"]

# --- claims -------------------------------------------------------------------------------------


def stationary_density(run: GradientRun) -> ClaimResult:
    """L0* rho = 0 (symbolic and at sample points in mpmath) and the normaliser by quadrature."""
    tally = Tally(run.dps)
    law, model = run.law, run.model
    h = model.hidden
    n = len(h)
    ell = law.log_density
    Sigma = model.Sigma
    grad = [sympy.diff(ell, x) for x in h]
    # L0* rho / rho = -div F - F . grad ell + 1/2 Sigma : (hess ell + grad ell grad ell^T)
    terms = [-law.divergence, -sum((model.drift[i] * grad[i] for i in range(n)), sympy.Integer(0)),
             sum((Sigma[i, j] * sympy.diff(grad[i], h[j]) for i in range(n) for j in range(n)), sympy.Integer(0)) / 2,
             sum((Sigma[i, j] * grad[i] * grad[j] for i in range(n) for j in range(n)), sympy.Integer(0)) / 2]
    residual = sum(terms, sympy.Integer(0))
    symbolic = sympy.simplify(sympy.expand(residual.rewrite(sympy.exp)))
    exact = symbolic == 0
    if exact:
        tally.record(float(run.dps), "symbolic residual (simplifies to 0)")
    subs = parameter_substitution(model, run.values)
    with mpmath.workdps(run.dps + 15):
        funcs = [sympy.lambdify(h, sympy.sympify(t).subs(subs), modules="mpmath", docstring_limit=0) for t in terms]
        for s, point in enumerate(run.law_points):
            args = [mpmath.mpf(x) for x in point]
            parts = [f(*args) for f in funcs]
            tally.compare(mpmath.fsum(parts), 0, max(abs(p) for p in parts), f"L0* rho / rho at sample {s + 1}")
    quad = run.means(()) if n > 1 else run.quadrature(())
    if isinstance(quad, NoOracle):
        tally.skip(f"normaliser: {quad}")
        zdetail = ""
    else:
        tally.record(quad.digits, "normaliser Z")
        zdetail = f"; Z = int exp(log rho) = {mpmath.nstr(quad.Z, 20)} by {quad.method}"
    required = min(QUADRATURE_DIGITS, float(run.dps - 20)) if n > 1 else float(min(30, run.dps - 20))
    how = "SymPy simplifies L0* rho / rho to 0" if exact else "SymPy did not reduce L0* rho / rho to 0 (numeric check only)"
    return tally.result("stationary_density", required,
                        f"{how}; residual at {len(run.law_points)} points relative to its largest term, mpmath at dps "
                        f"{run.dps}{zdetail}")


def stationary_mean(run: GradientRun) -> ClaimResult:
    """The engine's <f>_inf vs quadrature of f against the normalised symbolic density."""
    tally = Tally(16.0)
    quad = run.means(tuple(run.model.readout))
    if isinstance(quad, NoOracle):
        return skipped_claim("stationary_mean", SPECTRAL_DIGITS, str(quad))
    mean = run.engine(0, ())
    scale = magnitude(quad.values)
    for q, ref in enumerate(quad.values):
        tally.compare(float(mean[q]), ref, scale, f"<f{q + 1}>")
    return tally.result("stationary_mean", SPECTRAL_DIGITS,
                        f"engine <f> (ground state of the spectral representation) vs {quad.method} "
                        f"({quad.digits:.0f} digits)")


def taylor_coefficients(run: GradientRun) -> ClaimResult:
    """R^(1)(tau) at small lags vs the Taylor polynomial of the generator words (theory.md 5)."""
    model = run.model
    n = model.n_hidden
    if run.order < 1:
        return skipped_claim("taylor_coefficients", SPECTRAL_DIGITS, "the spec's order is 0 (no kernels)")
    if n not in TAYLOR_DEGREE:
        return skipped_claim("taylor_coefficients", SPECTRAL_DIGITS,
                        f"generator words for {n} hidden units exceed the time budget")
    P = TAYLOR_DEGREE[n]
    taus = TAYLOR_LAGS[n]
    tally = Tally(16.0)
    notes = []
    values = {tau: run.engine(1, (tau,)) for tau in taus}
    scale = max(float(numpy.abs(v).max()) for v in values.values()) or 1.0
    for q in range(model.n_outputs):
        for k in range(model.n_inputs):
            words = taylor_words(run.law, q, k, P)
            if len(words) < 2:
                tally.skip(f"f{q + 1},u{k + 1}: the generator words grow too fast for a Taylor check")
                continue
            # in 1-D every word by mpmath quadrature; in 2-D the words p >= 2 (weight <= tau^2/2 at the
            # compared lags) by a float64 trapezoidal rule, p <= 1 by mpmath (on the grid of the means)
            quad = run.quadrature(tuple(words), words=True) if n == 1 else run.means(tuple(words[:2]))
            if isinstance(quad, NoOracle):
                tally.skip(str(quad))
                continue
            coeffs = [mpmath.mpf(v) for v in quad.values]
            if len(coeffs) < len(words):
                coeffs += [mpmath.mpf(float(v)) for v in float_density_means(run.law, run.values, words[len(coeffs):])]
            degree = len(coeffs) - 1
            ratio = abs(coeffs[-1] / coeffs[-2]) if coeffs[-2] != 0 else mpmath.mpf(1)
            for tau in taus:
                poly = mpmath.fsum(c * mpmath.mpf(tau) ** p / math.factorial(p) for p, c in enumerate(coeffs))
                remainder = abs(coeffs[-1]) * ratio * mpmath.mpf(tau) ** (degree + 1) / math.factorial(degree + 1)
                if remainder > 1e-3 * 10 ** (-SPECTRAL_DIGITS) * scale:
                    notes.append(f"tau={tau:g} not compared (Taylor remainder ~{float(remainder):.1e})")
                    continue
                tally.compare(float(values[tau][q, k]), poly, scale, f"R^(1)_{{f{q + 1};{k + 1}}}({tau:g})")
            notes.append(f"f{q + 1},u{k + 1}: degree {degree}, c_p = " + ", ".join(mpmath.nstr(c, 10) for c in coeffs))
    return tally.result("taylor_coefficients", SPECTRAL_DIGITS,
                        f"engine R^(1) at lags {', '.join(f'{t:g}' for t in taus)} vs sum_p<={P} tau^p/p! "
                        f"<C_k . grad L0^p f> (words by SymPy, means by "
                        f"{'mpmath quadrature' if n == 1 else 'mpmath quadrature for p <= 1, float64 trapezoid for p >= 2'}"
                        f"); " + "; ".join(notes))


def fdt_derivative(run: GradientRun) -> ClaimResult:
    """R^(1)_{f;k}(tau) = -(2/s^2) d/dtau E[f(h_tau) C_k . h_0] (reversible FDT)."""
    if run.order < 1:
        return skipped_claim("fdt_derivative", SPECTRAL_DIGITS, "the spec's order is 0 (no kernels)")
    if run.model.input_placement != "additive":
        return skipped_claim("fdt_derivative", SPECTRAL_DIGITS, "the FDT derivative form assumes an additive input (the "
                             "conjugate of a'(z) C_k . grad is not L0 of an observable); kernels_vs_correlation checks "
                             "R^(1) with its conjugate -rho^-1 div(rho a'(z) C_k)")
    fc = run.fourier()
    if isinstance(fc, NoOracle):
        return skipped_claim("fdt_derivative", SPECTRAL_DIGITS, str(fc))
    tally = Tally(16.0)
    model = run.model
    taus = [0.0] + [lags[0] for lags in run.lags[0]]
    pairs = {}
    for tau in taus:
        engine = run.engine(1, (tau,))
        for q in range(model.n_outputs):
            for k in range(model.n_inputs):
                pairs[(tau, q, k)] = (float(engine[q, k]), fc.fdt_response(q, k, tau))
    scale = magnitude(ref for _, ref in pairs.values())
    for (tau, q, k), (value, ref) in pairs.items():
        tally.compare(value, ref, scale, f"R^(1)_{{f{q + 1};{k + 1}}}({tau:g})")
    return tally.result("fdt_derivative", SPECTRAL_DIGITS,
                        f"engine R^(1) vs -(2/s^2) d/dtau <f(h_tau) C_k . h_0>, the correlation by Lanczos on a "
                        f"{fc.N}^{fc.n} Fourier grid (psi_0 from the symbolic potential, box edge rho/rho_max "
                        f"{fc.edge_mass():.0e}), derivative exact on the Krylov representation")


def kernels_vs_correlation(run: GradientRun) -> ClaimResult:
    """Every order at random lags vs the correlation form by the Lanczos route (float64)."""
    if run.order < 1:
        return skipped_claim("kernels_vs_correlation", SPECTRAL_DIGITS, "the spec's order is 0 (no kernels)")
    fc = run.fourier()
    if isinstance(fc, NoOracle):
        return skipped_claim("kernels_vs_correlation", SPECTRAL_DIGITS, str(fc))
    finer = run.fourier(int(fc.N * 1.25))
    tally = Tally(16.0)
    model = run.model
    groups: dict[int, list] = {}
    pairs = {}
    change = 0.0
    for n, (per_order, indices) in enumerate(zip(run.lags, run.indices), start=1):
        for s, lags in enumerate(per_order):
            engine = run.engine(n, lags)
            for q in range(model.n_outputs):
                for idx in indices:
                    ref = fc.kernel(q, idx, lags)
                    if s == 0 and not isinstance(finer, NoOracle):
                        change = max(change, abs(ref - finer.kernel(q, idx, lags)))
                    pairs[(n, s, q, idx)] = (float(engine[(q,) + idx]), ref)
                    groups.setdefault(n, []).append(ref)
    scales = {n: magnitude(v) for n, v in groups.items()}
    for (n, s, q, idx), (value, ref) in pairs.items():
        tally.compare(value, ref, scales[n], f"R^({n})_{{f{q + 1};{','.join(str(k + 1) for k in idx)}}}(sample {s + 1})")
    return tally.result("kernels_vs_correlation", SPECTRAL_DIGITS,
                        f"engine kernels vs <psi_0 A_k, e^(-tau_n H) Bt ... e^(-tau_1 H) psi_0 f> (theory.md 3c) by "
                        f"Lanczos on a {fc.N}^{fc.n} Fourier grid; the route changes by {change:.1e} on a "
                        f"{int(fc.N * 1.25)}^{fc.n} grid")


def _mp_points(run: GradientRun) -> list[tuple[int, int, tuple, tuple]]:
    """(order, output, indices, lags): order 1 at every sample lag, orders 2..3 at the first sample."""
    model = run.model
    points = []
    for n in range(1, min(run.order, 3) + 1):
        lag_sets = run.lags[n - 1] if n == 1 else run.lags[n - 1][:1]
        idx_sets = run.indices[n - 1] if n == 1 else run.indices[n - 1][:1]
        for lags in lag_sets:
            for q in range(model.n_outputs):
                for idx in idx_sets:
                    points.append((n, q, idx, lags))
    return points


def float64_vs_mpmath(run: GradientRun) -> ClaimResult:
    """One hidden unit: the engine vs the mpmath Fourier-Krylov correlation route."""
    if run.model.n_hidden != 1:
        return skipped_claim("float64_vs_mpmath", SPECTRAL_DIGITS,
                        "the mpmath Krylov route handles one hidden unit (a 2-D grid at 25 digits is beyond the "
                        "time budget); the 2-D kernels are checked in float64 by kernels_vs_correlation and "
                        "fdt_derivative")
    if run.order < 1:
        return skipped_claim("float64_vs_mpmath", SPECTRAL_DIGITS, "the spec's order is 0 (no kernels)")
    tally = Tally(16.0)
    refs, groups, krylov = {}, {}, mpmath.mpf(0)
    for point in _mp_points(run):
        n, q, idx, lags = point
        res = run.mp_kernel(0, q, idx, lags)
        if isinstance(res, NoOracle):
            tally.skip(str(res))
            continue
        refs[point] = res[0]
        krylov = max(krylov, abs(res[1]))
        groups.setdefault(n, []).append(res[0])
    scales = {n: magnitude(v) for n, v in groups.items()}
    for (n, q, idx, lags), ref in refs.items():
        value = float(run.engine(n, lags)[(q,) + idx])
        tally.compare(value, ref, scales[n], f"R^({n})_{{f{q + 1};{','.join(str(k + 1) for k in idx)}}}{list(lags)}")
    oracle = run.mp_oracle(0)
    where = "" if isinstance(oracle, NoOracle) else (
        f" ({oracle.N} Fourier nodes on [{float(oracle.box[0]):.3f}, {float(oracle.box[1]):.3f}], {oracle.size} "
        f"shift-and-invert Lanczos vectors, dps {run.oracle_dps}, Krylov change {mpmath.nstr(krylov, 2)})")
    return tally.result("float64_vs_mpmath", SPECTRAL_DIGITS,
                        "engine kernels (order 1 at every sample lag, orders 2..3 at the first) vs the mpmath "
                        f"correlation form{where}")


def precision_ladder(run: GradientRun) -> ClaimResult:
    """The mpmath route at two resolutions and precisions agrees with itself (first order-1 sample)."""
    if run.model.n_hidden != 1:
        return skipped_claim("precision_ladder", LADDER_DIGITS,
                        "the mpmath Krylov route handles one hidden unit (the 2-D quadrature's own ladder is part "
                        "of stationary_density)")
    if run.order < 1:
        return skipped_claim("precision_ladder", LADDER_DIGITS, "the spec's order is 0 (no kernels)")
    tally = Tally(float(run.oracle_dps))
    lags = run.lags[0][0]
    idx = run.indices[0][0]
    for q in range(run.model.n_outputs):
        low, high = run.mp_kernel(0, q, idx, lags), run.mp_kernel(1, q, idx, lags)
        if isinstance(low, NoOracle) or isinstance(high, NoOracle):
            tally.skip(str(low if isinstance(low, NoOracle) else high))
            continue
        tally.compare(low[0], high[0], abs(high[0]), f"R^(1)_{{f{q + 1};{idx[0] + 1}}}({lags[0]:g})")
        with mpmath.workdps(run.oracle_dps + 8):
            m0, m1 = run.mp_oracle(0).mean(q), run.mp_oracle(1).mean(q)
        tally.compare(m0, m1, abs(m1), f"<f{q + 1}> on the grid")
    return tally.result("precision_ladder", LADDER_DIGITS,
                        f"mpmath route at (112 nodes, 40 Lanczos vectors, dps {run.oracle_dps}) vs (128, 48, dps "
                        f"{run.oracle_dps + 8}): kernel at the first order-1 sample lag and the stationary mean")


def is_reference_network(model: SymbolicModel, values: Mapping[str, float]) -> bool:
    """The scalar tanh network of theory.md 5 (gamma=1, w=1.5, b=0.3, c=1, s=0.8, f=tanh(h1), additive input)."""
    spec = model.spec
    if spec.input_placement != "additive":
        return False
    if model.n_hidden != 1 or model.n_inputs != 1 or model.n_outputs != 1 or spec.activation != "tanh":
        return False
    subs = parameter_substitution(model, values)
    try:
        numbers = {name: float(sympy.sympify(getattr(spec, name)[0, 0]).subs(subs))
                   for name in ("Gamma", "W", "b", "C", "sigma")}
    except (TypeError, ValueError):
        return False
    if any(abs(numbers[k] - v) > 1e-15 for k, v in REFERENCE_NETWORK.items()):
        return False
    return sympy.simplify(model.readout[0] - sympy.tanh(model.hidden[0])) == 0


def theory_reference(run: GradientRun) -> ClaimResult:
    """theory.md 5 reference values, by the engine and by the mpmath routes."""
    if not is_reference_network(run.model, run.values):
        return skipped_claim("theory_reference", REFERENCE_DIGITS,
                        "the theory.md 5 reference values belong to the scalar tanh network (gamma=1, w=1.5, b=0.3, "
                        "c=1, s=0.8, f=tanh(h1)); this spec describes another network")
    tally = Tally(10.0)
    h = run.model.hidden[0]
    quad = run.quadrature((run.model.readout[0], sympy.diff(run.model.readout[0], h)))
    mp1 = run.mp_kernel(0, 0, (0,), (1.0,))
    shown = []
    for label, (text, lags) in REFERENCE_VALUES.items():
        ref = mpmath.mpf(text)
        engine = float(run.engine(len(lags), lags).ravel()[0])
        tally.compare(engine, ref, abs(ref), f"{label} (engine)")
        shown.append(f"{label}: engine {engine:.12f}")
        if lags == ():
            other = None if isinstance(quad, NoOracle) else quad.values[0]
        elif lags == (0.0,):
            other = None if isinstance(quad, NoOracle) else quad.values[1]
        else:
            other = None if isinstance(mp1, NoOracle) else mp1[0]
        if other is not None:
            tally.compare(other, ref, abs(ref), f"{label} (mpmath)")
            shown[-1] += f", mpmath {mpmath.nstr(other, 20)}"
        shown[-1] += f", reference {text}"
    return tally.result("theory_reference", REFERENCE_DIGITS,
                        "theory.md 5 values (10 digits) vs the engine and the mpmath routes (quadrature for <f> and "
                        "R^(1)(0) = <C f'>, the Krylov route for R^(1)(1)): " + "; ".join(shown))


def monte_carlo(run: GradientRun) -> ClaimResult:
    """The simulator's E f(h_t) and pathwise response vs the engine's exact mean output (4 s.e.)."""
    from ...simulate import simulate_responses

    if run.mc_paths == 0:
        return skipped_claim("monte_carlo", MC_SIGMAS, "disabled (mc_paths = 0)")
    sim = simulate_responses(run.model, run.u.numpy, t=run.t, eps=[run.eps], paths=run.mc_paths, seed=run.seed,
                             params=run.values)
    exact = run.engine_driven_mean()
    stationary = run.sk.fhat[0]
    checks = []
    for q in range(run.model.n_outputs):
        checks.append((f"E f{q + 1}(h_t)", sim.mean[1, -1, q], sim.stderr[1, -1, q], exact[q]))
        checks.append((f"response of f{q + 1}", sim.response[1, -1, q], sim.response_stderr[1, -1, q],
                       exact[q] - stationary[q]))
    scale = max(max(abs(float(c[3])) for c in checks), 1e-300)
    worst_z, worst = 0.0, ""
    digits, required = None, None
    for label, mean, se, ref in checks:
        z = abs(mean - ref) / se if se > 0 else math.inf
        d = -math.log10(max(abs(mean - ref), 1e-300) / scale)
        need = -math.log10(MC_SIGMAS * se / scale) if se > 0 else math.inf
        if z >= worst_z:
            worst_z, worst = z, f"{label}: |z| = {z:.2f}"
        if digits is None or d - need < digits - required:
            digits, required = d, need
    status = "passed" if worst_z <= MC_SIGMAS else "failed"
    detail = (f"{run.mc_paths} paths, scheme {sim.scheme}, dt {sim.dt:.4g}, burn-in {sim.burn_in:.3g}, seed {run.seed}, "
              f"t = {run.t:g}, eps = {run.eps:g}: "
              + "; ".join(f"{label} {mean:.6f} +- {se:.1e} vs exact {float(ref):.6f} (z = {(mean - ref) / se:+.2f})"
                          for label, mean, se, ref in checks)
              + f"; passes when every |z| <= {MC_SIGMAS:g} (digits: of the difference; need: of {MC_SIGMAS:g} s.e.)")
    return ClaimResult("monte_carlo", status, max(0.0, digits), max(0.0, required), detail, worst, len(checks))


#: the claims in the order they run
GRADIENT_CLAIMS: Mapping[str, Callable[[GradientRun], ClaimResult]] = MappingProxyType({
    "stationary_density": stationary_density,
    "stationary_mean": stationary_mean,
    "taylor_coefficients": taylor_coefficients,
    "fdt_derivative": fdt_derivative,
    "kernels_vs_correlation": kernels_vs_correlation,
    "forward_fokker_planck": forward_fokker_planck,
    "series_vs_driven_mean": series_vs_driven_mean,
    "float64_vs_mpmath": float64_vs_mpmath,
    "precision_ladder": precision_ladder,
    "theory_reference": theory_reference,
    "monte_carlo": monte_carlo,
})
#: self-consistency (``independent=False``): routes built on the engine's own symbolic law (potential,
#: density, generator words) or its model, which a wrong law or model assembly would share
SELF_CONSISTENCY = frozenset({"stationary_density", "stationary_mean", "taylor_coefficients", "fdt_derivative",
                              "kernels_vs_correlation", "float64_vs_mpmath", "precision_ladder",
                              "series_vs_driven_mean"})


def verify_gradient(
    model: SymbolicModel,
    *,
    order: int | None = None,
    dps: int = 50,
    samples: int = 3,
    seed: int = 0,
    params: Mapping[str, float] | None = None,
    claims: Iterable[str] | None = None,
    kernel: KernelCallable | None = None,
    spectral: SpectralKernels | None = None,
    mc_paths: int = DEFAULT_MC_PATHS,
    progress: bool | None = None,
) -> VerificationReport:
    """Run the gradient-class claims on a nonlinear model (see the module docstring).

    Parameters are as for :func:`volterra_sym.verify.verify_kernels`, plus ``spectral`` (a prebuilt
    representation at these parameter values) and ``mc_paths`` (0 skips the Monte-Carlo claim).
    ``kernel(n, *lags) -> (p,) + (m,) * n`` replaces the engine in the float64 claims (for
    example a generated module's ``kernel``).
    """
    check_options(dps, samples, seed)
    if isinstance(mc_paths, bool) or not isinstance(mc_paths, int) or not (mc_paths == 0 or mc_paths >= 100):
        raise InputError(f"{mc_paths!r}: give 0 (skip) or at least 100 paths", field="mc_paths")
    names = list(GRADIENT_CLAIMS) if claims is None else list(claims)
    unknown = [c for c in names if c not in GRADIENT_CLAIMS]
    if unknown:
        raise InputError(f"unknown claim {unknown[0]!r} (claims: {', '.join(GRADIENT_CLAIMS)})", field="claims")
    start = time.perf_counter()
    law = gradient_law(model)
    values = resolve_parameters(model.spec, params or {})
    order = model.spec.order if order is None else order
    if spectral is None:
        spectral = spectral_kernels(law, values, order=order)
    run = GradientRun(law, spectral, values, dps, order, samples, seed, kernel, mc_paths)
    build = time.perf_counter() - start
    results = []
    with progress_bar(len(names), enabled=progress, desc=f"verify {model.spec.name}") as bar:
        for name in names:
            bar.set_postfix_str(name)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # quadrature/simulation notes are in the details
                result = GRADIENT_CLAIMS[name](run)
            results.append(replace(result, seconds=time.perf_counter() - t0, independent=name not in SELF_CONSISTENCY))
            bar.update()
    points = run.describe()
    points[-1]["seconds"] = round(build, 3)
    return VerificationReport(spec=model.spec.source, name=model.spec.name, dps=dps, order=order, seed=seed,
                              samples=samples, parameters=MappingProxyType(dict(values)), points=tuple(points),
                              claims=tuple(results), seconds=time.perf_counter() - start)
