"""Benchmark of a generated evaluator module (run by hand; prints a table).

    python benchmarks/bench_codegen.py [--T 100000] [--repeat 3]

Uses the committed ``derivations/ou3_cubic.py`` (3 hidden units, 2 inputs, order 3):

* ``series`` on T samples: time, and time(2T) / time(T) (O(T) work gives ~2);
* a direct quadrature of the same kernels (sums over the simplex of sample times, through
  ``kernel()``) for the order-2 and order-3 terms at the final time only, timed on a shorter grid
  and extrapolated to T by its O(T^2) / O(T^3) scaling; the ratio to ``series`` (which returns
  every term at every one of the T sample times) is printed;
* ``kernel(n, ...)`` on 10^6 lag points: time per point, n = 1, 2, 3.

Timings are wall-clock best-of-``repeat`` on whatever machine runs this; the ratios are the point.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from volterra_sym.codegen.loader import load_generated  # noqa: E402


def best(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def direct_term(module, u: numpy.ndarray, dt: float, n: int) -> numpy.ndarray:
    """Term n at the last sample time by the rectangle rule over index tuples i_1 > ... > i_n."""
    T = u.shape[0]
    last = T - 1
    total = numpy.zeros(module.N_OUTPUTS)
    if n == 2:
        for i1 in range(1, T):
            i2 = numpy.arange(0, i1)
            R = module.kernel(2, (last - i1) * dt, (i1 - i2) * dt)  # (len, p, m, m)
            total += numpy.einsum("Nqab,a,Nb->q", R, u[i1], u[i2])
        return total * dt**2
    if n == 3:
        for i1 in range(2, T):
            i3, i2 = numpy.triu_indices(i1, k=1)  # every pair i3 < i2 < i1
            R = module.kernel(3, (last - i1) * dt, (i1 - i2) * dt, (i2 - i3) * dt)
            total += numpy.einsum("Nqabc,a,Nb,Nc->q", R, u[i1], u[i2], u[i3])
        return total * dt**3
    raise ValueError(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--points", type=int, default=1_000_000)
    args = parser.parse_args()

    module = load_generated(ROOT / "derivations" / "ou3_cubic.py", spec=ROOT / "derivations" / "ou3_cubic.toml")
    rng = numpy.random.default_rng(0)
    dt = 0.01
    T = args.T
    u = numpy.cumsum(rng.normal(size=(2 * T, module.N_INPUTS)), axis=0) * 0.01
    module.series(u[:100], dt)  # warm the parameter cache

    t_series = best(lambda: module.series(u[:T], dt, order=3), args.repeat)
    t_series2 = best(lambda: module.series(u, dt, order=3), args.repeat)

    rows = [
        ("series, T = %d, order 3 (all T times)" % T, f"{t_series:.3f} s", f"{t_series / T * 1e6:.2f} us/sample"),
        ("series, T = %d" % (2 * T), f"{t_series2:.3f} s", f"time(2T)/time(T) = {t_series2 / t_series:.2f}"),
    ]
    for n, short in ((2, 1600), (3, 120)):
        t_direct = best(lambda: direct_term(module, u[:short], dt, n), 1)
        extrapolated = t_direct * (T / short) ** n
        rows.append((f"direct quadrature, order {n}, one time, T = {short}", f"{t_direct:.3f} s",
                     f"-> T = {T}: ~{extrapolated:.3g} s (O(T^{n})), {extrapolated / t_series:.3g} x series"))

    lags = numpy.linspace(0.0, 5.0, args.points)
    for n in (1, 2, 3):
        extra = [numpy.full(args.points, 0.3)] * (n - 1)
        t_kernel = best(lambda: module.kernel(n, lags, *extra), args.repeat)
        rows.append((f"kernel({n}, ...) on {args.points} lag points", f"{t_kernel:.3f} s",
                     f"{t_kernel / args.points * 1e9:.0f} ns/point"))

    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark (derivations/ou3_cubic.py)':<{width}}  {'time':>10}  note")
    print("-" * (width + 60))
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:>10}  {note}")


if __name__ == "__main__":
    main()
