"""``verify``: the claims of the engine that answers for a spec, against independent routes."""

from __future__ import annotations

import argparse

from ..errors import InputError
from .args import (add_command, add_engine, add_json, add_mc_options, add_params, add_seed, add_spec, emit_json,
                   engine_from)

__all__ = ["add_parsers"]

DEFAULT_MC_PATHS = 20_000
#: engines whose claim set has a Monte-Carlo claim
MC_ENGINES = ("gradient", "grid")
#: checked before any work (the claim's simulation would refuse more only after the spectral build)
MAX_MC_PATHS = 10**6


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "verify", help="check the derivation against independent mpmath numerics",
                    description="Check the engine's answers for a spec against routes that do not share its "
                                "method: mpmath at DPS digits (Lyapunov solve, the correlation form of the "
                                "kernels, the exact resummation), forward Fokker-Planck solvers, Monte Carlo and "
                                "recorded reference values. Prints one row per claim with the digits that agree and "
                                "whether its route is independent of the engine or a self-consistency check; "
                                "exit 1 when a claim fails or when no independent claim passed. --engine mc checks "
                                "the Monte-Carlo estimates (z-scores against the exact engines and the linearized "
                                "network's closed forms, zero-lag identities, 1/sqrt(paths) scaling, the control "
                                "variate).",
                    examples=["verify derivations/ou3_cubic.toml",
                              "verify derivations/nonlinear/tanh1_scalar.toml --mc-paths 0 --json",
                              "verify derivations/ou2_quadratic.toml --record",
                              "verify derivations/nonlinear/tanh3.toml --engine mc --paths 4096"])
    add_spec(p)
    p.add_argument("--order", type=int, help="truncation / kernel order (default: the spec's)")
    add_params(p)
    add_engine(p)
    add_mc_options(p)
    p.add_argument("--dps", type=int, default=50, help="working precision in decimal digits (30..200, default 50)")
    p.add_argument("--samples", type=int, default=3, help="random lag sets per kernel order (default 3)")
    add_seed(p, "seed of the sample points (and of the paths with --engine mc)")
    add_json(p)
    p.add_argument("--record", action="store_true",
                   help="also write the oracle values to <spec stem>.reference.toml beside the spec (OU engine)")
    p.add_argument("--mc-paths", type=int, default=None, metavar="P",
                   help=f"gradient and grid engines: paths of the monte_carlo claim (default {DEFAULT_MC_PATHS}; "
                        "0 skips it)")
    p.set_defaults(run=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    from ..verification.results import check_options
    from ..verification.runner import verify_engine

    if args.order is not None and args.order < 0:
        raise InputError("must be >= 0", field="order")
    check_options(args.dps, args.samples, args.seed)
    if args.mc_paths is not None and not (args.mc_paths == 0 or 100 <= args.mc_paths <= MAX_MC_PATHS):
        raise InputError(f"{args.mc_paths}: give 0 (skip the Monte-Carlo claim) or 100..{MAX_MC_PATHS} paths",
                         field="mc_paths")
    engine = engine_from(args, order=args.order)
    options = {"dps": args.dps, "samples": args.samples, "seed": args.seed}
    if args.mc_paths is not None:
        if engine.name not in MC_ENGINES:
            raise InputError(f"the {engine.name} engine's claims have no Monte-Carlo claim", field="mc_paths")
        options["mc_paths"] = args.mc_paths
    elif engine.name in MC_ENGINES:
        options["mc_paths"] = DEFAULT_MC_PATHS
    written = None
    if args.record:
        from ..verification.references import RECORD_DPS, record_references

        if engine.name not in ("ou", "linearized"):
            raise InputError("recording reference values is implemented for the OU engine only; the gradient "
                             "engine is checked against theory.md 5 and its mpmath routes on every run", field="record")
        if args.dps < RECORD_DPS:
            raise InputError(f"recording needs --dps >= {RECORD_DPS} (40+ recorded digits)", field="dps")
        written = record_references(engine.derivation, dps=args.dps, samples=args.samples, seed=args.seed,
                                    params=dict(engine.values) if engine.name == "ou" else {})
    report = verify_engine(engine, **options)
    if args.json:
        data = {"engine": engine.name, **report.to_dict()}
        if written is not None:
            data["recorded"] = str(written)
        emit_json(data)
    else:
        print(report.format_text())
        if written is not None:
            print(f"wrote {written}")
    return 0 if report.passed else 1
