"""Cost per digit of the Monte-Carlo kernels (the ``mc`` engine); run by hand, prints tables.

    python benchmarks/bench_montecarlo.py [--quick] [--bias]

1. Cost per digit: for each network, R^(1) at lag 0.5 and R^(2) at lags (0.5, 0.5) with and without
   the control variate. A pilot run of P0 paths gives the time per call t0 (the burn-in is measured
   once beforehand and the linearization derived: setup, not counted) and the largest standard error
   s0; since the standard error falls like 1/sqrt(paths) (section 2) and the time grows like paths,
   the seconds to reach a standard error e are t0 (s0 / e)^2. The row ``check`` runs the predicted
   number of paths for the smallest target that fits in --check-seconds and prints what it measured.
2. The standard error against paths: the fitted slope of log(stderr) on log(paths) (-1/2 expected).
3. ``--bias``: the time-step bias on the scalar tanh network (exact kernels from the gradient
   engine), plain estimator, dt = 0.8 .. 0.1 (theory.md 8).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from volterra_sym.classes.registry import engine_for  # noqa: E402
from volterra_sym.model import build_model  # noqa: E402
from volterra_sym.spec import load_spec  # noqa: E402

DERIV = ROOT / "derivations"
NETWORKS = {"tanh3": DERIV / "nonlinear" / "tanh3.toml", "tanh1_scalar": DERIV / "nonlinear" / "tanh1_scalar.toml",
            "ou2_quadratic": DERIV / "ou2_quadratic.toml"}
KERNELS = {"R1(0.5)": [numpy.array([0.5])], "R2(0.5,0.5)": [numpy.array([0.5]), numpy.array([0.5])]}
TARGETS = (1e-2, 1e-3, 1e-4)


def _engine(name: str, **options):
    model = build_model(load_spec(NETWORKS[name]))
    engine = engine_for(model, engine="mc", order=2, **options)
    engine.burn_in  # setup: the coupled burn-in pilot
    if engine.control:
        engine.linear_chain(engine.dt).moments(2)  # setup: the control variate's Gaussian moments
    return engine


def _timed(engine, lags) -> tuple[float, float]:
    start = time.perf_counter()
    estimate = engine.kernel(lags)
    return time.perf_counter() - start, float(estimate.stderr.max())


def cost_per_digit(pilot: int, check_seconds: float) -> None:
    print(f"1. seconds to reach a standard error e: t0 (s0/e)^2 from a pilot of {pilot} paths "
          "(default dt, window and burn-in)")
    print(f"{'network':<14} {'kernel':<12} {'control':<8} {'t0 [s]':>7} {'s0':>9} "
          + " ".join(f"{'e=' + format(e, '.0e'):>10}" for e in TARGETS) + "   check")
    for name in NETWORKS:
        for cv in ((True, False) if name != "ou2_quadratic" else (False,)):
            engine = _engine(name, paths=pilot, seed=1, control_variate=cv)
            for label, lags in KERNELS.items():
                t0, s0 = _timed(engine, lags)
                predicted = [t0 * (s0 / e) ** 2 for e in TARGETS]
                check = ""
                feasible = [(e, p) for e, p in zip(TARGETS, predicted) if p <= check_seconds and s0 > e]
                if feasible:
                    e, seconds = feasible[-1]
                    paths = max(pilot, math.ceil(pilot * (s0 / e) ** 2))
                    run = _engine(name, paths=paths, seed=2, control_variate=cv)
                    t, s = _timed(run, lags)
                    check = f"{paths} paths: s.e. {s:.2e} in {t:.1f} s (predicted {e:.0e} in {seconds:.1f} s)"
                cells = " ".join(f"{p:>10.3g}" for p in predicted)
                print(f"{name:<14} {label:<12} {'on' if cv else 'off':<8} {t0:>7.2f} {s0:>9.2e} {cells}   {check}",
                      flush=True)


def scaling(paths_list: tuple[int, ...]) -> None:
    print("\n2. standard error against paths (tanh1_scalar, control variate on)")
    errors = {label: [] for label in KERNELS}
    for paths in paths_list:
        engine = _engine("tanh1_scalar", paths=paths, seed=3)
        for label, lags in KERNELS.items():
            errors[label].append(float(engine.kernel(lags).stderr.max()))
    for label, se in errors.items():
        slope = numpy.polyfit(numpy.log(paths_list), numpy.log(se), 1)[0]
        print(f"  {label:<12} " + ", ".join(f"{p}: {s:.2e}" for p, s in zip(paths_list, se))
              + f"   fitted slope {slope:+.3f}")


def bias(paths: int) -> None:
    print(f"\n3. time-step bias, tanh1_scalar, plain estimator, {paths} paths x window 50 (estimate - exact +- s.e.)")
    model = build_model(load_spec(NETWORKS["tanh1_scalar"]))
    exact = engine_for(model, order=2)
    lags = {"R1(0)": [numpy.array([0.0])], "R1(1)": [numpy.array([1.0])], "R2(0,0)": [numpy.zeros(1), numpy.zeros(1)],
            "R2(0.5,0.5)": [numpy.array([0.5]), numpy.array([0.5])]}
    print(f"  {'dt':>5} " + " ".join(f"{k:>22}" for k in lags))
    for dt in (0.8, 0.4, 0.2, 0.1):
        engine = engine_for(model, engine="mc", order=2, paths=paths, seed=5, dt=dt, window=50.0, burn_in=30.0,
                            control_variate=False)
        cells = []
        for label, lag in lags.items():
            estimate = engine.kernel(lag)
            diff = float((estimate.value - exact.kernel(lag).value).ravel()[0])
            cells.append(f"{diff:+.5f} +- {float(estimate.stderr.ravel()[0]):.5f}")
        print(f"  {dt:>5} " + " ".join(f"{c:>22}" for c in cells), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller pilots and path counts")
    parser.add_argument("--bias", action="store_true", help="also the time-step bias ladder (several minutes)")
    parser.add_argument("--check-seconds", type=float, default=60.0,
                        help="largest predicted time actually run to check the prediction (default 60)")
    args = parser.parse_args()
    print(f"numpy {numpy.__version__}")
    cost_per_digit(1024 if args.quick else 4096, 10.0 if args.quick else args.check_seconds)
    scaling((256, 1024, 4096) if args.quick else (1024, 4096, 16384, 65536))
    if args.bias:
        bias(8192 if args.quick else 65536)


if __name__ == "__main__":
    main()
