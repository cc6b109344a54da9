"""volterra-sym: response kernels of stochastic recurrent networks (Lim, JMLR 2021).

The package, by stage (imports point one way, left to right)::

    core (spec, model, gaussian, propagator, network, simulate, inputs, files)
      <- classes (one engine per SRNN class; classes.registry picks)
      <- verification, codegen, features
      <- report <- cli

Every public name below loads its module on first use, so ``import volterra_sym`` is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    # core
    "DerivationSpec": "spec", "load_spec": "spec", "parse_spec": "spec",
    "SymbolicModel": "model", "build_model": "model", "linearize": "model",
    "VolterraSymError": "errors", "SpecError": "errors", "DerivationError": "errors", "InputError": "errors",
    "UnsupportedExpressionError": "errors", "StaleModuleError": "errors", "VerificationError": "errors",
    "MissingExtraError": "errors",
    "simulate_responses": "simulate", "SimulationResult": "simulate",
    "input_signal": "inputs",
    # engines
    "Engine": "classes.engine", "Estimate": "classes.engine", "SeriesResult": "classes.engine",
    "engine_for": "classes.registry", "ENGINES": "classes.registry",
    "Kernel": "classes.ou.derive", "KernelSet": "classes.ou.derive", "derive_kernels": "classes.ou.derive",
    "kernel_expression": "classes.ou.derive", "kernel_expressions": "classes.ou.derive",
    "NumericKernels": "classes.ou.evaluate", "kernel_values": "classes.ou.evaluate",
    "numeric_kernels": "classes.ou.evaluate", "series_terms": "classes.ou.series",
    "GradientLaw": "classes.gradient.law", "gradient_law": "classes.gradient.law",
    "SpectralKernels": "classes.gradient.spectral", "spectral_kernels": "classes.gradient.spectral",
    "spectral_kernel_values": "classes.gradient.spectral", "spectral_series": "classes.gradient.spectral",
    "spectral_mean_output": "classes.gradient.spectral",
    # verification, code generation, features
    "verify_engine": "verification.runner", "verify_spec": "verification.runner",
    "VerificationReport": "verification.runner", "ClaimResult": "verification.runner",
    "verify_kernels": "verification.claims.ou",
    "generate_module": "codegen.pipeline", "load_generated": "codegen.loader",
    "runtime_api_version": "codegen.loader", "check_generated_module": "codegen.conformance",
    "signature": "features.signature", "signature_backend": "features.signature", "Basis": "features.basis", "response_feature": "features.feature",
    "Readout": "features.represent", "readout_coefficients": "features.represent",
    "AugmentedReadout": "features.augmented", "augmented_coefficients": "features.augmented",
    "augmented_feature": "features.augmented",
    "build_report": "report.build", "write_report": "report.write",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'volterra_sym' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
