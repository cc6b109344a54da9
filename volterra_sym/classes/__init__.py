"""SRNN classes, one engine each, behind one interface (:mod:`.engine`); :mod:`.registry` picks.

* :mod:`.ou` - linear activation (Ornstein-Uhlenbeck): closed forms of every order;
* :mod:`.gradient` - nonlinear networks with a gradient drift and isotropic noise: the symbolic
  invariant density and a Fourier spectral method;
* :mod:`.grid` - any drift with non-degenerate noise and 1-3 hidden units: the Fokker-Planck operator
  on a grid (no closed form of the density needed);
* :mod:`.linearized` - any network, linearized about its stable fixed point (an approximation).
"""

from .engine import Engine, Estimate, SeriesResult
from .registry import ENGINES, EXACT_ENGINES, NoEngineError, engine_class, engine_for

__all__ = ["Engine", "Estimate", "SeriesResult", "ENGINES", "EXACT_ENGINES", "NoEngineError", "engine_class",
           "engine_for"]
