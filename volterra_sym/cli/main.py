"""``volterra-sym`` (also ``python -m volterra_sym``): the parser and the entry point.

Exit status: 0 success, 1 a check failed (``verify``, ``check``), 2 bad input (one line on stderr,
no traceback). The JSON outputs are a stable contract for scripts. Each subcommand imports what it
needs only when it runs.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from .. import __version__
from ..errors import VolterraSymError
from . import codegen, features, kernels, report, simulate, verify
from .args import PROG, Parser, error_line

__all__ = ["main", "build_parser", "console"]

COMMAND_GROUPS = (kernels, verify, codegen, simulate, report, features)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description="Response kernels of stochastic recurrent networks (Lim, JMLR 2021): "
                                           "derive, evaluate, verify, generate code, simulate, report.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in COMMAND_GROUPS:
        group.add_parsers(sub)
    return parser


class _Warnings:
    """Collect warnings during a command; on success print them one line each, on an error fold
    them into the error's single line."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def show(self, message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(str(message).split())
        if text not in self.lines:
            self.lines.append(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    collected = _Warnings()
    args = None
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = collected.show
        try:
            import numpy

            with numpy.errstate(all="ignore"):
                args = build_parser().parse_args(argv)
                status = args.run(args)
        except VolterraSymError as err:
            note = f" (warnings: {'; '.join(collected.lines)})" if collected.lines else ""
            print(f"{PROG}: error: {error_line(err, args)}{note}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            return 1
    for line in collected.lines:
        print(f"{PROG}: warning: {line}", file=sys.stderr)
    return status


def console() -> None:  # entry point for the console script
    sys.exit(main())
