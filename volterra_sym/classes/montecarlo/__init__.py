"""The Monte-Carlo engine (``"mc"``): statistical kernels, series and driven mean of any network."""

from .engine import MonteCarloEngine

__all__ = ["MonteCarloEngine"]
