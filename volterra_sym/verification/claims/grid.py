"""``verify`` for the grid engine (any drift, 1-3 hidden units): claims with independent routes.

The engine collocates the Gaussian-weighted backward generator on a periodic Fourier grid in
whitened coordinates (:mod:`volterra_sym.classes.grid`). Its claims:

=========================  ====================================================================
``stationary_mean``        <f>_inf vs the FORWARD Fokker-Planck density of
                           :mod:`~volterra_sym.verification.oracles.forward_density` (Chebyshev
                           collocation for one or two units, Richardson-extrapolated central
                           differences for three; the network's own coordinates and its own box).
``taylor_coefficients``    R^(1)_{f;k}(tau) at small lags vs sum_p tau^p/p! <C_k . grad L0^p f>,
                           generator words by SymPy, their means under that forward density (input
                           inside the activation: a'(W h + b) C_k . grad, theory.md 7.1).
``forward_kernels``        one or two units: kernels of order 1 and 2 at the first sample lags vs
                           theory.md 3(a) on the forward Chebyshev grid (dense exponentials).
``monte_carlo``            E f(h_t) of the driven network and the pathwise response from the
                           simulator (volterra_sym.simulate) within 4 standard errors.
``resolution_ladder``      self-consistency: the engine against its own representation on the next
                           finer grid (independent = False).
``kernels_vs_series``      self-consistency: simplex integrals of the kernels (Gauss-Legendre) equal
                           the series terms of the Magnus integration (independent = False).
=========================  ====================================================================

Digits are -log10 of the worst error relative to the largest reference value of the quantity. The
"need" of a claim against an oracle is the engine's target (8 digits with one or two hidden units,
5 with three), lowered to what the oracle itself resolves (the change between its resolutions).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType

import numpy

from ...errors import InputError
from ...progress import progress_bar
from ..oracles.gaussian_path import NoOracle
from ..results import ClaimResult, KernelCallable, Tally, VerificationReport, check_options, skipped_claim
from .grid_run import DEFAULT_MC_PATHS, MC_SIGMAS, SERIES_DIGITS, TAYLOR_LAGS, GridRun

__all__ = ["GRID_CLAIMS", "verify_grid", "DEFAULT_MC_PATHS"]


def _digits(accuracy: float, scale: float) -> float:
    return float("inf") if accuracy <= 0 else -math.log10(accuracy / max(scale, 1e-300))


def _need(run: GridRun, accuracy: float, scale: float) -> float:
    """The target, lowered to the oracle's own digits (minus half a digit of margin)."""
    return round(max(0.0, min(run.target, _digits(accuracy, scale) - 0.5)), 2)


def stationary_mean(run: GridRun) -> ClaimResult:
    """The engine's <f>_inf vs the forward oracle's density."""
    try:
        means = run.means(tuple(run.model.readout))
    except NoOracle as err:
        return skipped_claim("stationary_mean", run.target, str(err))
    p = run.model.n_outputs
    reference, accuracy = means.values, means.accuracy
    scale = max(float(numpy.abs(reference).max()), 1e-300)
    need = _need(run, float(accuracy.max()), scale)
    tally = Tally(16.0)
    value = run.kernel_value(0, ())
    for q in range(p):
        tally.compare(float(value[q]), float(reference[q]), scale, f"<f{q + 1}>")
    return tally.result("stationary_mean", need, f"engine vs {means.method} (oracle accuracy "
                                                 f"{float(accuracy.max()):.1e})")


