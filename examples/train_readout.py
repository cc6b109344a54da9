"""Train only the readout of a fixed stochastic RNN: kernel ridge regression on the response feature.

Network: ``derivations/ou3_cubic.toml`` (3 hidden units, 2 input channels, readouts
``f1 = h1^3 - h1 h2 h3 + h2^2/2`` and ``f2 = h1 + h3``), fixed.

Inputs: random smooth signals ``u_k(t) = sum_i a_ki sin(w_i t + phi_ki)`` on ``[0, T]``, sampled
every ``dt`` (the model only sees the samples).

Targets: the mean output ``E y_T`` of the true readout by the exact resummation of the linear
class (theory.md 4): ``E f(mu + xi + eps delta_T)``, ``xi ~ N(0, S)``, with
``delta_T = int_0^T e^{A(T-s)} C u(s) ds`` by Gauss-Legendre quadrature of the smooth input and
the expectation by Gauss-Hermite quadrature of ``f`` itself. ``--monte-carlo PATHS`` also
checks a few of them against :func:`volterra_sym.simulate.simulate`.

Model: :class:`volterra_sym.features.machine.SignatureKernelRidge` on the response feature with the
spectral basis of A at level 3 (the readout's degree). The mean output is exactly linear in
this feature (:mod:`volterra_sym.features.represent`), so kernel ridge regression can recover it; the
script compares the learned predictions with the true readout functional ``<l, Phi(u)>``.

Run: ``python examples/train_readout.py`` (``--help`` for the sizes).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sympy

from volterra_sym import build_model, derive_kernels, load_spec, numeric_kernels
from volterra_sym.features.feature import Basis, response_feature_callable
from volterra_sym.features.estimator import SignatureKernelRidge
from volterra_sym.propagator import expm
from volterra_sym.features.represent import readout_coefficients

SPEC = Path(__file__).resolve().parent.parent / "derivations" / "ou3_cubic.toml"
SEED = 20240611
FREQUENCIES = np.array([0.4, 0.9, 1.7])


def random_inputs(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Amplitudes (count, 2, 3) and phases (count, 2, 3) of smooth 2-channel inputs."""
    return rng.normal(size=(count, 2, FREQUENCIES.size)) * 0.7, rng.uniform(0, 2 * np.pi, (count, 2, FREQUENCIES.size))


def evaluate_inputs(amp: np.ndarray, phase: np.ndarray, t: np.ndarray) -> np.ndarray:
    """u(t) of shape (count, len(t), 2)."""
    arg = FREQUENCIES[None, None, None, :] * t[None, :, None, None] + phase[:, None, :, :]
    return np.einsum("bki,btki->btk", amp, np.sin(arg))


def exact_targets(nk, amp: np.ndarray, phase: np.ndarray, horizon: float, eps: float) -> np.ndarray:
    """E f(mu + xi + eps delta_T) for every input, shape (count, p) (theory.md 4)."""
    x, w = np.polynomial.legendre.leggauss(96)
    s, w = 0.5 * horizon * (x + 1), 0.5 * horizon * w
    kernel = expm((horizon - s)[:, None, None] * nk.A) @ nk.C  # (q, n, m)
    delta = np.einsum("q,qnm,bqm->bn", w, kernel, evaluate_inputs(amp, phase, s))
    model = nk.kset.model
    funcs = [sympy.lambdify(model.hidden, f.subs({model.spec.parameters[k]: v for k, v in nk.values.items()}),
                            modules="numpy") for f in model.readout]
    z, wz = np.polynomial.hermite_e.hermegauss(12)  # exact for polynomials of degree <= 23
    wz = wz / np.sqrt(2 * np.pi)
    n = nk.A.shape[0]
    grid = np.stack(np.meshgrid(*([z] * n), indexing="ij")).reshape(n, -1)
    weight = functools.reduce(np.multiply.outer, [wz] * n).ravel()
    xi = np.linalg.cholesky(nk.S) @ grid  # (n, K)
    h = nk.mu[None, :, None] + xi[None] + eps * delta[:, :, None]  # (count, n, K)
    return np.stack([np.broadcast_to(f(*np.moveaxis(h, 1, 0)), h[:, 0].shape) @ weight for f in funcs], -1)


