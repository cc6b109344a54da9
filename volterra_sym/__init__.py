"""volterra-sym: symbolic Volterra response kernels of stochastic recurrent networks.

Pipeline, one module per stage::

    spec (TOML -> DerivationSpec) -> model (SymbolicModel) -> derive (KernelSet)
      -> evaluate (NumericKernels: kernel values) -> series (truncated series at time t)
      -> verify (mpmath claims) -> lower / printing / render / write (generated modules)

The core stages are imported eagerly; the later ones (verification, code generation, simulation,
the nonlinear gradient class, signatures) load on first use of one of their names.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .derive import Kernel as Kernel
from .derive import KernelSet as KernelSet
from .derive import derive_kernels as derive_kernels
from .derive import kernel_expression as kernel_expression
from .derive import kernel_expressions as kernel_expressions
from .errors import DerivationError as DerivationError
from .errors import InputError as InputError
from .errors import SpecError as SpecError
from .errors import VolterraSymError as VolterraSymError
from .evaluate import NumericKernels as NumericKernels
from .evaluate import kernel_values as kernel_values
from .evaluate import numeric_kernels as numeric_kernels
from .model import SymbolicModel as SymbolicModel
from .model import build_model as build_model
from .series import SeriesResult as SeriesResult
from .series import series_terms as series_terms
from .spec import DerivationSpec as DerivationSpec
from .spec import load_spec as load_spec
from .spec import parse_spec as parse_spec

_LAZY = {
    "verify_kernels": "verify", "verify_spec": "verify", "VerificationReport": "verify", "ClaimResult": "verify",
    "generate_module": "codegen", "load_generated": "loader", "runtime_api_version": "loader",
    "check_generated_module": "testing",
    "simulate_responses": "simulate", "SimulationResult": "simulate",
    "linearize": "model",
    "GradientLaw": "gradient", "gradient_law": "gradient",
    "SpectralKernels": "spectral", "spectral_kernels": "spectral", "spectral_kernel_values": "spectral",
    "spectral_series": "spectral", "spectral_mean_output": "spectral",
    "Basis": "feature", "response_feature": "feature",
    "Readout": "represent", "readout_coefficients": "represent",
    "AugmentedReadout": "augmented", "augmented_coefficients": "augmented", "augmented_feature": "augmented",
    "UnsupportedExpressionError": "errors", "StaleModuleError": "errors", "VerificationError": "errors",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'volterra_sym' has no attribute {name!r}")


__all__ = sorted(_LAZY) + [
    "__version__",
    "DerivationError",
    "DerivationSpec",
    "InputError",
    "Kernel",
    "KernelSet",
    "NumericKernels",
    "SeriesResult",
    "SpecError",
    "SymbolicModel",
    "VolterraSymError",
    "build_model",
    "derive_kernels",
    "kernel_expression",
    "kernel_expressions",
    "kernel_values",
    "load_spec",
    "numeric_kernels",
    "parse_spec",
    "series_terms",
]
