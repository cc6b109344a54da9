"""``report``: kernels, series, simulation and the exact driven mean side by side, written to a folder."""

from __future__ import annotations

import argparse
import sys

from .args import (add_cluster, add_command, add_json, add_params, add_seed, add_spec, cluster_from, emit_json, params,
                   parse_floats)

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "report", help="response report: kernels, series, Monte Carlo, exact driven mean",
                    description="Compute and write a report folder: first- and second-order kernels, the mean "
                                "output over time (Monte Carlo against the truncated series of each order and the "
                                "exact all-order driven mean), and the truncation error at t = T against eps with "
                                "fitted slopes; CSV tables, report.md and PNG figures (matplotlib). A nonlinear "
                                "network's linearization is shown beside its exact kernels, or alone when no exact "
                                "engine applies.",
                    examples=['report derivations/nonlinear/tanh3.toml --input "sin(t)" --eps-list 0.3,3 -o report/',
                              'report derivations/ou2_tanh.toml --input "sin(t)" --paths 20000 --no-figures',
                              'report derivations/nonlinear/tanh3.toml --input "sin(t)" --engine mc --paths 20000 '
                              '-o report/'])
    add_spec(p, what="spec file (TOML), any activation")
    p.add_argument("--input", action="append", required=True, metavar="EXPR",
                   help="input channel as an expression in t (one per channel, in order)")
    p.add_argument("--eps-list", default="0.2,1", metavar="E1,E2,...",
                   help="input amplitudes of the mean-output figure (default 0.2,1)")
    p.add_argument("--error-eps", default=None, metavar="E1,E2,...",
                   help="amplitudes of the truncation-error study (default: a grid scaled to the network)")
    p.add_argument("-o", "--output", default="report", metavar="DIR",
                   help="output folder, created if its parent exists (default ./report)")
    p.add_argument("--t", type=float, default=5.0, help="horizon T (default 5)")
    p.add_argument("--paths", type=int, default=100_000,
                   help="Monte-Carlo paths of the simulation and of --engine mc (default 100000)")
    p.add_argument("--engine", choices=("mc",), default=None,
                   help="mc: add the Monte-Carlo engine's estimates of the network's own R^(1), with standard "
                        "errors, to the kernel table and figure (the exact engine, if any, is picked as always)")
    add_seed(p)
    p.add_argument("--dt", type=float, default=None, help="time step (default min(0.01, 0.1 / fastest rate))")
    p.add_argument("--order", type=int, default=None, help="highest series order (default max(spec order, 3))")
    p.add_argument("--times", type=int, default=41, help="points of the time grid on [0, T] (default 41)")
    add_params(p)
    p.add_argument("--no-figures", action="store_true", help="write the tables only")
    add_cluster(p)
    add_json(p)
    p.set_defaults(run=run_report)


def _mc_summary(report) -> dict:
    """The Monte-Carlo kernels' figures of merit, when ``--engine mc`` added them."""
    import numpy

    K = report.kernels
    if K.mc_r1 is None:
        return {}
    out = {"mc_paths": K.mc_info["paths"], "mc_kernel_max_stderr": float(K.mc_r1_stderr.max())}
    if report.exact_only or report.exact_and_linearized:
        out["mc_kernel_max_abs_z"] = float(numpy.abs(K.mc_z_scores()).max())
    return out


def run_report(args: argparse.Namespace) -> int:
    import numpy

    from ..files import check_output_folder
    from ..report.build import build_report
    from ..report.tables import PLOT_HINT, fmt
    from ..report.write import write_report

    out_dir = check_output_folder(args.output, create=True)
    eps_list = parse_floats(args.eps_list, "eps_list")
    error_eps = parse_floats(args.error_eps, "error_eps") if args.error_eps else None
    with cluster_from(args) as client:
        report = build_report(args.spec, args.input, eps_list=eps_list, t=args.t, paths=args.paths, seed=args.seed,
                              dt=args.dt, params=params(args), order=args.order, n_times=args.times,
                              error_eps=error_eps, engine=args.engine, progress=sys.stderr.isatty(), client=client)
    written, drawn = write_report(report, out_dir, figures=not args.no_figures)
    if not drawn and not args.no_figures:
        print(f"volterra-sym: matplotlib is not installed: figures skipped, tables written; "
              f"to draw them: {PLOT_HINT}", file=sys.stderr)
    T = report.truncation
    z = report.mean_output.z_scores
    if args.json:
        emit_json({"engine": report.engine, "linearized": report.linearized, "written": [str(w) for w in written],
                   "figures": drawn, "truncation_reference": T.kind,
                   "slopes": [[None if not numpy.isfinite(s) else float(s) for s in row] for row in T.slopes.T],
                   "max_abs_z": None if z is None or not numpy.isfinite(z).any() else float(numpy.nanmax(numpy.abs(z))),
                   **_mc_summary(report)})
        return 0
    print(f"wrote {len(written)} files to {out_dir}/ (report.md)")
    mc = _mc_summary(report)
    if mc:
        z = mc.get("mc_kernel_max_abs_z")
        print(f"  Monte-Carlo R^(1) ({mc['mc_paths']} paths): largest standard error {mc['mc_kernel_max_stderr']:.2g}"
              + (f", max |z| against the exact kernels {z:.2f}" if z is not None else ""))
    for q in range(report.spec.n_outputs):
        slopes = ", ".join(f"N={N}: {fmt(T.slopes[a, q], 3)}" for a, N in enumerate(T.orders))
        print(f"  f{q + 1}: truncation-error slopes ({T.kind} reference) {slopes}")
    if z is not None and numpy.isfinite(z).any():
        print(f"  Monte Carlo vs the exact all-order mean output ({report.engine} engine): "
              f"max |z| = {numpy.nanmax(numpy.abs(z)):.2f}")
    for note in report.mean_output.exact_refused:
        print(f"  no exact all-order mean output at {note}")
    return 0