def r2(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Coefficient of determination per output."""
    return 1.0 - ((y - pred) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)


def run(
    *,
    n_train: int = 300,
    n_test: int = 200,
    horizon: float = 5.0,
    eps: float = 0.5,
    dt: float = 0.05,
    level: int = 3,
    alpha: float = 1e-8,
    kernel_eps: float = 1.0,
    basis: str = "spectral",
    degree: int = 4,
    monte_carlo: int = 0,
    seed: int = SEED,
    verbose: bool = True,
) -> dict:
    """Fit and evaluate; returns the figures (R^2 per output, agreement with the true readout)."""
    say = print if verbose else (lambda *a, **k: None)
    spec = load_spec(SPEC)
    model = build_model(spec)
    nk = numeric_kernels(derive_kernels(model, order=level))
    basis = Basis.from_matrix(nk.A, shift=horizon) if basis == "spectral" else Basis.legendre(degree, horizon)
    rng = np.random.default_rng(seed)
    amp, phase = random_inputs(rng, n_train + n_test)
    t = np.linspace(0.0, horizon, round(horizon / dt) + 1)
    signals = evaluate_inputs(amp, phase, t)
    targets = exact_targets(nk, amp, phase, horizon, eps)
    train, test = slice(0, n_train), slice(n_train, None)
    say(f"network {spec.name}: {model.n_hidden} hidden, {model.n_inputs} inputs, {model.n_outputs} outputs; "
        f"T = {horizon:g}, eps = {eps:g}, {t.size} samples per input")
    say(f"feature: {basis!r} ({basis.size} functions), level {level}, "
        f"{sum((model.n_inputs * basis.size) ** n for n in range(1, level + 1))} terms")

    start = time.perf_counter()
    krr = SignatureKernelRidge(basis=basis, level=level, dt=t[1] - t[0], eps=kernel_eps, alpha=alpha,
                               method="spectral")
    krr.fit(signals[train], targets[train])
    predicted = krr.predict(signals[test])
    fit_seconds = time.perf_counter() - start

    # the true readout functional <l, Phi(u)>, Phi of the smooth inputs themselves
    readout = readout_coefficients(nk, horizon, basis, level)
    smooth = [functools.partial(lambda times, b: evaluate_inputs(amp[b : b + 1], phase[b : b + 1], times)[0], b=b)
              for b in range(n_train, n_train + n_test)]
    true_readout = readout.evaluate(response_feature_callable(smooth, horizon, basis, level, nodes=48, panels=4), eps)

    scores = r2(targets[test], predicted)
    figures = {
        "r2": scores.tolist(),
        "r2_vs_true_readout": r2(true_readout, predicted).tolist(),
        "max_abs_error": np.abs(predicted - targets[test]).max(0).tolist(),
        "max_abs_error_vs_true_readout": np.abs(predicted - true_readout).max(0).tolist(),
        "true_readout_vs_targets": np.abs(true_readout - targets[test]).max(0).tolist(),
        "target_std": targets[test].std(0).tolist(),
        "fit_seconds": fit_seconds,
    }
    say(f"kernel ridge regression: {n_train} training inputs, {n_test} held out, alpha = {alpha:g} "
        f"({fit_seconds:.2f} s)")
    for q in range(model.n_outputs):
        say(f"  f{q + 1}: held-out R^2 = {scores[q]:.8f} (1 - R^2 = {1 - scores[q]:.1e}); "
            f"max |error| {figures['max_abs_error'][q]:.2e} "
            f"(target std {figures['target_std'][q]:.3f})")
        say(f"       vs the true readout <l, Phi(u)>: R^2 = {figures['r2_vs_true_readout'][q]:.8f}, "
            f"max |difference| {figures['max_abs_error_vs_true_readout'][q]:.2e}; "
            f"true readout vs exact targets {figures['true_readout_vs_targets'][q]:.1e}")

    if monte_carlo:
        from volterra_sym.simulate import simulate

        say(f"Monte-Carlo check ({monte_carlo} paths, seed {seed}) of the first held-out inputs:")
        checks = []
        for b in range(n_train, n_train + 3):

            def u(times: np.ndarray, b: int = b) -> np.ndarray:
                return evaluate_inputs(amp[b : b + 1], phase[b : b + 1], np.asarray(times))[0]

            sim = simulate(model, u, t=horizon, eps=eps, paths=monte_carlo, seed=seed + b)
            mean, err = sim.final_mean, sim.final_stderr
            pred = predicted[b - n_train]
            checks.append(((pred - mean) / err).tolist())
            say(f"  input {b}: simulated " + ", ".join(f"{m:.4f} +- {e:.4f}" for m, e in zip(mean, err))
                + "; predicted " + ", ".join(f"{v:.4f}" for v in pred)
                + "; z = " + ", ".join(f"{z:+.1f}" for z in (pred - mean) / err))
        figures["monte_carlo_z"] = checks
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=300, help="training inputs (default 300)")
    parser.add_argument("--test", type=int, default=200, help="held-out inputs (default 200)")
    parser.add_argument("--t", type=float, default=5.0, help="horizon T (default 5)")
    parser.add_argument("--eps", type=float, default=0.5, help="input amplitude (default 0.5)")
    parser.add_argument("--dt", type=float, default=0.05, help="sample spacing of the inputs (default 0.05)")
    parser.add_argument("--alpha", type=float, default=1e-8, help="ridge penalty (default 1e-8)")
    parser.add_argument("--basis", choices=("spectral", "legendre"), default="spectral",
                        help="spectral basis of A (exact) or Legendre polynomials (network-agnostic)")
    parser.add_argument("--degree", type=int, default=4, help="Legendre degree (default 4)")
    parser.add_argument("--monte-carlo", type=int, default=0, metavar="PATHS",
                        help="also simulate 3 held-out inputs with this many paths")
    args = parser.parse_args(argv)
    figures = run(n_train=args.train, n_test=args.test, horizon=args.t, eps=args.eps, dt=args.dt,
                  alpha=args.alpha, basis=args.basis, degree=args.degree, monte_carlo=args.monte_carlo)
    return 0 if min(figures["r2"]) > 0.99 else 1


if __name__ == "__main__":
    sys.exit(main())
