"""Throughput of the Monte-Carlo simulator (path-steps per second); run by hand, prints a table.

    python benchmarks/bench_simulate.py [--quick]

Rows: the 3-unit tanh network (derivations/nonlinear/tanh3.toml) with the default weak order-2
Heun scheme and with Euler-Maruyama, and a 3-unit linear network (ou3_cubic) with the exact OU
transition, at several path counts. Burn-in is switched off and only t = 0 and t = T are
recorded, so the figure is pure stepping (random numbers + drift). The last row runs 10^6 paths to
show that memory stays bounded by the chunk size (peak RSS).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from volterra_sym import build_model, load_spec  # noqa: E402
from volterra_sym.simulate import input_signal, numeric_srnn, simulate  # noqa: E402


def _measure(net, u, *, paths: int, t: float, dt: float, scheme: str, repeat: int) -> tuple[float, float]:
    steps = round(t / dt)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        simulate(net, u, t=t, eps=0.5, paths=paths, seed=0, dt=dt, scheme=scheme, burn_in=None if net.affine else 0.0,
                 record_every=steps)
        best = min(best, time.perf_counter() - start)
    return paths * steps / best, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer paths, one repetition")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3
    cases = []
    tanh_spec = load_spec(ROOT / "derivations" / "nonlinear" / "tanh3.toml")
    tanh_net = numeric_srnn(build_model(tanh_spec))
    lin_spec = load_spec(ROOT / "derivations" / "ou3_cubic.toml")
    lin_net = numeric_srnn(build_model(lin_spec))
    u_tanh = input_signal(tanh_spec, ["sin(t)"])
    u_lin = input_signal(lin_spec, ["sin(t)", "cos(t)"])
    path_counts = (4_096, 65_536) if args.quick else (4_096, 65_536, 262_144)
    for paths in path_counts:
        cases.append(("tanh3", "heun", tanh_net, u_tanh, paths))
    for paths in path_counts[-1:]:
        cases.append(("tanh3", "euler", tanh_net, u_tanh, paths))
        cases.append(("ou3_cubic", "exact", lin_net, u_lin, paths))
    print(f"numpy {numpy.__version__}, t = 1, dt = 0.01 (100 steps), no burn-in, best of {repeat}")
    print(f"{'network':<10} {'scheme':<7} {'paths':>9} {'seconds':>8} {'path-steps/s':>14}")
    for name, scheme, net, u, paths in cases:
        rate, seconds = _measure(net, u, paths=paths, t=1.0, dt=0.01, scheme=scheme, repeat=repeat)
        print(f"{name:<10} {scheme:<7} {paths:>9} {seconds:>8.2f} {rate:>14.3e}")
    if not args.quick:
        rate, seconds = _measure(tanh_net, u_tanh, paths=1_000_000, t=0.2, dt=0.01, scheme="heun", repeat=1)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{'tanh3':<10} {'heun':<7} {1_000_000:>9} {seconds:>8.2f} {rate:>14.3e}   peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
