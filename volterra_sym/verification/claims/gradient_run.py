"""One verification run of the gradient engine: the law, the representation, sample points, cached oracles."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import mpmath
import numpy

from ...classes.gradient.law import GradientLaw, taylor_words
from ...classes.gradient.spectral import (
    SpectralKernels,
    spectral_kernel_values,
    spectral_mean_output,
    spectral_series,
)
from ...errors import InputError
from ..oracles.density import mp_density_means
from ..oracles.fourier import FourierCorrelation, MpFourierKrylov
from ..oracles.gaussian_path import NoOracle
from ..oracles.trig_input import TrigInput
from ..results import (
    memoized,
    MAX_INDEX_TUPLES,
    KernelCallable,
    dyadic,
)

__all__ = ["GradientRun", "spectral_kernel_callable", "magnitude"]

SPECTRAL_DIGITS = 9.0
QUADRATURE_DIGITS = 20.0
LADDER_DIGITS = 20.0
REFERENCE_DIGITS = 9.0
#: mpmath precision of the Krylov route and the 2-D quadrature (the 1-D quadrature uses ``dps``)
ORACLE_DPS = 30
#: Taylor degree of the small-lag claim per number of hidden units, and the largest lag compared
TAYLOR_DEGREE = {1: 5, 2: 3}
TAYLOR_LAGS = {1: (0.0, 2.0**-10, 2.0**-8, 2.0**-6), 2: (0.0, 2.0**-12, 2.0**-10, 2.0**-9)}
DEFAULT_MC_PATHS = 20_000
MC_SIGMAS = 4.0

#: theory.md 5: scalar SRNN, gamma = 1, w = 1.5, b = 0.3, c = 1, s = 0.8, f = tanh
REFERENCE_NETWORK = {"Gamma": 1.0, "W": 1.5, "b": 0.3, "C": 1.0, "sigma": 0.8}
REFERENCE_VALUES = {"<f>": ("0.3114904271", ()), "R^(1)(0)": ("0.5203829363", (0.0,)),
                    "R^(1)(1)": ("0.3895240791", (1.0,))}



def spectral_kernel_callable(sk: SpectralKernels) -> KernelCallable:
    """The engine as ``kernel(n, *lags) -> (p,) + (m,) * n`` (the generated modules' signature)."""

    def kernel(n: int, *lags: float, **params: float) -> numpy.ndarray:
        if params and any(float(v) != float(sk.values[k]) for k, v in params.items()):
            raise InputError("the spectral representation is built at fixed parameter values", field="params")
        return sk.fhat[0].copy() if n == 0 else spectral_kernel_values(sk, list(lags))

    return kernel


# --- one run ------------------------------------------------------------------------------------


class GradientRun:
    """Shared, cached computations of one gradient-class verification run."""

    def __init__(self, law: GradientLaw, sk: SpectralKernels, values: Mapping[str, float], dps: int, order: int,
                 samples: int, seed: int, kernel: KernelCallable | None, mc_paths: int):
        self.law, self.sk, self.model = law, sk, law.model
        self.values = dict(values)
        self.dps, self.order, self.seed = dps, order, seed
        self.kernel = kernel or spectral_kernel_callable(sk)
        self.mc_paths = mc_paths
        self.oracle_dps = min(dps, ORACLE_DPS)
        self._memo: dict[tuple, Any] = {}
        rng = numpy.random.default_rng(seed)
        m, nh = self.model.n_inputs, self.model.n_hidden
        self.lags, self.indices = [], []
        for n in range(1, order + 1):
            self.lags.append(tuple(tuple(float(x) for x in dyadic(rng, 0.125, 2.0, size=n)) for _ in range(samples)))
            tuples = list(itertools.product(range(m), repeat=n))
            if len(tuples) > MAX_INDEX_TUPLES:
                chosen = rng.choice(len(tuples), size=MAX_INDEX_TUPLES, replace=False)
                tuples = [tuples[i] for i in sorted(chosen)]
            self.indices.append(tuple(tuples))
        self.law_points = tuple(tuple(float(x) for x in dyadic(rng, -2.0, 2.0, size=nh)) for _ in range(samples))
        self.t = float(dyadic(rng, 0.5, 2.0))
        self.eps = 1.0
        self.u = TrigInput(offset=tuple(float(x) for x in dyadic(rng, -1.0, 1.0, size=m, denom=256)),
                           cos=tuple(float(x) for x in dyadic(rng, -1.0, 1.0, size=m, denom=256)),
                           sin=tuple(float(x) for x in dyadic(rng, -1.0, 1.0, size=m, denom=256)),
                           freq=tuple(float(x) for x in dyadic(rng, 0.5, 3.0, size=m, denom=256)))

    def describe(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for n, (per_order, idx) in enumerate(zip(self.lags, self.indices), start=1):
            for lags in per_order:
                out.append({"kind": "kernel", "order": n, "lags": list(lags)})
            out.append({"kind": "indices", "order": n, "indices": [list(i) for i in idx]})
        for h in self.law_points:
            out.append({"kind": "law", "h": list(h)})
        out.append({"kind": "monte_carlo", "t": self.t, "eps": self.eps, "u": self.u.describe(),
                    "paths": self.mc_paths})
        sk = self.sk
        out.append({"kind": "spectral", "nodes_per_axis": sk.nodes, "modes": int(len(sk.lam)),
                    "error_estimate": float(sk.error_estimate)})
        return out

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        return memoized(self._memo, key, compute)

    def fourier(self, nodes: int | None = None) -> FourierCorrelation | NoOracle:
        return self.memo(("fourier", nodes), lambda: FourierCorrelation(self.law, self.values, nodes=nodes))

    def mp_oracle(self, level: int = 0) -> MpFourierKrylov | NoOracle:
        """level 0: 112 nodes, 40 Lanczos vectors at ORACLE_DPS; level 1 (ladder): 128, 48, +8 digits."""
        nodes, size, extra = ((112, 40, 0), (128, 48, 8))[level]

        def build():
            with mpmath.workdps(self.oracle_dps + extra):
                return MpFourierKrylov(self.law, self.values, nodes=nodes, size=size)

        return self.memo(("mp", level), build)

    def mp_kernel(self, level: int, q: int, idx: tuple, lags: tuple) -> tuple | NoOracle:
        oracle = self.mp_oracle(level)
        if isinstance(oracle, NoOracle):
            return oracle
        extra = (0, 8)[level]

        def compute():
            with mpmath.workdps(self.oracle_dps + extra):
                return oracle.kernel(q, idx, [mpmath.mpf(x) for x in lags])

        return self.memo(("mpk", level, q, idx, lags), compute)

    def quadrature(self, exprs: tuple, *, words: bool = False):
        """<g>_inf by mpmath: ``mpmath.quad`` at the run's dps in 1-D; otherwise (2-D, or generator
        words, whose long expressions are evaluated together) the trapezoidal ladder at ORACLE_DPS - 5."""
        if self.model.n_hidden == 1 and not words:
            method, dps, target = "quad", self.dps, None
        else:
            method, dps, target = "trapezoid", ORACLE_DPS - 5, QUADRATURE_DIGITS + 2
        return self.memo(("quad", exprs, method), lambda: mp_density_means(
            self.law, self.values, list(exprs), dps=dps, method=method, target=target))

    def low_words(self) -> dict[tuple[int, int], tuple]:
        """The generator words p = 0, 1 (C_k . grad f, C_k . grad L0 f) of every output and input."""
        return self.memo(("low words",), lambda: {
            (q, k): taylor_words(self.law, q, k, 1)
            for q in range(self.model.n_outputs) for k in range(self.model.n_inputs)})

    def means(self, exprs: tuple):
        """<g>_inf of readouts and low words: in 2-D all of them in one trapezoidal ladder (shared grid)."""
        if self.model.n_hidden == 1:
            return self.quadrature(exprs)
        common = tuple(self.model.readout) + tuple(w for ws in self.low_words().values() for w in ws)
        if not all(e in common for e in exprs):
            return self.quadrature(exprs)
        quad = self.quadrature(common)
        if isinstance(quad, NoOracle):
            return quad
        return replace(quad, values=tuple(quad.values[common.index(e)] for e in exprs))

    def engine_series(self) -> numpy.ndarray:
        """The engine's series terms at (t, eps, u) (shape (order + 1, p))."""
        return self.memo(("engine series",), lambda: spectral_series(self.sk, self.u.numpy, self.t, self.eps,
                                                                      order=self.order).terms)

    def engine_driven_mean(self) -> numpy.ndarray:
        """The engine's all-order mean output E f(h_t) at (t, eps, u) (the report's exact route)."""
        return self.memo(("engine driven",), lambda: spectral_mean_output(self.sk, self.u.numpy, self.t, self.eps))

    def engine_driven_mean_at(self, eps: complex) -> numpy.ndarray:
        """The engine's all-order mean output at (t, u) and another eps (complex allowed)."""
        return self.memo(("engine driven", eps), lambda: spectral_mean_output(self.sk, self.u.numpy, self.t, eps))

    def engine_contact(self, composition: tuple, lags: tuple) -> numpy.ndarray:
        """The engine's contact kernel R^J(lags) of an input inside the activation (zeros for an additive
        input), from the spectral representation: shape (p,) + (m,) * sum(composition)."""
        return self.memo(("engine contact", composition, lags), lambda: numpy.asarray(
            spectral_kernel_values(self.sk, [numpy.asarray(t) for t in lags], composition), dtype=numpy.float64))

    def engine(self, n: int, lags: tuple) -> numpy.ndarray:
        return self.memo(("engine", n, lags), lambda: numpy.asarray(self.kernel(n, *lags, **self.values),
                                                                     dtype=numpy.float64))


def magnitude(values: Iterable[Any]) -> Any:
    return max((abs(mpmath.mpf(v)) for v in values), default=mpmath.mpf(0)) or mpmath.mpf(1)


