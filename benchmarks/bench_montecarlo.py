"""Cost per digit of the Monte-Carlo kernels (the ``mc`` engine); run by hand, prints tables.

    python benchmarks/bench_montecarlo.py [--quick] [--bias] [--inside]

1. Cost per digit: for each network, R^(1) at lag 0.5 and R^(2) at lags (0.5, 0.5) with and without
   the control variate. A pilot run of P0 paths gives the time per call t0 (the burn-in is measured
   once beforehand and the linearization derived: setup, not counted) and the largest standard error
   s0; since the standard error falls like 1/sqrt(paths) (section 2) and the time grows like paths,
   the seconds to reach a standard error e are t0 (s0 / e)^2. The row ``check`` runs the predicted
   number of paths for the smallest target that fits in --check-seconds and prints what it measured.
2. The standard error against paths: the fitted slope of log(stderr) on log(paths) (-1/2 expected).
3. ``--bias``: the time-step bias on the scalar tanh network (exact kernels from the gradient
   engine), plain estimator, dt = 0.8 .. 0.1 (theory.md 8).
4. ``--inside``: the input inside the activation (theory.md 8.1) instead of sections 1-3: the
   time-step bias of kernels, contact kernels and series terms on tanh1_inside (exact values from
   the gradient engine, plain estimator), the standard error of a contact kernel against paths, and
   the cost per digit with and without the control variate on tanh1_inside and on tanh3 with its
   input moved inside the activation (a nearly linear network: the control variate's best case).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
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


def _tanh3_inside() -> Path:
    text = NETWORKS["tanh3"].read_text().replace('name = "tanh3"', 'name = "tanh3_inside"')
    path = Path(tempfile.mkdtemp()) / "tanh3_inside.toml"
    path.write_text(text.replace("[model]\n", '[model]\ninput_placement = "activation"\n', 1))
    return path


INSIDE_KERNELS = {"R1(0.5)": ([numpy.array([0.5])], None), "R(2)(0.5)": ([numpy.array([0.5])], [2]),
                  "R11(0.5,0.5)": ([numpy.array([0.5]), numpy.array([0.5])], None)}


def inside(paths: int, pilot: int, check_seconds: float) -> None:
    model = build_model(load_spec(DERIV / "nonlinear" / "tanh1_inside.toml"))
    exact = engine_for(model, order=3)
    print(f"4a. time-step bias, tanh1_inside, plain estimator, {paths} paths x window 25 (estimate - exact +- s.e.)")
    kernels = {"R1(0.4)": ([0.4], None), "R1(0.8)": ([0.8], None), "R(2)(0.4)": ([0.4], [2]),
               "R11(0.4,0)": ([0.4, 0.0], None), "R11(0.4,0.4)": ([0.4, 0.4], None), "R21(0.4,0)": ([0.4, 0.0], [2, 1])}
    u = lambda t: numpy.stack([numpy.sin(2 * numpy.asarray(t)) + 0.3], axis=-1)  # noqa: E731
    reference = exact.series(u, 1.2, 1.0, order=3).terms[1:, 0]
    print(f"  {'dt':>5} " + " ".join(f"{k:>20}" for k in kernels) + " " + " ".join(f"{'term ' + str(n):>20}"
                                                                                   for n in (1, 2, 3)))
    for dt in (0.8, 0.4, 0.2, 0.1, 0.05):
        engine = engine_for(model, engine="mc", order=3, paths=paths, seed=5, dt=dt, window=25.0, burn_in=30.0,
                            control_variate=False)
        cells = []
        for lags, composition in kernels.values():
            estimate = engine.kernel([numpy.array([t]) for t in lags], composition)
            diff = float((estimate.value - exact.kernel([numpy.array([t]) for t in lags], composition).value).ravel()[0])
            cells.append(f"{diff:+.5f} +- {float(estimate.stderr.ravel()[0]):.5f}")
        series = engine.series(u, 1.2, 1.0, order=3)
        cells += [f"{d:+.5f} +- {e:.5f}" for d, e in zip(series.terms[1:, 0] - reference, series.stderr[1:, 0])]
        print(f"  {dt:>5} " + " ".join(f"{c:>20}" for c in cells), flush=True)

    print("\n4b. standard error of the contact kernel R^(2)(0.5) against paths (tanh1_inside, control variate on)")
    counts = (1024, 4096, 16384, 65536)
    se = [float(engine_for(model, engine="mc", order=3, paths=P, seed=3, burn_in=30.0).kernel([numpy.array([0.5])], [2])
                .stderr.max()) for P in counts]
    slope = numpy.polyfit(numpy.log(counts), numpy.log(se), 1)[0]
    print("  " + ", ".join(f"{p}: {s:.2e}" for p, s in zip(counts, se)) + f"   fitted slope {slope:+.3f}")

    print(f"\n4c. seconds to a standard error e, t0 (s0/e)^2 from a pilot of {pilot} paths; VR = variance reduction")
    print(f"{'network':<13} {'kernel':<13} {'control':<8} {'t0 [s]':>7} {'s0':>9} {'VR':>8} "
          + " ".join(f"{'e=' + format(e, '.0e'):>10}" for e in TARGETS) + "   check")
    for name, path in (("tanh1_inside", DERIV / "nonlinear" / "tanh1_inside.toml"), ("tanh3_inside", _tanh3_inside())):
        net = build_model(load_spec(path))
        for cv in (True, False):
            def make(count: int, seed: int, net=net, cv=cv):
                engine = engine_for(net, engine="mc", order=2, paths=count, seed=seed, control_variate=cv)
                _ = engine.burn_in  # setup, not counted
                if engine.control:
                    engine.linear_chain(engine.dt).moments(2)
                return engine

            engine = make(pilot, 1)
            for label, (lags, composition) in INSIDE_KERNELS.items():
                start = time.perf_counter()
                estimate = engine.kernel(lags, composition)
                t0, s0 = time.perf_counter() - start, float(estimate.stderr.max())
                reduction = float(numpy.min(estimate.info["variance_reduction"]))
                predicted = [t0 * (s0 / e) ** 2 for e in TARGETS]
                check = ""
                feasible = [(e, p) for e, p in zip(TARGETS, predicted) if p <= check_seconds and s0 > e]
                if feasible:
                    e, seconds = feasible[-1]
                    count = max(pilot, math.ceil(pilot * (s0 / e) ** 2))
                    run = make(count, 2)
                    start = time.perf_counter()
                    s = float(run.kernel(lags, composition).stderr.max())
                    check = (f"{count} paths: s.e. {s:.2e} in {time.perf_counter() - start:.1f} s "
                             f"(predicted {e:.0e} in {seconds:.1f} s)")
                cells = " ".join(f"{p:>10.3g}" for p in predicted)
                print(f"{name:<13} {label:<13} {'on' if cv else 'off':<8} {t0:>7.2f} {s0:>9.2e} {reduction:>8.3g} "
                      f"{cells}   {check}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller pilots and path counts")
    parser.add_argument("--bias", action="store_true", help="also the time-step bias ladder (several minutes)")
    parser.add_argument("--inside", action="store_true",
                        help="only the input inside the activation: bias, scaling, cost (section 4; long)")
    parser.add_argument("--check-seconds", type=float, default=60.0,
                        help="largest predicted time actually run to check the prediction (default 60)")
    args = parser.parse_args()
    print(f"numpy {numpy.__version__}")
    if args.inside:
        inside(8192 if args.quick else 65536, 1024 if args.quick else 4096, 10.0 if args.quick else args.check_seconds)
        return
    cost_per_digit(1024 if args.quick else 4096, 10.0 if args.quick else args.check_seconds)
    scaling((256, 1024, 4096) if args.quick else (1024, 4096, 16384, 65536))
    if args.bias:
        bias(8192 if args.quick else 65536)


if __name__ == "__main__":
    main()
