"""Derivation cost (run by hand: ``python benchmarks/bench_derive.py``).

Times the symbolic derivation (spec -> closed forms of every kernel component) and the float64
kernel / series evaluation, for the shipped examples and for growing order and state size.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from volterra_sym import build_model, derive_kernels, kernel_expressions, kernel_values, load_spec  # noqa: E402
from volterra_sym import numeric_kernels, parse_spec, series_terms  # noqa: E402


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def derive_all(spec, order):
    kset = derive_kernels(build_model(spec), order=order)
    for n in range(1, order + 1):
        kernel_expressions(kset, n)
    return kset


def random_spec(n, order, seed=0):
    rng = np.random.default_rng(seed)
    W = np.round(rng.normal(scale=0.3, size=(n, n)), 2)
    return parse_spec({
        "name": "bench",
        "model": {"activation": "linear", "Gamma": np.diag(np.full(n, 1.5)).tolist(), "W": W.tolist(),
                  "b": np.round(rng.normal(size=n), 2).tolist(), "C": np.round(rng.normal(size=(n, 2)), 2).tolist(),
                  "sigma": (0.5 * np.eye(n)).tolist(),
                  "readout": [" + ".join(f"h{i + 1}**3" for i in range(n)) + " + h1*h2"]},
        "expansion": {"order": order},
    })


def main():
    print("derive (symbolic closed forms of every kernel component), best of 3 / median:")
    for name in ("ou2_quadratic", "ou3_cubic", "ou2_tanh", "ou2_symbolic"):
        spec = load_spec(ROOT / "derivations" / f"{name}.toml")
        best, med = best_of(lambda: derive_all(spec, spec.order))
        print(f"  {name:15s} order {spec.order}: {best:7.3f} s / {med:7.3f} s")
    spec = load_spec(ROOT / "derivations" / "ou3_cubic.toml")
    print("ou3_cubic by order (2 inputs, 2 outputs):")
    for order in (1, 2, 3, 4):
        best, _ = best_of(lambda: derive_all(spec, order), repeat=1)
        print(f"  order {order}: {best:7.3f} s")
    print("random cubic readout, order 3, by state size n (2 inputs):")
    for n in (2, 3, 4, 5, 6):
        s = random_spec(n, 3)
        best, _ = best_of(lambda: derive_all(s, 3), repeat=1)
        print(f"  n = {n}: {best:7.3f} s")
    kset = derive_kernels(build_model(spec))
    nk = numeric_kernels(kset)
    lags = [np.random.default_rng(0).uniform(0, 3, size=10**5) for _ in range(3)]
    best, _ = best_of(lambda: kernel_values(nk, lags))
    print(f"kernel_values order 3 on 1e5 lag points: {best:.3f} s ({best / 1e5 * 1e9:.0f} ns/point)")
    u = lambda t: np.stack([np.sin(np.asarray(t)), np.cos(2 * np.asarray(t))], -1)  # noqa: E731
    for t in (1.0, 5.0, 20.0):
        best, _ = best_of(lambda: series_terms(nk, u, t, 0.5), repeat=1)
        res = series_terms(nk, u, t, 0.5)
        print(f"series_terms order 3 at t = {t:5.1f}: {best:.3f} s ({res.steps} RK4 steps, est. error "
              f"{res.error_estimate:.1e})")


if __name__ == "__main__":
    main()
