"""The Ornstein-Uhlenbeck class (linear activation): closed-form kernels of every order (theory.md 4).

:mod:`.derive` (SymPy) -> :mod:`.evaluate` (float64) -> :mod:`.series` (O(T) filters);
:mod:`.resummation` is the all-order driven mean; :mod:`.engine` puts them behind the engine interface.
"""