def taylor_coefficients(run: GridRun) -> ClaimResult:
    """R^(1)(tau) near zero lag vs the Taylor polynomial of the generator words."""
    if run.order < 1:
        return skipped_claim("taylor_coefficients", run.target, "the spec's order is 0 (no kernels)")
    words = run.words()
    try:
        means = run.means(tuple(w for ws in words.values() for w in ws))
    except NoOracle as err:
        return skipped_claim("taylor_coefficients", run.target, str(err))
    taus = TAYLOR_LAGS[run.n]
    values = {tau: run.kernel_value(1, (tau,)) for tau in taus}
    scale = max(max(float(numpy.abs(v).max()) for v in values.values()), 1e-300)
    tally = Tally(16.0)
    position = 0
    worst_accuracy, notes = 0.0, []
    for (q, k), words in words.items():
        coeffs = means.values[position:position + len(words)]
        acc = means.accuracy[position:position + len(words)]
        position += len(words)
        degree = len(words) - 1
        ratio = abs(coeffs[-1] / coeffs[-2]) if degree >= 1 and coeffs[-2] != 0 else 1.0
        for tau in taus:
            poly = sum(c * tau**p / math.factorial(p) for p, c in enumerate(coeffs))
            remainder = abs(coeffs[-1]) * ratio * tau ** (degree + 1) / math.factorial(degree + 1)
            if remainder > 1e-2 * 10 ** (-run.target) * scale:
                notes.append(f"tau={tau:g} not compared for f{q + 1},u{k + 1} (remainder ~{remainder:.0e})")
                continue
            worst_accuracy = max(worst_accuracy, sum(a * tau**p / math.factorial(p) for p, a in enumerate(acc)))
            tally.compare(float(values[tau][q, k]), float(poly), scale, f"R^(1)_{{f{q + 1};{k + 1}}}({tau:g})")
        notes.append(f"f{q + 1},u{k + 1}: degree {degree}, c_p = " + ", ".join(f"{c:.10g}" for c in coeffs))
    need = _need(run, worst_accuracy, scale)
    return tally.result("taylor_coefficients", need,
                        f"engine R^(1) at lags {', '.join(f'{t:g}' for t in taus)} vs sum_p tau^p/p! "
                        f"<C_k . grad L0^p f> (words by SymPy, means by {means.method}); " + "; ".join(notes))


def forward_kernels(run: GridRun) -> ClaimResult:
    """Kernels of order 1 and 2 at the first sample lags vs the forward Chebyshev exponentials."""
    if run.order < 1:
        return skipped_claim("forward_kernels", run.target, "the spec's order is 0 (no kernels)")
    try:
        density = run.forward().density
    except NoOracle as err:
        return skipped_claim("forward_kernels", run.target, str(err))
    if density is None:
        return skipped_claim("forward_kernels", run.target, "three hidden units: dense forward exponentials are "
                             "beyond the time budget (the 3-D kernels are checked by taylor_coefficients, "
                             "monte_carlo and the ladder)")
    readout = numpy.stack(run.engine.network.output(density.nodes.copy()), axis=-1)
    slopes = run.input_slopes(density.nodes)
    tally = Tally(16.0)
    pairs = []
    for n in range(1, min(run.order, 2) + 1):
        lags, idx = run.lags[n - 1][0], run.indices[n - 1][0]
        ref = density.kernel(readout, lags, idx, slopes=slopes)
        value = run.kernel_value(n, lags)[(slice(None),) + tuple(idx)]
        pairs.append((n, lags, idx, value, ref))
    scale = max(max(float(numpy.abs(r).max()) for *_, r in pairs), 1e-300)
    for n, lags, idx, value, ref in pairs:
        for q in range(len(ref)):
            tally.compare(float(value[q]), float(ref[q]), scale,
                          f"R^({n})_{{f{q + 1};{','.join(str(k + 1) for k in idx)}}}{list(lags)}")
    means = run.means(tuple(run.model.readout))
    need = min(_need(run, float(means.accuracy.max()), max(float(numpy.abs(means.values).max()), 1e-300)),
               run.target) - 1.0
    return tally.result("forward_kernels", max(need, 0.0),
                        f"engine vs theory.md 3(a) on the forward Chebyshev grid ({density.N + 1} points per axis, "
                        f"dense matrix exponentials); need: one digit below the oracle's density accuracy")


