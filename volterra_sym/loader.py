"""Compatibility alias of :mod:`volterra_sym.codegen.loader` (the path the 0.1 README documented).

``volterra_sym.load_generated`` and ``volterra_sym.codegen.loader.load_generated`` are the same function.
"""

from .codegen.loader import load_generated, runtime_api_version

__all__ = ["load_generated", "runtime_api_version"]
