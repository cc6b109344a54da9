"""Response feature: spectral route vs pysiglib on a uniform fine grid.

Smooth 2-channel input on [0, T], spectral basis of a damped oscillator (d = 2, D = 4), level 4
(340 terms). Errors are relative max-norm errors against a converged spectral reference, which is
itself checked against Richardson-extrapolated pysiglib on very fine grids (an independent route).

Run: ``python benchmarks/bench_feature.py`` (``--quick`` for a smaller Gram batch).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from volterra_sym.features.feature import Basis, feature_path, response_feature, response_feature_callable
from volterra_sym.features.machine import feature_gram, goursat_gram
from volterra_sym.features.signature import signature

HORIZON = 5.0
LEVEL = 4
BASIS = Basis.spectral([-0.5 + 2.0j, -0.5 - 2.0j], shift=HORIZON)
SEED = 20240611


def smooth_input(amp: np.ndarray, freq: np.ndarray, phase: np.ndarray) -> Callable:
    """u_k(t) = sum_i amp[k,i] sin(freq[i] t + phase[k,i]); analytic, 2 channels."""

    def u(t: np.ndarray) -> np.ndarray:
        arg = freq[None, None, :] * t[:, None, None] + phase[None, :, :]
        return np.einsum("ki,tki->tk", amp, np.sin(arg))

    return u


def best_time(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pwlinear(u: Callable, n: int) -> np.ndarray:
    t = np.linspace(0.0, HORIZON, n + 1)
    return response_feature(u(t), HORIZON / n, BASIS, LEVEL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Gram batch of 40 instead of 200")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    freq = np.array([1.0, 2.5, 4.0])
    u = smooth_input(
        np.array([[1.0, 0.5, 0.25], [0.3, -0.8, 0.4]]),
        freq,
        np.array([[0.0, 1.0, 2.0], [0.5, -1.0, 0.3]]),
    )

    ref = response_feature_callable(u, HORIZON, BASIS, LEVEL, nodes=160)
    scale = np.abs(ref).max()

    def err(x: np.ndarray) -> float:
        return float(np.abs(x - ref).max() / scale)

    check = err(response_feature_callable(u, HORIZON, BASIS, LEVEL, nodes=120, panels=2))
    rich = [pwlinear(u, n) for n in (200_000, 400_000)]
    independent = err((4 * rich[1] - rich[0]) / 3)
    print(f"input: 2 channels, T = {HORIZON}, basis {BASIS!r} (D = 4), level {LEVEL}")
    print(
        f"reference: spectral, 160 nodes; vs 120 nodes x 2 panels: {check:.1e};"
        f" vs Richardson pysiglib (2e5/4e5 pts): {independent:.1e}\n"
    )

    rows: list[tuple[str, str, float, float]] = []
    sig_only: dict[str, float] = {}
    for q in (8, 12, 16, 20, 24, 28, 32, 40, 48):
        val = response_feature_callable(u, HORIZON, BASIS, LEVEL, nodes=q)
        secs = best_time(lambda q=q: response_feature_callable(u, HORIZON, BASIS, LEVEL, nodes=q))
        rows.append(("spectral (CGL nodes)", str(q), err(val), secs))
    for n in (100, 300, 1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000):
        val = pwlinear(u, n)
        secs = best_time(lambda n=n: pwlinear(u, n), repeat=1 if n > 100_000 else 3)
        rows.append(("pysiglib, uniform grid", f"{n + 1}", err(val), secs))
        path = feature_path(u(np.linspace(0.0, HORIZON, n + 1)), HORIZON / n, BASIS)
        sig_only[f"{n + 1}"] = best_time(lambda path=path: signature(path, LEVEL))
    for n in (300, 1_000, 3_000):
        val = (4 * pwlinear(u, 2 * n) - pwlinear(u, n)) / 3
        secs = best_time(lambda n=n: (4 * pwlinear(u, 2 * n) - pwlinear(u, n)) / 3)
        rows.append(("pysiglib + Richardson", f"{n + 1}+{2 * n + 1}", err(val), secs))

    print(
        f"{'route':<24}{'nodes/points':>14}{'rel. error':>12}{'time [ms]':>12}"
        f"{'pysiglib.sig alone [ms]':>26}"
    )
    for name, size, e, secs in rows:
        alone = f"{sig_only[size] * 1e3:26.2f}" if name.startswith("pysiglib, uniform") else ""
        print(f"{name:<24}{size:>14}{e:>12.1e}{secs * 1e3:>12.2f}{alone}")
    print("(time = whole route from the input callable: sampling, feature path, signature)")

    print("\ncheapest configuration reaching a target (single input):")
    single: dict[tuple[float, str], float] = {}
    for target in (1e-6, 1e-10):
        for route in ("spectral (CGL nodes)", "pysiglib, uniform grid", "pysiglib + Richardson"):
            hits = [r for r in rows if r[0] == route and r[2] <= target]
            best = hits[0] if hits else None  # rows are in increasing size
            text = f"{best[1]:>14} pts/nodes, {best[3] * 1e3:8.2f} ms" if best else "  not reached"
            print(f"  {target:.0e}  {route:<24}{text}")
            if best:
                single[(target, route)] = best[3]

    n_inputs = 40 if args.quick else 200
    amps = rng.normal(size=(n_inputs, 2, 3)) * 0.6
    phases = rng.uniform(0, 2 * np.pi, size=(n_inputs, 2, 3))
    inputs = [smooth_input(amps[b], freq, phases[b]) for b in range(n_inputs)]
    print(f"\nGram matrix of {n_inputs} inputs (truncated kernel, eps = 1, level {LEVEL}):")
    gram_secs: dict[tuple[float, str], float] = {}
    spec_q = {1e-6: _nodes_for(rows, 1e-6), 1e-10: _nodes_for(rows, 1e-10)}
    grid_n = {1e-6: _points_for(rows, 1e-6), 1e-10: _points_for(rows, 1e-10)}
    for target in (1e-6, 1e-10):
        q = spec_q[target]
        start = time.perf_counter()
        feats = response_feature_callable(inputs, HORIZON, BASIS, LEVEL, nodes=q)
        gram = feature_gram(feats, dim=4, level=LEVEL)
        secs = time.perf_counter() - start
        print(f"  {target:.0e}  spectral, {q} nodes: {secs:8.3f} s  (Gram {gram.shape})")
        gram_secs[(target, "spectral")] = secs
        n = grid_n[target]
        if n is None:
            print(f"  {target:.0e}  pysiglib grid: target not reached on the tested grids")
            continue
        start = time.perf_counter()
        t = np.linspace(0.0, HORIZON, n + 1)
        chunk = max(1, 4_000_000 // (n + 1))
        feats = np.concatenate(
            [
                response_feature(
                    np.stack([f(t) for f in inputs[i : i + chunk]]), HORIZON / n, BASIS, LEVEL
                )
                for i in range(0, n_inputs, chunk)
            ]
        )
        gram = feature_gram(feats, dim=4, level=LEVEL)
        secs = time.perf_counter() - start
        print(f"  {target:.0e}  pysiglib grid, {n + 1} points: {secs:8.3f} s")
        gram_secs[(target, "pysiglib")] = secs

    samples = 51
    t = np.linspace(0.0, HORIZON, samples)
    sampled = np.stack([f(t) for f in inputs])
    start = time.perf_counter()
    goursat_gram(sampled, dt=HORIZON / (samples - 1), basis=BASIS, refine=1)
    secs = time.perf_counter() - start
    print(f"  untruncated (Goursat PDE), {samples} samples, refine 1: {secs:8.3f} s")

    print("\nsummary: time to reach a target accuracy, and pysiglib grid / spectral ratios")
    print(f"{'target':>8}{'1 input: spectral':>20}{'pysiglib grid':>16}{'ratio':>9}"
          f"{f'Gram {n_inputs}: spectral':>22}{'pysiglib grid':>16}{'ratio':>9}")
    for target in (1e-6, 1e-10):
        a = single.get((target, "spectral (CGL nodes)"))
        b = single.get((target, "pysiglib, uniform grid"))
        ga, gb = gram_secs.get((target, "spectral")), gram_secs.get((target, "pysiglib"))
        print(f"{target:>8.0e}{_ms(a):>20}{_ms(b):>16}{_ratio(b, a):>9}"
              f"{_s(ga):>22}{_s(gb):>16}{_ratio(gb, ga):>9}")


def _ms(x: float | None) -> str:
    return "not reached" if x is None else f"{x * 1e3:.2f} ms"


def _s(x: float | None) -> str:
    return "not reached" if x is None else f"{x:.3f} s"


def _ratio(num: float | None, den: float | None) -> str:
    return "-" if num is None or den is None else f"{num / den:.0f}x"


def _nodes_for(rows: list[tuple[str, str, float, float]], target: float) -> int:
    hits = [int(r[1]) for r in rows if r[0] == "spectral (CGL nodes)" and r[2] <= target]
    return min(hits) if hits else 64


def _points_for(rows: list[tuple[str, str, float, float]], target: float) -> int | None:
    hits = [int(r[1]) - 1 for r in rows if r[0] == "pysiglib, uniform grid" and r[2] <= target]
    return min(hits) if hits else None


if __name__ == "__main__":
    main()
