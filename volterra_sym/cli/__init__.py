"""The command line: one module per command group (:mod:`.kernels`, :mod:`.verify`, :mod:`.codegen`,
:mod:`.simulate`, :mod:`.report`, :mod:`.features`), shared helpers in :mod:`.args`, the entry point
in :mod:`.main`. The only package that parses arguments, prints, or names ``--flags``."""

from .main import build_parser, console, main

__all__ = ["main", "build_parser", "console"]
