"""Verification: every engine's answers against routes that share nothing with its method.

:mod:`.runner` picks an engine's claim set; :mod:`.results` holds the claim and report values;
:mod:`.claims` has one module of claims per engine; :mod:`.oracles` the independent routes
(mpmath Gaussian-path integrals, Fourier forward solvers, density quadrature); :mod:`.references`
the recorded oracle values.
"""
