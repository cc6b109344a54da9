"""Shared pieces of every subcommand: the parser, common options, errors, JSON, spec -> engine.

Conventions (one for every command): SPEC is positional; ``--param NAME=VALUE`` (repeatable);
``--json`` prints one strict JSON object carrying ``"version"`` (and ``"engine"`` where an engine
answered); ``--seed`` defaults to 0; bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .. import __version__
from ..errors import InputError, SpecError, VolterraSymError

__all__ = ["PROG", "Parser", "add_command", "add_spec", "add_params", "add_engine", "add_json", "add_seed",
           "add_mc_options", "jsonable", "add_input", "add_cluster", "cluster_from", "params", "parse_floats",
           "emit_json", "require_finite", "load_model", "engine_from", "input_from",
           "error_line"]

PROG = "volterra-sym"
ENGINE_NAMES = ("ou", "gradient", "grid", "linearized", "mc")


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2 (no usage dump)."""

    def error(self, message: str) -> None:
        raise InputError(message)


def add_command(sub: argparse._SubParsersAction, name: str, *, help: str, description: str,
                examples: Sequence[str]) -> argparse.ArgumentParser:
    """A subcommand with a one-paragraph description and examples in its ``--help``."""
    epilog = "examples:\n" + "\n".join(f"  {PROG} {e}" for e in examples)
    return sub.add_parser(name, help=help, description=description, epilog=epilog,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def add_spec(p: argparse.ArgumentParser, *, optional: bool = False, what: str = "spec file (TOML)") -> None:
    p.add_argument("spec", metavar="SPEC", nargs="?" if optional else None, default=None, help=what)


def add_params(p: argparse.ArgumentParser) -> None:
    p.add_argument("--param", action="append", type=_param, default=[], metavar="NAME=VALUE",
                   help="override a parameter's default value (repeatable)")


def add_engine(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=ENGINE_NAMES, default=None,
                   help="engine computing the kernels (default: the exact engine that applies: ou for a linear "
                        "activation, gradient for a reversible nonlinear network, grid for any network of up to 3 "
                        "hidden units with noise on every unit); mc: Monte-Carlo estimates with standard errors for "
                        "any network")
    p.add_argument("--linearize", action="store_true",
                   help="linearize a nonlinear network about its stable fixed point (same as --engine linearized)")


def add_mc_options(p: argparse.ArgumentParser) -> None:
    """``--paths``, ``--dt``, ``--no-control-variate`` of ``--engine mc`` (its seed is ``--seed``)."""
    p.add_argument("--paths", type=int, default=None,
                   help="--engine mc: independent stationary paths (default 4096); the standard error falls like "
                        "1/sqrt(paths)")
    p.add_argument("--dt", type=float, default=None,
                   help="--engine mc: time step (default min(0.05, 0.1 / fastest rate); Heun's bias is O(dt^2))")
    p.add_argument("--no-control-variate", action="store_true",
                   help="--engine mc: do not use the linearized network as control variate")


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")


def add_seed(p: argparse.ArgumentParser, what: str = "random seed (same seed, same numbers)") -> None:
    p.add_argument("--seed", type=int, default=0, help=f"{what} (default 0)")


def add_cluster(p: argparse.ArgumentParser) -> None:
    """``--workers N`` (a local Dask cluster) and ``--scheduler ADDRESS`` (a running one)."""
    g = p.add_argument_group("scale out on Dask (pip install 'volterra-sym[dask]'); the numbers are those of the "
                             "serial run")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="run the chunks of paths on a local cluster of N worker processes")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run them on the Dask cluster of this scheduler, e.g. tcp://10.0.0.5:8786")


def cluster_from(args: argparse.Namespace):
    """A context manager giving the Dask client of ``--workers``/``--scheduler``, or ``None`` (serial)."""
    from ..parallel import open_client

    return open_client(workers=args.workers, scheduler=args.scheduler)


def add_input(p: argparse.ArgumentParser, *, t_help: str = "observation time", t_required: bool = True,
              t_default: float | None = None) -> None:
    p.add_argument("--input", action="append", required=True, metavar="EXPR",
                   help="input channel as an expression in t (one per channel, in order)")
    p.add_argument("--t", type=float, required=t_required, default=t_default, help=t_help)


def params(args: argparse.Namespace) -> dict[str, str]:
    """``--param`` values by name (strings; the library converts and checks them)."""
    values: dict[str, str] = {}
    for name, value in getattr(args, "param", []):
        if name in values:
            raise InputError(f"{name} given twice", field="params")
        values[name] = value
    return values