def monte_carlo(run: GridRun) -> ClaimResult:
    """The simulator's E f(h_t) and pathwise response vs the engine's all-order driven mean (4 s.e.)."""
    from ...simulate import simulate_responses

    if run.mc_paths == 0:
        return skipped_claim("monte_carlo", MC_SIGMAS, "disabled (mc_paths = 0)")
    sim = simulate_responses(run.model, run.u.numpy, t=run.t, eps=[run.eps], paths=run.mc_paths, seed=run.seed,
                             params=run.values)
    exact = run.engine.driven_mean(run.u.numpy, numpy.array([0.0, run.t]), run.eps, tol=1e-9).value[-1]
    stationary = run.engine.stationary_mean().value
    checks = []
    for q in range(run.model.n_outputs):
        checks.append((f"E f{q + 1}(h_t)", sim.mean[1, -1, q], sim.stderr[1, -1, q], exact[q]))
        checks.append((f"response of f{q + 1}", sim.response[1, -1, q], sim.response_stderr[1, -1, q],
                       exact[q] - stationary[q]))
    scale = max(max(abs(float(c[3])) for c in checks), 1e-300)
    worst_z, worst, digits, required = 0.0, "", None, None
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
              + "; ".join(f"{label} {mean:.6f} +- {se:.1e} vs grid {float(ref):.6f} (z = {(mean - ref) / se:+.2f})"
                          for label, mean, se, ref in checks)
              + f"; passes when every |z| <= {MC_SIGMAS:g}")
    return ClaimResult("monte_carlo", status, max(0.0, digits), max(0.0, required), detail, worst, len(checks))


def resolution_ladder(run: GridRun) -> ClaimResult:
    """The engine against its own operator on the next finer grid (same coordinates)."""
    from ...classes.grid.build import LADDER
    from ...classes.grid.kernels import kernel_values
    from ...classes.grid.operator import assemble, stationary_density

    rep = run.engine.representation
    op = rep.op
    ladder = LADDER[run.n]
    finer = next((N for N in ladder if N > op.N), op.N + (ladder[-1] - ladder[-2]))
    fine = assemble(run.engine.network, op.coords, finer, run.engine.inside)
    pi, _ = stationary_density(fine, 1.0 / rep.relaxation_time)
    tally = Tally(16.0)
    mean = pi @ fine.readout
    scale0 = max(float(numpy.abs(mean).max()), 1e-300)
    for q in range(len(mean)):
        tally.compare(float(run.kernel_value(0, ())[q]), float(mean[q]), scale0, f"<f{q + 1}>")
    for n in range(1, run.order + 1):
        refs = [kernel_values(fine, pi, [numpy.asarray(t) for t in lags]) for lags in run.lags[n - 1]]
        scale = max(max(float(numpy.abs(r).max()) for r in refs), 1e-300)
        for lags, ref in zip(run.lags[n - 1], refs):
            value = run.kernel_value(n, lags)
            for q in range(ref.shape[0]):
                for idx in run.indices[n - 1]:
                    tally.compare(float(value[(q,) + idx]), float(ref[(q,) + idx]), scale,
                                  f"R^({n})_{{f{q + 1};{','.join(str(k + 1) for k in idx)}}}{list(lags)}")
    result = tally.result("resolution_ladder", run.target,
                          f"engine ({op.N} nodes per axis) vs the same operator on {finer} nodes per axis")
    return replace(result, independent=False)


def _gauss_legendre(G: int, a: float, b: float) -> tuple[numpy.ndarray, numpy.ndarray]:
    x, w = numpy.polynomial.legendre.leggauss(G)
    return a + (b - a) * (x + 1) / 2, w * (b - a) / 2


