"""``volterra-sym`` (also ``python -m volterra_sym``): the parser and the entry point.

Exit status: 0 success, 1 a check failed (``verify``, ``check``), 2 bad input or a request beyond
the budgets (one line on stderr, no traceback), 3 an internal error (a bug; one line, the traceback
with ``VOLTERRA_SYM_TRACEBACK=1``), 130 interrupted, 143 terminated (SIGTERM; temporary files removed). The JSON outputs are a stable contract for scripts. Each subcommand imports what it
needs only when it runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
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


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that cleanups (temporary files) run."""


def _on_sigterm(signum, frame) -> None:
    raise _Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 done, 1 a check failed, 2 refused, 3 internal error)."""
    collected = _Warnings()
    args = None
    previous = _install(signal.SIGTERM, _on_sigterm)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = collected.show
            try:
                import numpy

                with numpy.errstate(all="ignore"):
                    args = build_parser().parse_args(argv)
                    status = args.run(args)
            except VolterraSymError as err:
                return _fail(error_line(err, args), collected)
            except MemoryError:
                return _fail("out of memory: the request is too large for this machine (lower the sizes)", collected)
            except RecursionError:
                return _fail("the input is nested too deeply", collected)
            except KeyboardInterrupt:
                print(f"{PROG}: interrupted", file=sys.stderr)
                return 130
            except _Terminated:
                print(f"{PROG}: terminated", file=sys.stderr)
                return 143
            except BrokenPipeError:
                return 1
            except OSError as err:  # the file system refused a path the user gave (too long, permissions, ...)
                where = f"{err.filename}: " if err.filename else ""
                where = where if len(where) <= 120 else where[:100] + "...: "
                return _fail(f"{where}{err.strerror or err}", collected)
            except Exception as err:  # a bug: one line, no traceback unless asked for
                if os.environ.get("VOLTERRA_SYM_TRACEBACK"):
                    raise
                text = " ".join(str(err).split())[:300]
                print(f"{PROG}: internal error ({type(err).__name__}: {text}); please report it with the command "
                      "line (VOLTERRA_SYM_TRACEBACK=1 shows the traceback)", file=sys.stderr)
                return 3
    finally:
        _install(signal.SIGTERM, previous)
    for line in collected.lines:
        print(f"{PROG}: warning: {line}", file=sys.stderr)
    return status


def _fail(line: str, collected: _Warnings) -> int:
    note = f" (warnings: {'; '.join(collected.lines)})" if collected.lines else ""
    print(f"{PROG}: error: {line}{note}", file=sys.stderr)
    return 2


def _install(signum, handler):
    """Set a signal handler where possible (main thread only); returns the previous one."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    try:
        return signal.signal(signum, handler)
    except (ValueError, OSError):
        return None


def console() -> None:  # entry point for the console script
    sys.exit(main())
