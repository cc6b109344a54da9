"""volterra-sym: symbolic Volterra response kernels of stochastic recurrent networks.

Pipeline, one module per stage::

    spec (TOML -> DerivationSpec) -> model (SymbolicModel) -> derive (KernelSet)
      -> evaluate (NumericKernels: kernel values) -> series (truncated series at time t)
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

__all__ = [
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
