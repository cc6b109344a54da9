"""The grid engine: build time against the number of hidden units and the grid size, kernel and
driven-mean costs. Run: ``python benchmarks/bench_grid.py [--quick]``.

Rows per spec (derivations/nonlinear/: tanh1_scalar n = 1, tanh2_nonreversible n = 2, tanh3 n = 3):

* one row per grid of the resolution ladder: unknowns N^n, seconds to assemble the operator and to
  find the stationary density (ARPACK), seconds of the probe kernels, the probes' relative change
  against the previous grid;
* the whole build (``GridEngine.representation``: box search, ladder, wall check), wall and CPU;
* kernels: R^(1) on 101 lags over [0, 5 tau_r] (one sweep), R^(2) on a 41 x 41 lag grid, one R^(1) value;
* the all-order driven mean at t = 5 for u = sin(t), eps = 1, at tol 1e-8.

Wall times on the shared 2-core machine grow with the load of other processes; CPU seconds
(``time.process_time``, both cores) are printed beside them. Measured figures are in the README
("Benchmarks") and in the issue-12 note.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from volterra_sym import build_model, load_spec  # noqa: E402
from volterra_sym.classes.grid import build as grid_build  # noqa: E402
from volterra_sym.classes.grid.box import coordinates, reference_law, refined  # noqa: E402
from volterra_sym.classes.grid.operator import assemble, density_moments, stationary_density  # noqa: E402
from volterra_sym.classes.registry import engine_for  # noqa: E402

SPECS = ("derivations/nonlinear/tanh1_scalar.toml", "derivations/nonlinear/tanh2_nonreversible.toml",
         "derivations/nonlinear/tanh3.toml")


class Clock:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:7.2f} s wall {self.cpu:7.2f} s cpu"


def ladder_rows(engine) -> None:
    net = engine.network
    n = net.n_hidden
    Sigma = net.sigma @ net.sigma.T
    reference = reference_law(net)
    t_r = reference.relaxation_time
    lags = (0.0, 0.2 * t_r, 0.6 * t_r)
    kappa = grid_build.KAPPA[n]
    first = assemble(net, coordinates(reference, Sigma, kappa), grid_build.LADDER[n][0])
    pi0, _ = stationary_density(first, 1 / t_r)
    coords = coordinates(refined(reference, *density_moments(first, pi0)), Sigma, kappa)
    previous = None
    for N in grid_build.LADDER[n]:
        with Clock() as build:
            op = assemble(net, coords, N)
            pi, _ = stationary_density(op, 1 / lags[-1])
        with Clock() as probing:
            probe = grid_build.probe_values(op, pi, engine.order, lags)
        change = "" if previous is None else f"{grid_build._changes(probe, previous)[1]:.1e}"
        print(f"  N = {N:3d} ({op.size:6d} unknowns, |H|_1 = {op.norm:6.1f}): operator+density {build}; "
              f"probes {probing}; relative change {change}")
        previous = probe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", help=f"spec files (default: {', '.join(SPECS)})")
    parser.add_argument("--quick", action="store_true", help="skip the ladder rows and the driven mean")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    u = lambda t: numpy.sin(numpy.asarray(t, dtype=float))[..., None]  # noqa: E731
    for spec in args.specs or SPECS:
        model = build_model(load_spec(ROOT / spec))
        engine = engine_for(model, engine="grid", order=2)
        print(f"{spec}: n = {model.n_hidden}")
        if not args.quick:
            ladder_rows(engine)
        with Clock() as total:
            rep = engine.representation
        print(f"  build (box search, ladder, checks): {total}; {rep.op.N} nodes per axis, relative error "
              f"{rep.relative_error:.1e}, ladder {[N for N, _ in rep.ladder]}")
        uu = (lambda t: numpy.stack([u(t)[..., 0]] * model.n_inputs, axis=-1)) if model.n_inputs > 1 else u
        t_r = rep.relaxation_time
        lags = numpy.linspace(0.0, 5 * t_r, 101)
        with Clock() as one:
            engine.kernel([lags])
        grid = numpy.linspace(0.0, 5 * t_r, 41)
        T1, T2 = numpy.meshgrid(grid, grid, indexing="ij")
        with Clock() as two:
            engine.kernel([T1, T2])
        with Clock() as single:
            engine.kernel([1.0])
        print(f"  kernels: R1 on 101 lags to {5 * t_r:.3g} {one}; R2 on 41 x 41 {two}; R1(1) {single}")
        if not args.quick:
            with Clock() as mean:
                estimate = engine.driven_mean(uu, [0.0, 5.0], 1.0, tol=1e-8)
            print(f"  driven mean at t = 5 (tol 1e-8): {mean}; error estimate {estimate.error:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
