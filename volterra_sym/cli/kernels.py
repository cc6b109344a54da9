"""``derive``, ``kernel`` and ``series``: what an engine computes for one spec."""

from __future__ import annotations

import argparse

from ..errors import InputError
from .args import (add_command, add_engine, add_input, add_json, add_mc_options, add_params, add_seed, add_spec,
                   emit_json, engine_from, input_from, jsonable)

__all__ = ["add_parsers"]


def _common(p: argparse.ArgumentParser, *, order_required: bool = False) -> None:
    add_spec(p)
    p.add_argument("--order", type=int, required=order_required, help="truncation / kernel order")
    add_params(p)
    add_engine(p)
    add_mc_options(p)
    add_seed(p, "--engine mc: random seed (same seed, same numbers)")
    add_json(p)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "derive", help="stationary law and closed-form kernels",
                    description="Derive the stationary law and the response kernels of a network up to an order. "
                                "For a linear activation every kernel is printed in closed form (symbolic in the "
                                "spec's parameters); for a reversible nonlinear network the symbolic invariant "
                                "density, conjugate variables and small-lag Taylor words, with the spectral "
                                "representation's summary. With --engine mc (any network) there is no closed form: "
                                "it says how the estimates are made and prints the stationary mean with its "
                                "standard error beside the linearization.",
                    examples=["derive derivations/ou2_symbolic.toml",
                              "derive derivations/ou3_cubic.toml --order 2 --format latex",
                              "derive derivations/nonlinear/tanh1_scalar.toml --json",
                              "derive derivations/nonlinear/tanh3.toml --engine mc --paths 4096"])
    _common(p)
    p.add_argument("--format", choices=("text", "latex", "json"), default="text",
                   help="text (default), LaTeX, or JSON (same as --json)")
    p.set_defaults(run=run_derive)

    p = add_command(sub, "kernel", help="evaluate R^(n) at given lags",
                    description="Evaluate the n-th order kernel R^(n)_{f;k1..kn}(tau1..taun) at one set of lags, "
                                "for every output and input index (array [p][m]...[m]); tau1 = t - s1 is the lag "
                                "from the latest perturbation. --engine mc estimates R^(1) and R^(2) of any network "
                                "from likelihood-ratio weights on simulated paths, with standard errors (\"stderr\").",
                    examples=["kernel derivations/ou3_cubic.toml --order 2 --lags 0.3,0.5 --json",
                              "kernel derivations/ou2_symbolic.toml --order 1 --lags 1 --param beta=0",
                              "kernel derivations/nonlinear/tanh3.toml --order 1 --lags 1 --linearize",
                              "kernel derivations/nonlinear/tanh3.toml --order 2 --lags 0.5,0.2 --engine mc --paths 8192 "
                              "--seed 1 --json"])
    _common(p, order_required=True)
    p.add_argument("--lags", required=True, help="comma-separated lags tau1,...,taur")
    p.add_argument("--composition", default=None, metavar="J1,...,JR",
                   help="input inside the activation: j_i inputs act together at the i-th latest time (a contact "
                        "kernel, theory.md 7); one entry per lag, summing to --order (default all ones)")
    p.set_defaults(run=run_kernel)

    p = add_command(sub, "series", help="truncated series terms at time t for inputs u(t)",
                    description="The terms of the Volterra series of E f(h_t) at time t for inputs given as "
                                "expressions in t: the stationary mean, then eps^n times each order's simplex "
                                "integral. With --json, \"exact\" is the all-order driven mean E f(h_t) where the "
                                "engine has one (--engine mc: simulated, with \"exact_stderr\"; its terms carry "
                                "\"stderr\").",
                    examples=['series derivations/ou3_cubic.toml --input "sin(t)" --input "cos(2*t)" --t 3 --eps 0.5',
                              'series derivations/nonlinear/tanh1_scalar.toml --input "sin(t)" --t 2 --eps 0.3 --json',
                              'series derivations/nonlinear/tanh3.toml --input "sin(t)" --t 2 --eps 0.5 --engine mc '
                              '--order 3'])
    _common(p)
    add_input(p)
    p.add_argument("--eps", type=float, required=True, help="input amplitude")
    p.set_defaults(run=run_series)


def run_derive(args: argparse.Namespace) -> int:
    from ..report.present import describe

    engine = engine_from(args, order=args.order)
    engine.check()
    if args.json or args.format == "json":
        emit_json(describe(engine, "data"))
    else:
        print(describe(engine, args.format))
    return 0


def _lags(args: argparse.Namespace) -> tuple[list[float], list[int]]:
    try:
        lags = [float(x) for x in args.lags.split(",")] if args.lags.strip() else []
    except ValueError as err:
        raise InputError(f"{args.lags!r} is not a comma-separated list of numbers", field="lags") from err
    if args.composition is None:
        composition = [1] * args.order
    else:
        try:
            composition = [int(x) for x in args.composition.split(",")]
        except ValueError as err:
            raise InputError(f"{args.composition!r} is not a comma-separated list of integers",
                             field="composition") from err
        if any(j < 1 for j in composition) or sum(composition) != args.order:
            raise InputError(f"entries must be >= 1 and sum to the order {args.order}", field="composition")
    if len(lags) != len(composition):
        raise InputError(f"{len(lags)} lag(s) given; give exactly {len(composition)} (one per time)", field="lags")
    return lags, composition