def kernels_vs_series(run: GridRun) -> ClaimResult:
    """Simplex integrals of the engine's kernels (Gauss-Legendre) vs its series terms at time t."""
    if run.order < 1:
        return skipped_claim("kernels_vs_series", SERIES_DIGITS, "the spec's order is 0 (no kernels)")
    engine, t, u = run.engine, run.t, run.u.numpy
    terms = engine.series(u, t, 1.0, order=min(run.order, 2), tol=1e-10).terms
    tally = Tally(16.0)
    s, ws = _gauss_legendre(32, 0.0, t)
    U = u(s)  # (G, m)
    first = engine.kernel([t - s]).value  # (G, p, m)
    quad = [numpy.einsum("g,gqk,gk->q", ws, first, U)]
    if run.order >= 2:
        x, wx = _gauss_legendre(24, 0.0, 1.0)
        s1 = t * x[:, None] * numpy.ones_like(x)[None, :]
        s2 = s1 * x[None, :]
        weight = (t * wx)[:, None] * (s1 * wx[None, :])  # ds1 ds2 = t dx * s1 dy
        second = engine.kernel([t - s1, s1 - s2]).value  # (G, G, p, m, m)
        quad.append(numpy.einsum("ij,ijqab,ija,ijb->q", weight, second, u(s1.ravel()).reshape(s1.shape + (-1,)),
                                 u(s2.ravel()).reshape(s2.shape + (-1,))))
        if engine.inside is not None:  # the contact kernel: two inputs at one time (theory.md 7.1)
            contact = engine.kernel([t - s], composition=[2]).value  # (G, p, m, m)
            quad[-1] = quad[-1] + numpy.einsum("g,gqab,ga,gb->q", ws, contact, U, U)
    for n, values in enumerate(quad, start=1):
        scale = max(float(numpy.abs(terms[n]).max()), 1e-12)
        for q in range(len(values)):
            tally.compare(float(values[q]), float(terms[n][q]), scale, f"term {n} of f{q + 1}")
    result = tally.result("kernels_vs_series", SERIES_DIGITS,
                          f"Gauss-Legendre simplex integrals of the kernels (32 nodes; 24 x 24 collapsed for order "
                          f"2{'; with the contact kernel R^(2) at one time' if engine.inside is not None else ''}) vs the series terms of the Magnus integration at t = {t:g}")
    return replace(result, independent=False)


#: the claims in the order they run
GRID_CLAIMS: Mapping[str, Callable[[GridRun], ClaimResult]] = MappingProxyType({
    "stationary_mean": stationary_mean,
    "taylor_coefficients": taylor_coefficients,
    "forward_kernels": forward_kernels,
    "monte_carlo": monte_carlo,
    "resolution_ladder": resolution_ladder,
    "kernels_vs_series": kernels_vs_series,
})


def verify_grid(engine, *, dps: int = 50, samples: int = 3, seed: int = 0, claims: Iterable[str] | None = None,
                kernel: KernelCallable | None = None, mc_paths: int = DEFAULT_MC_PATHS,
                progress: bool | None = None) -> VerificationReport:
    """Run the grid-engine claims (module docstring) on ``engine`` (a :class:`GridEngine`).

    ``kernel(n, *lags, **params)`` replaces the engine in the kernel comparisons (e.g. a generated
    module's); ``mc_paths = 0`` skips the Monte-Carlo claim; ``dps`` is recorded only (the routes are
    float64).
    """
    check_options(dps, samples, seed)
    if isinstance(mc_paths, bool) or not isinstance(mc_paths, int) or not (mc_paths == 0 or mc_paths >= 100):
        raise InputError(f"{mc_paths!r}: give 0 (skip) or at least 100 paths", field="mc_paths")
    names = list(GRID_CLAIMS) if claims is None else list(claims)
    unknown = [c for c in names if c not in GRID_CLAIMS]
    if unknown:
        raise InputError(f"unknown claim {unknown[0]!r} (claims: {', '.join(GRID_CLAIMS)})", field="claims")
    start = time.perf_counter()
    engine.representation  # noqa: B018 - build before the clock of the first claim
    run = GridRun(engine, samples=samples, seed=seed, kernel=kernel, mc_paths=mc_paths)
    results = []
    with progress_bar(len(names), enabled=progress, desc=f"verify {engine.model.spec.name}") as bar:
        for name in names:
            bar.set_postfix_str(name)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # simulation notes are in the details
                result = GRID_CLAIMS[name](run)
            results.append(replace(result, seconds=time.perf_counter() - t0))
            bar.update()
    return VerificationReport(spec=engine.model.spec.source, name=engine.model.spec.name, dps=dps, order=engine.order,
                              seed=seed, samples=samples, parameters=MappingProxyType(dict(engine.values)),
                              points=tuple(run.describe()), claims=tuple(results),
                              seconds=time.perf_counter() - start)
