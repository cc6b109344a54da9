"""One verification run of the OU engine: sample points, the cached closed forms and oracles, helpers.

Shared by the claims (:mod:`.ou`) and the recorded references (:mod:`volterra_sym.verification.references`).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy

from ...classes.ou.derive import KernelSet
from ...classes.ou.evaluate import kernel_values, numeric_kernels
from ...classes.ou.series import series_terms
from ..oracles.closed_forms import ClosedForms, simplex_contractions
from ..oracles.gaussian_path import (
    MpModel,
    NoOracle,
    TrigInput,
    correlation_kernel,
    forced_mean_shift,
    mp_model,
    resummation_coefficients,
)
from ..results import (
    memoized,
    GUARD,
    MAX_INDEX_TUPLES,
    KernelCallable,
    dyadic,
)

__all__ = ["OURun", "SamplePoints", "sample_points", "engine_kernel", "group_scales", "work", "kernel_label",
           "float64_series", "FLOAT64_KERNEL_TOL", "FLOAT64_SERIES_TOL", "LADDER", "LADDER_DIGITS"]

FLOAT64_KERNEL_TOL = 1e-12
FLOAT64_SERIES_TOL = 1e-9
LADDER = (30, 60)
LADDER_DIGITS = 25.0

# --- sample points ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SamplePoints:
    """Everything random in a run, drawn from ``default_rng(seed)`` in a fixed order."""

    lags: tuple[tuple[tuple[float, ...], ...], ...]  # lags[n - 1][s] has n entries
    indices: tuple[tuple[tuple[int, ...], ...], ...]  # indices[n - 1]: the index tuples checked
    law_points: tuple[tuple[float, ...], ...]
    t: float
    eps: float
    u: TrigInput

    def describe(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for n, (per_order, idx) in enumerate(zip(self.lags, self.indices), start=1):
            for lags in per_order:
                out.append({"kind": "kernel", "order": n, "lags": list(lags)})
            if idx:
                out.append({"kind": "indices", "order": n, "indices": [list(i) for i in idx]})
        for h in self.law_points:
            out.append({"kind": "law", "h": list(h)})
        out.append({"kind": "series", "t": self.t, "eps": self.eps, "u": self.u.describe()})
        return out


def sample_points(kset: KernelSet, samples: int, seed: int) -> SamplePoints:
    rng = numpy.random.default_rng(seed)
    model = kset.model
    m, nh = model.n_inputs, model.n_hidden
    lags, indices = [], []
    for n in range(1, max(kset.order, 1) + 1):
        lags.append(tuple(tuple(float(x) for x in dyadic(rng, 0.125, 2.0, size=n)) for _ in range(samples)))
        tuples = list(itertools.product(range(m), repeat=n))
        if len(tuples) > MAX_INDEX_TUPLES:
            chosen = rng.choice(len(tuples), size=MAX_INDEX_TUPLES, replace=False)
            tuples = [tuples[i] for i in sorted(chosen)]
        indices.append(tuple(tuples))
    law_points = tuple(tuple(float(x) for x in dyadic(rng, -2.0, 2.0, size=nh)) for _ in range(samples))
    t = float(dyadic(rng, 0.5, 2.0))
    u = TrigInput(offset=tuple(float(x) for x in dyadic(rng, -1.0, 1.0, size=m, denom=256)),
                  cos=tuple(float(x) for x in dyadic(rng, -1.0, 1.0, size=m, denom=256)),
                  sin=tuple(float(x) for x in dyadic(rng, -1.0, 1.0, size=m, denom=256)),
                  freq=tuple(float(x) for x in dyadic(rng, 0.5, 3.0, size=m, denom=256)))
    return SamplePoints(tuple(lags), tuple(indices), law_points, t, 0.5, u)


# --- one run ------------------------------------------------------------------------------------


def engine_kernel(kset: KernelSet) -> KernelCallable:
    """The float64 engine as ``kernel(n, *lags, **params) -> array (p,) + (m,) * n``.

    Any callable of this signature (a generated module, for example) can be verified instead.
    """
    cache: dict[tuple, Any] = {}

    def kernel(n: int, *lags: float, **params: float) -> numpy.ndarray:
        key = tuple(sorted(params.items()))
        if key not in cache:
            cache[key] = numeric_kernels(kset, params)
        nk = cache[key]
        return nk.moments[0].copy() if n == 0 else kernel_values(nk, list(lags))

    return kernel


class OURun:
    """Shared, cached computations of one verification run."""

    def __init__(self, kset: KernelSet, values: Mapping[str, float], dps: int, points: SamplePoints,
                 kernel: KernelCallable | None):
        self.kset = kset
        self.model = kset.model
        self.values = dict(values)
        self.dps = dps
        self.points = points
        self.kernel = kernel
        self.closed = ClosedForms(kset, values)
        self.required = float(min(30, dps - 20))
        self._models: dict[int, MpModel] = {}
        self._memo: dict[tuple, Any] = {}

    def oracle(self) -> MpModel:
        """The oracles' network, parsed from the spec's raw data (not the engine's model)."""
        if mpmath.mp.prec not in self._models:
            linearization = None
            if self.model.fixed_point is not None:  # a linearized model: its binary64 A, b define it
                linearization = (self.closed._matrix("A", self.model.A), self.closed._matrix("b", self.model.b))
            self._models[mpmath.mp.prec] = mp_model(self.model.spec, self.values, linearization=linearization)
        return self._models[mpmath.mp.prec]

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        return memoized(self._memo, key + (mpmath.mp.prec,), compute)

    def kernel_keys(self, first_only: bool = False) -> list[tuple[int, int, int, tuple[int, ...]]]:
        keys = []
        for n in range(1, self.kset.order + 1):
            for s in range(1 if first_only else len(self.points.lags[n - 1])):
                for q in range(self.model.n_outputs):
                    for idx in self.points.indices[n - 1]:
                        keys.append((n, s, q, idx))
        return keys

    def lags_mp(self, n: int, s: int) -> list[Any]:
        return [mpmath.mpf(x) for x in self.points.lags[n - 1][s]]

    def closed_kernel(self, key) -> Any:
        n, s, q, idx = key
        return self.memo(("closed",) + key, lambda: self.closed.kernel(q, idx, self.lags_mp(n, s)))

    def oracle_kernel(self, key) -> Any:
        n, s, q, idx = key
        return self.memo(("oracle",) + key, lambda: correlation_kernel(self.oracle(), q, idx, self.lags_mp(n, s)))

    def delta(self) -> mpmath.matrix:
        return self.memo(("delta",), lambda: forced_mean_shift(self.oracle(), self.points.u, mpmath.mpf(self.points.t)))

    def resummation_terms(self) -> list[list[Any]] | NoOracle:
        """terms[n][q] = eps^n c_n of the exact resummation (oracle)."""

        def compute():
            om, eps = self.oracle(), mpmath.mpf(self.points.eps)
            per_output = [resummation_coefficients(om, q, self.delta(), self.kset.order) for q in range(om.n_outputs)]
            return [[per_output[q][n] * eps**n for q in range(om.n_outputs)] for n in range(self.kset.order + 1)]

        return self.memo(("resum",), compute)

    def engine_series_terms(self, N: int | None = None) -> list[list[Any]] | NoOracle:
        """terms[n][q] = eps^n <M^(n), Z^(n)(t)> from the closed forms (Chebyshev simplex integrals)."""
        N = N or max(40, mpmath.mp.dps)

        def compute():
            t, eps = mpmath.mpf(self.points.t), mpmath.mpf(self.points.eps)
            C = self.closed._matrix("C", self.model.C)

            def v(s):
                return self.closed.propagator(t - s) * C * mpmath.matrix(self.points.u.mp(s))

            weights = []
            for n in range(self.kset.order + 1):
                weights.append({idx: [self.closed.moment(n, q, tuple(sorted(idx))) for q in range(self.model.n_outputs)]
                                for idx in itertools.product(range(self.model.n_hidden), repeat=n)})
            terms = simplex_contractions(v, weights, self.model.n_hidden, t, N)
            return [[x * eps**n for x in row] for n, row in enumerate(terms)]

        return self.memo(("engine_series", N), compute)


# --- comparison helpers -------------------------------------------------------------------------


def digits(error: Any, scale: Any, cap: float) -> float:
    if error == 0:
        return float(cap)
    return float(min(cap, max(0.0, -mpmath.log10(mpmath.mpf(error) / scale))))


def group_scales(groups: Mapping[Any, list[Any]]) -> dict[Any, Any]:
    """Per-group scale: the group's largest magnitude, or the overall largest if it is ~0."""
    maxima = {g: max((abs(v) for v in vals), default=mpmath.mpf(0)) for g, vals in groups.items()}
    overall = max(maxima.values(), default=mpmath.mpf(0)) or mpmath.mpf(1)
    tiny = overall * mpmath.mpf(10) ** (-(mpmath.mp.dps // 2))
    return {g: (m if m > tiny else overall) for g, m in maxima.items()}


def kernel_label(key) -> str:
    n, s, q, idx = key
    return f"R^({n})_{{f{q + 1};{','.join(str(k + 1) for k in idx)}}}(sample {s + 1})"


def work(dps: int):
    return mpmath.workdps(dps + GUARD)


def float64_series(nk, u: TrigInput, t: float, eps: float, order: int):
    """``series_terms`` asked for a tenth of the claim's tolerance; its warnings become notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = series_terms(nk, u.numpy, t, eps, order=order, tol=FLOAT64_SERIES_TOL / 10)
    notes = "".join(f"; engine warning: {w.message}" for w in caught)
    return result, notes


