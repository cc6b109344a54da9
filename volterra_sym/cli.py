"""Command line: ``volterra-sym derive|kernel|series ...`` (also ``python -m volterra_sym``).

Exit status: 0 success, 1 a check failed, 2 bad input (one line on stderr, no traceback).
The JSON outputs are a stable contract for scripts.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import warnings
from collections.abc import Callable, Sequence

import numpy
import sympy

from . import __version__
from .derive import KernelSet, derive_kernels
from .errors import InputError, VolterraSymError
from .evaluate import kernel_values, numeric_kernels
from .expressions import parse_expression
from .gradient import gradient_law
from .model import SymbolicModel, build_model, check_stable, linearize, resolve_parameters
from .present import format_gradient, format_json, format_latex, format_text
from .series import series_terms
from .spec import LIMITS, check_order, load_spec
from .spectral import spectral_kernel_values, spectral_kernels, spectral_series

__all__ = ["main", "build_parser"]

PROG = "volterra-sym"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        raise InputError(message)


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def _add_common(p: argparse.ArgumentParser, *, order_required: bool = False) -> None:
    p.add_argument("spec", metavar="SPEC", help="spec file (TOML)")
    p.add_argument("--order", type=int, required=order_required, help="truncation / kernel order")
    p.add_argument("--param", action="append", type=_param, default=[], metavar="NAME=VALUE",
                   help="override a parameter's default value (repeatable)")
    p.add_argument("--linearize", action="store_true",
                   help="linearize a nonlinear network about its stable fixed point (OU kernels)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Symbolic response kernels of stochastic RNNs.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("derive", help="stationary law and closed-form kernels")
    _add_common(p)
    p.add_argument("--format", choices=("text", "latex", "json"), default="text")
    p.set_defaults(run=_run_derive)

    p = sub.add_parser("kernel", help="evaluate R^(n) at given lags")
    _add_common(p, order_required=True)
    p.add_argument("--lags", required=True, help="comma-separated lags tau1,...,taun")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_run_kernel)

    p = sub.add_parser("series", help="truncated series terms at time t for inputs u(t)")
    _add_common(p)
    p.add_argument("--input", action="append", required=True, metavar="EXPR",
                   help="input channel as an expression in t (one per channel, in order)")
    p.add_argument("--t", type=float, required=True, help="observation time")
    p.add_argument("--eps", type=float, required=True, help="input amplitude")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_run_series)

    from .codegen import add_parsers as _add_codegen_parsers  # generate, check

    _add_codegen_parsers(sub)

    from . import report as _report, simulate as _simulate  # Monte Carlo and the verification report

    p = sub.add_parser("simulate", help="Monte-Carlo mean output E f(h_T) from the stationary law")
    p.add_argument("spec", metavar="SPEC", help="spec file (TOML), any activation")
    p.add_argument("--input", action="append", required=True, metavar="EXPR",
                   help="input channel as an expression in t (one per channel, in order)")
    p.add_argument("--t", type=float, required=True, help="observation time T")
    p.add_argument("--eps", type=float, required=True, help="input amplitude")
    p.add_argument("--paths", type=int, required=True, help="number of paths")
    p.add_argument("--dt", type=float, default=None, help="time step (default min(0.01, 0.1 / fastest rate))")
    p.add_argument("--seed", type=int, required=True, help="random seed (same seed, same numbers)")
    p.add_argument("--scheme", choices=_simulate.SCHEMES, default="auto",
                   help="auto: exact OU transition (linear) or heun, weak order 2 (nonlinear); euler: order 1")
    p.add_argument("--param", action="append", type=_param, default=[], metavar="NAME=VALUE",
                   help="override a parameter's default value (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=_simulate.run_cli)

    p = sub.add_parser("report", help="verification report: kernels, series, Monte Carlo, exact resummation")
    p.add_argument("spec", metavar="SPEC", help="spec file (TOML), any activation")
    p.add_argument("--input", action="append", required=True, metavar="EXPR",
                   help="input channel as an expression in t (one per channel, in order)")
    p.add_argument("--eps-list", default="0.2,1", metavar="E1,E2,...",
                   help="input amplitudes of the mean-output figure (default 0.2,1)")
    p.add_argument("--error-eps", default=None, metavar="E1,E2,...",
                   help="amplitudes of the truncation-error study (default: a grid scaled to the network)")
    p.add_argument("-o", "--output", default="report", metavar="DIR", help="output directory (default ./report)")
    p.add_argument("--t", type=float, default=5.0, help="horizon T (default 5)")
    p.add_argument("--paths", type=int, default=100_000, help="Monte-Carlo paths (default 100000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--dt", type=float, default=None, help="time step (default min(0.01, 0.1 / fastest rate))")
    p.add_argument("--order", type=int, default=None, help="highest series order (default max(spec order, 3))")
    p.add_argument("--times", type=int, default=41, help="points of the time grid on [0, T] (default 41)")
    p.add_argument("--param", action="append", type=_param, default=[], metavar="NAME=VALUE",
                   help="override a parameter's default value (repeatable)")
    p.add_argument("--no-figures", action="store_true", help="write the tables only")
    p.set_defaults(run=_report.run_cli)

    from .verify import run_verify as _run_verify

    p = sub.add_parser("verify", help="check the derivation against independent mpmath numerics")
    _add_common(p)
    p.add_argument("--dps", type=int, default=50, help="working precision in decimal digits (default 50)")
    p.add_argument("--samples", type=int, default=3, help="random lag sets per kernel order (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample points (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--record", action="store_true",
                   help="also write the oracle values to <spec stem>.reference.toml beside the spec")
    p.add_argument("--mc-paths", type=int, default=None, metavar="P",
                   help="gradient class: Monte-Carlo paths of the monte_carlo claim (default 20000; 0 skips it)")
    p.set_defaults(run=_run_verify)

    from .feature_cli import add_parsers as _add_feature_parsers  # feature, represent

    _add_feature_parsers(sub, _param)
    return parser


def _params(args: argparse.Namespace) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in args.param:
        if name in values:
            raise InputError(f"{name} given twice", field="--param")
        values[name] = value
    return values


def _model(args: argparse.Namespace) -> SymbolicModel:
    model = build_model(load_spec(args.spec))
    if args.linearize:
        model = linearize(model, _params(args))
    return model


def _derive(args: argparse.Namespace) -> KernelSet:
    return derive_kernels(_model(args), order=args.order)


def _evaluator(args: argparse.Namespace, order: int | None):
    """(parameter values, model, kernel(lags), series(u, t, eps, order=)) for the model's class:
    closed forms for linear (or linearized) networks, the spectral method for the gradient class."""
    model = _model(args)
    if order is not None:
        check_order(order, n_hidden=model.n_hidden, key="--order")
    if model.linear:
        nk = numeric_kernels(derive_kernels(model, order=order), _params(args))
        return nk.values, model, functools.partial(kernel_values, nk), functools.partial(series_terms, nk)
    sk = spectral_kernels(gradient_law(model), _params(args), order=order)
    return sk.values, model, functools.partial(spectral_kernel_values, sk), functools.partial(spectral_series, sk)


def _run_derive(args: argparse.Namespace) -> int:
    model = _model(args)
    if model.linear and not args.linearize:
        # closed forms are symbolic in the parameters; --param values are checked for stability only
        check_stable(model, resolve_parameters(model.spec, _params(args)))
    if model.linear:
        kset = derive_kernels(model, order=args.order)
        formatter = {"text": format_text, "latex": format_latex, "json": format_json}[args.format]
        print(formatter(kset))
        return 0
    if args.order is not None:
        check_order(args.order, n_hidden=model.n_hidden, key="--order")
    law = gradient_law(model)
    sk = spectral_kernels(law, _params(args), order=args.order)
    print(format_gradient(law, sk, args.format))
    return 0


def _run_kernel(args: argparse.Namespace) -> int:
    if not 0 <= args.order <= LIMITS["order"]:
        raise InputError(f"order {args.order} is outside 0..{LIMITS['order']}", field="--order")
    try:
        lags = [float(x) for x in args.lags.split(",")] if args.lags.strip() else []
    except ValueError as err:
        raise InputError(f"{args.lags!r} is not a comma-separated list of numbers", field="--lags") from err
    if len(lags) != args.order:
        raise InputError(f"{len(lags)} lag(s) given for order {args.order}; give exactly {args.order}",
                         field="--lags")
    _, _, kernel, _ = _evaluator(args, args.order)
    value = kernel(lags)
    if args.json:
        print(_json({"order": args.order, "lags": lags, "value": value.tolist()}))
    else:
        print(f"R^({args.order}) at lags {lags}, shape [p][m]^n = {list(value.shape)}:")
        print(numpy.array2string(value, precision=15))
    return 0


def _run_series(args: argparse.Namespace) -> int:
    values, model, _, series = _evaluator(args, args.order)
    m = model.n_inputs
    if len(args.input) != m:
        raise InputError(f"{len(args.input)} input expression(s) for a model with {m} input channel(s)",
                         field="--input")
    t = sympy.Symbol("t", real=True)
    subs = {model.spec.parameters[k]: v for k, v in values.items()}
    names = {"t": t, **model.spec.parameters}
    funcs: list[Callable] = []
    for c, text in enumerate(args.input):
        expr = parse_expression(text, names, key=f"--input[{c + 1}]").subs(subs)
        funcs.append(sympy.lambdify([t], expr, modules="numpy"))

    def u(times: numpy.ndarray) -> numpy.ndarray:
        try:
            with numpy.errstate(all="ignore"):
                cols = [numpy.broadcast_to(numpy.asarray(f(times), dtype=numpy.float64), times.shape)
                        for f in funcs]
        except (OverflowError, ValueError, TypeError) as err:
            raise InputError(f"the input cannot be evaluated in float64 ({err})", field="--input") from err
        out = numpy.stack(cols, axis=-1)
        if not numpy.all(numpy.isfinite(out)):
            raise InputError("the input is not finite on [0, t]", field="--input")
        return out

    result = series(u, args.t, args.eps, order=args.order)
    if args.json:
        print(_json({"t": args.t, "eps": args.eps, "order": len(result.terms) - 1,
                     "terms": result.terms.tolist(), "total": result.total.tolist()}))
    else:
        print(f"series at t = {args.t:g}, eps = {args.eps:g} ({result.steps} RK4 steps, "
              f"estimated error {result.error_estimate:.1e}):")
        for n, term in enumerate(result.terms):
            print(f"  order {n}: {numpy.array2string(term, precision=12)}")
        print(f"  total:   {numpy.array2string(result.total, precision=12)}")
    return 0


def _json(data: dict) -> str:
    """Strict JSON: a NaN or infinity in a result is an error, never printed."""
    try:
        return json.dumps(data, allow_nan=False)
    except ValueError as err:
        raise InputError("the result is not finite (arguments out of range)") from err


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    warnings.showwarning = _warning_line
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except VolterraSymError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


def console() -> None:  # entry point for the console script
    sys.exit(main())
