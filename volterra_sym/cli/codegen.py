"""``generate`` and ``check``: stamped, standalone NumPy evaluator modules."""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError
from .args import ENGINE_NAMES, add_command, add_json, emit_json

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "generate", help="generate a stamped, standalone NumPy evaluator module",
                    description="Write <name>.py for each spec: a module that imports numpy only and evaluates the "
                                "kernels, the series of a sampled input and the stationary mean. Its two-line stamp "
                                "records a hash of every input and of its own text. Nothing is written unless every "
                                "spec was generated.",
                    examples=["generate derivations/ou3_cubic.toml",
                              "generate derivations/*.toml -o build/"])
    p.add_argument("spec", metavar="SPEC", nargs="+", help="spec file(s) (TOML)")
    p.add_argument("-o", "--output-dir", metavar="DIR", default=None,
                   help="folder of the generated <name>.py (default: the spec's folder)")
    p.add_argument("--engine", choices=ENGINE_NAMES, default=None,
                   help="check that this engine writes the module (default: the exact engine that answers; only "
                        "exact engines generate code)")
    add_json(p)
    p.set_defaults(run=run_generate)

    p = add_command(sub, "check", help="report generated modules that are stale or hand-edited (exit 1)",
                    description="Compare each generated module with the spec, templates, generator and SymPy that "
                                "would generate it now: current (exit 0), or stale, hand-edited, missing or invalid "
                                "(exit 1). The stamp detects edits and staleness; it does not authenticate.",
                    examples=["check", "check derivations/ou3_cubic.toml --json"])
    p.add_argument("spec", metavar="SPEC", nargs="*",
                   help="spec file(s); default: every derivations/**/*.toml with a generated module beside it")
    p.add_argument("-o", "--output-dir", metavar="DIR", default=None,
                   help="folder of the generated modules (default: each spec's folder)")
    add_json(p)
    p.set_defaults(run=run_check)


def _check_engine(args: argparse.Namespace) -> None:
    """``--engine``: refuse an engine that writes no module, or one that does not answer for a spec."""
    from ..classes.registry import engine_class
    from ..codegen.pipeline import WRITERS
    from ..model import build_model
    from ..spec import load_spec

    if args.engine not in WRITERS:
        why = " (its answers are Monte-Carlo estimates: there is nothing exact to write)" if args.engine == "mc" else ""
        raise InputError(f"generate writes modules of the {', '.join(WRITERS)} engines, not {args.engine}{why}",
                         field="engine")
    for spec in args.spec:
        name = engine_class(build_model(load_spec(spec))).name
        if name != args.engine:
            raise InputError(f"{spec} is answered by the {name} engine, not {args.engine}", field="engine")


def run_generate(args: argparse.Namespace) -> int:
    from ..codegen.pipeline import generate_modules

    if args.engine is not None:
        _check_engine(args)
    results = generate_modules(args.spec, args.output_dir)
    if args.json:
        engines = {r.engine for r in results}
        emit_json({"engine": engines.pop() if len(engines) == 1 else None,
                   "written": [r.path.as_posix() for r in results],
                   "modules": [{"spec": r.spec, "path": r.path.as_posix(), "engine": r.engine} for r in results]})
    else:
        for result in results:
            print(f"wrote {result.path.as_posix()}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from ..codegen.pipeline import check_modules, discover_specs

    specs = list(args.spec) if args.spec else discover_specs()
    statuses = check_modules(specs, args.output_dir) if specs else []
    ok = all(s.ok for s in statuses)
    if args.json:
        emit_json({"ok": ok, "modules": [{"module": s.module, "spec": s.spec, "status": s.state, "detail": s.detail}
                                         for s in statuses]})
        return 0 if ok else 1
    if not statuses:
        print("no generated modules to check")
    for status in statuses:
        print(status.line(), file=sys.stdout if status.ok else sys.stderr)
    return 0 if ok else 1