def _axes(composition: list[int]) -> list[str]:
    """Axis names of a kernel array: the output, then each input index with the lag it is paired with."""
    axes, k = ["output"], 0
    for i, j in enumerate(composition):
        for _ in range(j):
            k += 1
            axes.append(f"input_{k}" if all(c == 1 for c in composition) else f"input_{k}@tau_{i + 1}")
    return axes


def run_kernel(args: argparse.Namespace) -> int:
    import numpy

    from ..spec import LIMITS

    if not 0 <= args.order <= LIMITS["order"]:
        raise InputError(f"order {args.order} is outside 0..{LIMITS['order']}", field="order")
    lags, composition = _lags(args)
    engine = engine_from(args, order=args.order)
    answer = engine.kernel(lags, composition)
    value = answer.value
    if args.json:
        data = {"engine": engine.name, "order": args.order, "lags": lags, "composition": composition,
                "input_placement": engine.model.input_placement, "value": value.tolist(),
                "shape": list(value.shape), "axes": _axes(composition)}
        if answer.error is not None:
            data["error_estimate"] = answer.error
        if answer.stderr is not None:
            data["stderr"] = answer.stderr.tolist()
        if answer.info is not None:
            data["monte_carlo"] = jsonable(answer.info)
        emit_json(data)
    else:
        if not numpy.all(numpy.isfinite(value)):
            raise InputError("the result is not finite (arguments out of range)")
        which = "" if all(j == 1 for j in composition) else f", composition {composition}"
        print(f"R^({args.order}) at lags {lags}{which}, shape [p][m]^n = {list(value.shape)} ({engine.name} engine"
              f"{_statistics(answer.info)}):")
        print(numpy.array2string(value, precision=15 if answer.stderr is None else 6))
        if answer.stderr is not None:
            print("standard error:")
            print(numpy.array2string(answer.stderr, formatter={"float_kind": lambda x: f"{x:.2e}"}))
    return 0


def _statistics(info) -> str:
    """How a statistical answer was obtained, for a header line ('' for other engines)."""
    if info is None:
        return ""
    import numpy

    text = f", {info['paths']} paths, seed {info['seed']}, dt {info['dt']:.4g}, scheme {info['scheme']}"
    if info["control_variate"]:
        reduction = numpy.asarray(info["variance_reduction"], dtype=float)
        finite = reduction[numpy.isfinite(reduction)]
        text += (", control variate: the linearized network (variance reduction "
                 + (f"{finite.min():.3g}-{finite.max():.3g}" if finite.size else "inf") + ")")
    return text


def run_series(args: argparse.Namespace) -> int:
    import numpy

    engine = engine_from(args, order=args.order)
    u = input_from(args, engine.model.spec, engine.values)
    exact = None
    if args.json and engine.has_driven_mean:  # first: its budgets refuse before the series is computed
        exact = engine.driven_mean(u, [0.0, args.t], args.eps)
    result = engine.series(u, args.t, args.eps, order=args.order)
    if args.json:
        data = {"engine": engine.name, "input_placement": engine.model.input_placement, "t": args.t, "eps": args.eps,
                "order": len(result.terms) - 1,
                "terms": result.terms.tolist(), "total": result.total.tolist(),
                "shape": list(result.terms.shape), "axes": ["order", "output"],
                "error_estimate": result.error_estimate}
        if result.stderr is not None:
            data["stderr"] = result.stderr.tolist()
        if result.info is not None:
            data["monte_carlo"] = jsonable(result.info)
        if exact is not None:
            data["exact"] = exact.value[-1].tolist()
            if exact.stderr is not None:
                data["exact_stderr"] = exact.stderr[-1].tolist()
        emit_json(data)
    else:
        if not numpy.all(numpy.isfinite(result.terms)):
            raise InputError("the series is not finite (arguments out of range)")
        if result.stderr is None:
            print(f"series at t = {args.t:g}, eps = {args.eps:g} ({engine.name} engine, {result.steps} steps, "
                  f"estimated error {result.error_estimate:.1e}):")
            for n, term in enumerate(result.terms):
                print(f"  order {n}: {numpy.array2string(term, precision=12)}")
            print(f"  total:   {numpy.array2string(result.total, precision=12)}")
        else:
            print(f"series at t = {args.t:g}, eps = {args.eps:g} ({engine.name} engine, {result.steps} steps"
                  f"{_statistics(result.info)}; term +- standard error):")
            for n, (term, se) in enumerate(zip(result.terms, result.stderr)):
                print(f"  order {n}: " + ", ".join(f"{v:.6g} +- {e:.2g}" for v, e in zip(term, se)))
            print(f"  total:   {numpy.array2string(result.total, precision=6)}")
    return 0
