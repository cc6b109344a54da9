"""Time steppers of the simulator and the start of a nonlinear network (see :mod:`volterra_sym.simulate`).

:class:`Stepper` advances many paths by one step of the exact OU transition, stochastic Heun or
Euler-Maruyama; :func:`start_law` is the Gaussian start law, :func:`coupled_burn_in` measures the
burn-in of a nonlinear network by synchronous coupling.
"""

from __future__ import annotations

import math
import warnings

import numpy

from .errors import DerivationError
from .network import NumericSRNN, ou_transition, sqrtm_psd, stationary_covariance

__all__ = ["Stepper", "start_law", "coupled_burn_in", "check_finite", "BLOCK", "BURN_IN_TOL",
           "BURN_IN_MIN_RELAXATIONS", "BURN_IN_MAX_RELAXATIONS", "MAX_STEPS"]

#: paths per random-number stream; part of the reproducibility contract (same seed, same numbers)
BLOCK = 4096
#: burn-in of a nonlinear network: coupled pairs closer than this (in s.d.) ...
BURN_IN_TOL = 1e-4
#: ... and between these many linearized relaxation times
BURN_IN_MIN_RELAXATIONS = 5.0
BURN_IN_MAX_RELAXATIONS = 500.0
MAX_STEPS = 10**7
#: fewest coupled pairs of the burn-in pilot
PILOT_MIN = 256
#: path-steps of the burn-in pilot (2 x BLOCK paths): its step count is capped by this too
PILOT_PATH_STEPS = 2 * 10**8


class Stepper:
    """Advances states of shape (k, blocks, n, s) by one step; noise (blocks, r, s) shared over k."""

    def __init__(self, net: NumericSRNN, scheme: str, dt: float, drive: numpy.ndarray, eps: numpy.ndarray):
        self.net, self.scheme, self.dt = net, scheme, dt
        self.eps = eps[:, None, None, None]  # (k, 1, 1, 1)
        if scheme == "exact":
            E, Q, J0, J1 = ou_transition(net.A, net.sigma @ net.sigma.T, dt)
            self.E = E
            self.noise_matrix = sqrtm_psd(Q)
            Cu = drive @ net.C.T  # (steps + 1, n)
            self.forcing = Cu[:-1] @ J0.T + (Cu[1:] - Cu[:-1]) @ J1.T / dt  # (steps, n)
        else:
            self.noise_matrix = net.sigma * math.sqrt(dt)
            self.forcing = drive @ net.C.T  # C u at the grid points, (steps + 1, n)

    @property
    def noise_dim(self) -> int:
        return self.noise_matrix.shape[1]

    def step(self, h: numpy.ndarray, i: int, z: numpy.ndarray, *, forced: bool = True) -> numpy.ndarray:
        """State at step i + 1 from state ``h`` at step i (``forced=False``: eps = 0, burn-in)."""
        noise = self.noise_matrix @ z  # (blocks, n, s)
        net, dt = self.net, self.dt
        if self.scheme == "exact":  # h holds the centred state h - mu here
            out = self.E @ h + noise
            if forced:
                out += self.eps * self.forcing[i][:, None]
            return out
        k1 = net.drift(h, self.eps * self.forcing[i][:, None] if forced else None)
        if self.scheme == "euler":
            k1 *= dt
            k1 += h
            k1 += noise
            return k1
        predictor = k1 * dt
        predictor += h
        predictor += noise
        k2 = net.drift(predictor, self.eps * self.forcing[i + 1][:, None] if forced else None)
        k2 += k1
        k2 *= dt / 2
        k2 += h
        k2 += noise
        return k2


def start_law(net: NumericSRNN) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Centre and square root of the start law: N(mu, S) (exact or linearized) or N(0, S_Gamma)."""
    if net.mu is not None:
        return net.mu, sqrtm_psd(net.S)
    Sigma = net.sigma @ net.sigma.T
    return numpy.zeros(net.n_hidden), sqrtm_psd(stationary_covariance(-net.Gamma, Sigma))


def coupled_burn_in(net: NumericSRNN, stepper: Stepper, centre: numpy.ndarray, start: numpy.ndarray,
                     dt: float, seed: int, paths: int = BLOCK) -> int:
    """Burn-in steps from synchronous coupling of two unforced copies (module docstring of
    :mod:`volterra_sym.simulate`): min(BLOCK, max(paths, PILOT_MIN)) pairs, so the pilot costs at
    most twice the run's own burn-in (or 2 PILOT_MIN paths)."""
    pairs = int(min(BLOCK, max(paths, PILOT_MIN)))
    tau = net.relaxation_time
    check = max(1, round(0.5 * tau / dt))
    min_steps = math.ceil(BURN_IN_MIN_RELAXATIONS * tau / dt)
    max_steps = min(MAX_STEPS, math.ceil(BURN_IN_MAX_RELAXATIONS * tau / dt), PILOT_PATH_STEPS // (2 * BLOCK))
    # a child key no block uses (blocks are 0, 1, 2, ...): the pilot does not depend on paths
    rng = numpy.random.default_rng(numpy.random.SeedSequence(seed, spawn_key=(2**32 - 1,)))
    scale = numpy.sqrt(numpy.diag(start @ start.T))[:, None]
    scale = numpy.where(scale > 0, scale, 1.0)  # a unit the noise does not reach: absolute distance
    z = start @ rng.standard_normal((1, net.n_hidden, pairs))
    a, b = centre[:, None] + z, centre[:, None] - 2 * z
    r = stepper.noise_dim
    with numpy.errstate(all="ignore"):
        for i in range(1, max_steps + 1):
            noise = rng.standard_normal((1, r, pairs))
            a = stepper.step(a, 0, noise, forced=False)
            b = stepper.step(b, 0, noise, forced=False)
            if i % check == 0 or i == max_steps:
                check_finite(a, "burn-in pilot")
                check_finite(b, "burn-in pilot")
                distance = float((numpy.abs(a - b) / scale).mean(axis=-1).max())
                if distance <= BURN_IN_TOL and i >= min_steps:
                    return i
    warnings.warn(f"burn-in capped at {max_steps * dt:g} ({max_steps * dt / tau:.3g} linearized relaxation "
                  f"times): coupled copies are still {distance:.2g} s.d. apart, the start may not be "
                  "stationary (several wells?); pass burn_in explicitly", RuntimeWarning, stacklevel=4)
    return max_steps


def check_finite(h: numpy.ndarray, where: str) -> None:
    if not numpy.all(numpy.isfinite(h)):
        raise DerivationError(f"simulation diverged ({where}): the state is not finite; "
                              "use a smaller dt or check that the network is stable")