def parse_floats(text: str, field: str) -> list[float]:
    """A comma-separated list of numbers."""
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise InputError(f"{text!r} is not a comma-separated list of numbers", field=field) from err


def emit_json(data: Mapping[str, Any]) -> None:
    """Print strict JSON with the version first: a NaN or infinity is an error, never printed."""
    try:
        text = json.dumps({"version": __version__, **data}, allow_nan=False)
    except ValueError as err:
        raise InputError("the result is not finite (arguments out of range)") from err
    print(text)


def require_finite(*values: Any, what: str = "the result") -> None:
    """Refuse to print a NaN or an infinity (text output; :func:`emit_json` refuses them too)."""
    import numpy

    for value in values:
        array = numpy.asarray(value, dtype=numpy.float64)
        if not numpy.all(numpy.isfinite(array)):
            raise InputError(f"{what} is not finite (arguments out of range)")


def load_model(args: argparse.Namespace):
    """The spec's symbolic model."""
    from ..model import build_model
    from ..spec import load_spec

    return build_model(load_spec(args.spec))


def engine_name(args: argparse.Namespace) -> str | None:
    if getattr(args, "linearize", False):
        if getattr(args, "engine", None) not in (None, "linearized"):
            raise InputError(f"--linearize contradicts --engine {args.engine}")
        return "linearized"
    return getattr(args, "engine", None)


def mc_options(args: argparse.Namespace, name: str | None) -> dict[str, Any]:
    """The engine options of ``--engine mc`` (``--paths``, ``--dt``, ``--no-control-variate``, ``--seed``);
    refused with another engine."""
    given = {key: getattr(args, key) for key in ("paths", "dt") if getattr(args, key, None) is not None}
    if getattr(args, "no_control_variate", False):
        given["control_variate"] = False
    if name != "mc":
        if given:
            raise InputError("applies to --engine mc only", field=next(iter(given)))
        return {}
    if hasattr(args, "seed"):
        given["seed"] = args.seed
    return given


def engine_from(args: argparse.Namespace, *, order: int | None = None, model=None):
    """The engine answering for the spec at ``--param`` values (``--engine`` / ``--linearize``)."""
    from ..classes.registry import NoEngineError, engine_for

    model = load_model(args) if model is None else model
    name = engine_name(args)
    try:
        return engine_for(model, params(args), engine=name, order=order, **mc_options(args, name))
    except NoEngineError as err:
        raise InputError(f"{err}: add --engine mc for Monte-Carlo estimates with standard errors, or --linearize "
                         "(--engine linearized) for the linearized network's kernels") from err


def jsonable(value: Any) -> Any:
    """Arrays as lists and non-finite numbers as None (an infinite variance reduction: a control variate
    equal to the network), recursively, for :func:`emit_json`."""
    import numpy

    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (numpy.ndarray, list, tuple)):
        return [jsonable(v) for v in (value.tolist() if isinstance(value, numpy.ndarray) else value)]
    if isinstance(value, (float, numpy.floating)):
        return float(value) if numpy.isfinite(value) else None
    if isinstance(value, numpy.integer):
        return int(value)
    return value


def input_from(args: argparse.Namespace, spec, values: Mapping[str, float]):
    """``u(times)`` from the ``--input`` expressions."""
    from ..inputs import input_signal

    return input_signal(args.input, n_inputs=spec.n_inputs, parameters=spec.parameters, values=values)


#: Python argument names whose option is not simply --name-with-dashes
_FLAGS = {"params": "--param", "inputs": "--input", "output": "-o", "output_dir": "-o", "n_times": "--times",
          "horizon": "--t", "engine": "--engine", "control_variate": "--no-control-variate"}
_FIELD_RE = re.compile(r"^([a-z_]+)(\[\d+\])?$")


def error_line(err: VolterraSymError, args: argparse.Namespace | None) -> str:
    """The one-line message of an error, naming the command-line option where the library named
    its Python argument."""
    field = getattr(err, "field", None)
    if isinstance(err, InputError) and field:
        match = _FIELD_RE.match(field)
        if match:
            name, index = match.group(1), match.group(2) or ""
            known = args is not None and (hasattr(args, name) or name in _FLAGS)
            if known:
                flag = _FLAGS.get(name, "--" + name.replace("_", "-"))
                return f"{flag}{index}: {err.reason}"
    if isinstance(err, SpecError) and err.path is None and err.key and _FIELD_RE.match(err.key):
        name = _FIELD_RE.match(err.key).group(1)
        if args is not None and hasattr(args, name):
            return f"--{name.replace('_', '-')}: {err.reason}"
    return str(err)
