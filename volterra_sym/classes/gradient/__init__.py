"""The gradient class: nonlinear networks with a gradient drift and isotropic noise (theory.md 5).

:mod:`.law` (symbolic density, score, Taylor words) -> :mod:`.spectral` (Fourier spectral kernels,
series, driven mean) -> :mod:`.reduce` (fewer modes); :mod:`.engine` is the engine.
"""
