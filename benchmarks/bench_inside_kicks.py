"""Where the kick of an input inside the activation acts: a standalone NumPy check (theory.md 8.1).

    python benchmarks/bench_inside_kicks.py [--paths P]

The scalar network of derivations/nonlinear/tanh1_inside.toml, dh = (-h + tanh(1.5 h + 0.3 + eps u))
dt + 0.8 dB, f = tanh(h), stepped by stochastic Heun, with the likelihood-ratio weights written out
here independently of the engine. Kernel R^(1) (plain estimator, sliding impulses) and series terms
1..3 (u = sin(2t) + 0.3, t = 1.3) for these variants of the increment shift of a kick:

* ``naive``: the direction d(h_i) = a'(z_i) at the step's start, no propagation (node j read as
  R((j + 1/2) dt), the additive input's midpoint); series shifts c_j(h_i) (C u_mid)^j dt;
* ``no-comp`` (series only): the engine's shift without the composition term (DV V) dt^2 / 2;
* ``engine``: N(h_i) d(h_i), N = 1 + F'(h_i) dt / 2, node j read as R((j + 1) dt); series:
  trapezoidal kicks with the composition term (the ``mc`` engine's choice).

Prints estimate - exact (gradient engine) +- standard error.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from volterra_sym.classes.registry import engine_for  # noqa: E402
from volterra_sym.model import build_model  # noqa: E402
from volterra_sym.spec import load_spec  # noqa: E402

W, B, S = 1.5, 0.3, 0.8
T_SERIES = 1.3


def drift(h):
    return -h + numpy.tanh(W * h + B)


def c(j: int, z):
    """a^(j)(z) / j! for a = tanh, j = 1..4."""
    t = numpy.tanh(z)
    s2 = 1 - t * t
    return {1: s2, 2: -2 * t * s2, 3: s2 * (6 * t * t - 2), 4: s2 * (-24 * t**3 + 16 * t)}[j] / math.factorial(j)


def slope(h):
    return -1 + W * c(1, W * h + B)


def heun(h, eta, dt):
    return h + (drift(h) + drift(h + drift(h) * dt + eta)) * dt / 2 + eta


def burn(rng, paths, dt):
    h = rng.normal(0.5, 0.5, paths)
    for _ in range(int(30 / dt)):
        h = heun(h, S * math.sqrt(dt) * rng.standard_normal(paths), dt)
    return h


def kernel_nodes(dt: float, paths: int, window: float, variant: str, seed: int, nodes: int = 4):
    rng = numpy.random.default_rng(seed)
    h = burn(rng, paths, dt)
    K = int(window / dt)
    ring = numpy.zeros((nodes, paths))
    acc = numpy.zeros((nodes, paths))
    for i in range(K + nodes):
        eta = S * math.sqrt(dt) * rng.standard_normal(paths)
        d = c(1, W * h + B)
        shift = d if variant == "naive" else (1 + slope(h) * dt / 2) * d
        if i < K:
            ring[i % nodes] = shift * eta / (S * S * dt)
        h = heun(h, eta, dt)
        f = numpy.tanh(h)
        for j in range(nodes):
            if 0 <= i - j < K:
                acc[j] += ring[(i - j) % nodes] * f
    est = acc / K
    return est.mean(axis=1), est.std(axis=1) / math.sqrt(paths)


def series_terms(dt_target: float, paths: int, windows: int, variant: str, seed: int, order: int = 3):
    N = max(1, math.ceil(T_SERIES / dt_target - 1e-9))
    dt = T_SERIES / N
    grid = numpy.arange(N + 1) * dt
    u = numpy.sin(2 * grid) + 0.3
    U = numpy.zeros((order + 1, N))
    if variant == "naive":
        mid = numpy.sin(2 * (grid[:-1] + dt / 2)) + 0.3
        for j in range(order + 1):
            U[j] = mid**j * dt
    else:
        omega = numpy.ones(N + 1)
        omega[0] = omega[-1] = 0.5
        for p in range(N + 1):
            U[:, min(p, N - 1)] += omega[p] * u[p] ** numpy.arange(order + 1) * dt
    rng = numpy.random.default_rng(seed)
    h = burn(rng, paths, dt)
    G = S * S * dt
    acc = numpy.zeros((order + 1, paths))
    for _ in range(windows):
        lam = numpy.zeros((order + 1, paths))
        for i in range(N):
            eta = S * math.sqrt(dt) * rng.standard_normal(paths)
            z = W * h + B
            a = numpy.array([numpy.zeros(paths)] + [c(j, z) * U[j, i] for j in range(1, order + 1)])
            if variant != "naive":
                if variant == "engine":
                    for j in range(2, order + 1):
                        for k in range(1, j):
                            a[j] += 0.5 * (k + 1) * c(k + 1, z) * W * U[k, i] * c(j - k, z) * U[j - k, i]
                a = a * (1 + slope(h) * dt / 2)
            for n in range(1, order + 1):
                lam[n] += a[n] * eta / G - 0.5 * sum(a[j] * a[n - j] for j in range(1, n)) / G
            h = heun(h, eta, dt)
        e = [numpy.ones(paths)]
        for n in range(1, order + 1):
            e.append(sum(k * lam[k] * e[n - k] for k in range(1, n + 1)) / n)
        acc += numpy.stack(e) * numpy.tanh(h)
    est = acc / windows
    return est.mean(axis=1)[1:], est.std(axis=1)[1:] / math.sqrt(paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=20000)
    args = parser.parse_args()
    exact = engine_for(build_model(load_spec(ROOT / "derivations" / "nonlinear" / "tanh1_inside.toml")), order=3)
    fmt = lambda d, e: " ".join(f"{x:+.5f} +- {y:.5f}" for x, y in zip(d, e))  # noqa: E731
    print(f"R^(1) nodes 0..3, {args.paths} paths x window 200 (estimate - exact +- s.e.)")
    for dt in (0.8, 0.4, 0.2):
        for variant, offset in (("naive", 0.5), ("engine", 1.0)):
            m, se = kernel_nodes(dt, args.paths, 200.0, variant, 1)
            ref = exact.kernel([(numpy.arange(4) + offset) * dt]).value[:, 0, 0]
            print(f"  dt {dt:<6} {variant:<8} {fmt(m - ref, se)}", flush=True)
    u = lambda t: numpy.stack([numpy.sin(2 * numpy.asarray(t)) + 0.3], axis=-1)  # noqa: E731
    ref = exact.series(u, T_SERIES, 1.0, order=3).terms[1:, 0]
    print(f"series terms 1..3 at t = {T_SERIES}, {args.paths} paths x 100 windows")
    for dt in (0.65, 0.325, 0.1625, 0.08125):
        for variant in ("naive", "no-comp", "engine"):
            m, se = series_terms(dt, args.paths, 100, variant, 7)
            print(f"  dt {dt:<7} {variant:<8} {fmt(m - ref, se)}", flush=True)


if __name__ == "__main__":
    main()
