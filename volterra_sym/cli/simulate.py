"""``simulate``: Monte-Carlo mean output of the network itself, any activation."""

from __future__ import annotations

import argparse
import sys

from .args import (add_cluster, add_command, add_input, add_json, add_params, add_seed, add_spec, cluster_from,
                   emit_json, input_from, load_model, params, require_finite)

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "simulate", help="Monte-Carlo mean output E f(h_T) from the stationary law",
                    description="Simulate the driven network itself (any activation) from its stationary law and "
                                "print E f(h_T) with its standard error. Linear networks step by the exact OU "
                                "transition; nonlinear ones by stochastic Heun (weak order 2), started exactly in "
                                "the invariant density where it is known (gradient class), otherwise after a "
                                "burn-in measured by coupling. The same seed gives the same numbers, also on a "
                                "Dask cluster (--workers, --scheduler).",
                    examples=['simulate derivations/nonlinear/tanh3.toml --input "sin(t)" --t 5 --eps 1 '
                              '--paths 100000 --seed 1',
                              'simulate derivations/ou3_cubic.toml --input "sin(t)" --input "0" --t 2 --eps 0.5 '
                              '--paths 10000 --json',
                              'simulate derivations/nonlinear/tanh1_scalar.toml --input "sin(t)" --t 1 --eps 1 '
                              '--paths 1000000 --workers 2'])
    add_spec(p, what="spec file (TOML), any activation")
    add_input(p, t_help="observation time T")
    p.add_argument("--eps", type=float, required=True, help="input amplitude")
    p.add_argument("--paths", type=int, required=True, help="number of paths")
    p.add_argument("--dt", type=float, default=None, help="time step (default min(0.01, 0.1 / fastest rate))")
    add_seed(p)
    p.add_argument("--scheme", default="auto",
                   help="auto (default): exact OU transition (linear) or heun, weak order 2 (nonlinear); "
                        "exact; heun; euler: order 1")
    add_params(p)
    add_cluster(p)
    add_json(p)
    p.set_defaults(run=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from ..model import resolve_parameters
    from ..network import numeric_srnn
    from ..simulate import MAX_STEPS, simulate

    model = load_model(args)
    values = resolve_parameters(model.spec, params(args))
    u = input_from(args, model.spec, values)
    net = numeric_srnn(model, values)
    start = stationary_sampler(model, values)
    with cluster_from(args) as client:
        # record only t = 0 and t = T: record_every at least the number of steps
        result = simulate(net, u, t=args.t, eps=args.eps, paths=args.paths, seed=args.seed, dt=args.dt,
                          scheme=args.scheme, record_every=MAX_STEPS, progress=sys.stderr.isatty(), start=start,
                          client=client)
    require_finite(result.final_mean, result.final_stderr, what="the simulated mean")
    mean, stderr = result.final_mean.tolist(), result.final_stderr.tolist()
    if args.json:
        emit_json({"engine": "simulate", "mean": mean, "stderr": stderr, "shape": [len(mean)], "axes": ["output"],
                   "paths": result.paths, "dt": result.dt, "seed": result.seed, "scheme": result.scheme,
                   "burn_in": result.burn_in,
                   "start": "exact" if start is not None or result.scheme == "exact" else "burn-in"})
    else:
        burn = f", burn-in {result.burn_in:g}" if result.burn_in else (", exact start" if start is not None else "")
        print(f"E f(h_t) at t = {args.t:g}, eps = {args.eps:g} ({result.paths} paths, scheme {result.scheme}, "
              f"dt = {result.dt:g}{burn}, seed {result.seed}):")
        for q, (m, s) in enumerate(zip(mean, stderr)):
            print(f"  f{q + 1}: {m:.10g} +- {s:.3g}")
    return 0


def stationary_sampler(model, values):
    """The exact start sampler of the engine that knows the model's invariant law, or ``None`` (also for
    an OU network, which the simulator starts exactly by itself)."""
    from ..classes.registry import NoEngineError, engine_for

    try:
        engine = engine_for(model, values, order=0)
    except NoEngineError:
        return None
    return engine.stationary_sampler()
