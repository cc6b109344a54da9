"""One verification run of the grid engine: sample points, the engine's answers and the cached oracles."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy

from ...classes.grid.symbolic import generator_words
from ..oracles.forward_density import DensityMeans, ForwardOracle, forward_oracle
from ..oracles.trig_input import TrigInput
from ..results import MAX_INDEX_TUPLES, KernelCallable, dyadic, memoized

__all__ = ["GridRun", "TARGET_DIGITS", "TAYLOR_DEGREE", "TAYLOR_LAGS", "SERIES_DIGITS", "DEFAULT_MC_PATHS",
           "MC_SIGMAS"]

#: the accuracy the engine promises (relative): 1e-8 with one or two hidden units, 1e-5 with three
TARGET_DIGITS = {1: 8.0, 2: 8.0, 3: 5.0}
#: Taylor degree of the small-lag claim and the lags compared, per number of hidden units
TAYLOR_DEGREE = {1: 5, 2: 3, 3: 2}
TAYLOR_LAGS = {1: (0.0, 2.0**-10, 2.0**-8, 2.0**-6), 2: (0.0, 2.0**-12, 2.0**-10, 2.0**-9), 3: (0.0, 2.0**-12, 2.0**-10)}
#: simplex quadrature of the kernels against the Magnus integration of the cascade
SERIES_DIGITS = 8.0
DEFAULT_MC_PATHS = 20_000
MC_SIGMAS = 4.0


class GridRun:
    """Shared, cached computations of one grid-engine verification run."""

    def __init__(self, engine, *, samples: int, seed: int, kernel: KernelCallable | None, mc_paths: int):
        self.engine = engine
        self.model = engine.model
        self.values = dict(engine.values)
        self.order, self.samples, self.seed = engine.order, samples, seed
        self.mc_paths = mc_paths
        self.n = self.model.n_hidden
        self.target = TARGET_DIGITS[self.n]
        self.kernel = kernel
        self._memo: dict[tuple, Any] = {}
        rng = numpy.random.default_rng(seed)
        m = self.model.n_inputs
        self.lags, self.indices = [], []
        for n in range(1, self.order + 1):
            self.lags.append(tuple(tuple(float(x) for x in dyadic(rng, 0.125, 2.0, size=n)) for _ in range(samples)))
            tuples = list(itertools.product(range(m), repeat=n))
            if len(tuples) > MAX_INDEX_TUPLES:
                chosen = rng.choice(len(tuples), size=MAX_INDEX_TUPLES, replace=False)
                tuples = [tuples[i] for i in sorted(chosen)]
            self.indices.append(tuple(tuples))
        self.t = float(dyadic(rng, 0.5, 2.0))
        self.eps = 1.0
        self.u = TrigInput(offset=tuple(float(x) for x in dyadic(rng, -1.0, 1.0, size=m, denom=256)),
                           cos=tuple(float(x) for x in dyadic(rng, -1.0, 1.0, size=m, denom=256)),
                           sin=tuple(float(x) for x in dyadic(rng, -1.0, 1.0, size=m, denom=256)),
                           freq=tuple(float(x) for x in dyadic(rng, 0.5, 3.0, size=m, denom=256)))

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        return memoized(self._memo, key, compute)

    def describe(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for n, (per_order, idx) in enumerate(zip(self.lags, self.indices), start=1):
            for lags in per_order:
                out.append({"kind": "kernel", "order": n, "lags": list(lags)})
            out.append({"kind": "indices", "order": n, "indices": [list(i) for i in idx]})
        out.append({"kind": "monte_carlo", "t": self.t, "eps": self.eps, "u": self.u.describe(),
                    "paths": self.mc_paths})
        rep = self.engine.representation
        out.append({"kind": "grid", "nodes_per_axis": rep.op.N, "unknowns": rep.op.size,
                    "relative_error": float(rep.relative_error), "seconds": round(rep.seconds, 3)})
        return out

    def kernel_value(self, n: int, lags: tuple) -> numpy.ndarray:
        """The engine's (or the given callable's) R^(n) at one lag tuple: (p,) + (m,) * n."""
        def compute():
            if self.kernel is not None:
                return numpy.asarray(self.kernel(n, *lags, **self.values), dtype=numpy.float64)
            if n == 0:
                return self.engine.stationary_mean().value
            return self.engine.kernel([numpy.asarray(t) for t in lags]).value
        return self.memo(("kernel", n, lags), compute)

    def words(self) -> dict[tuple[int, int], tuple]:
        """The generator words C_k . grad L0^p f_q, p = 0..TAYLOR_DEGREE (SymPy)."""
        degree = TAYLOR_DEGREE[self.n]
        return self.memo(("words",), lambda: {
            (q, k): generator_words(self.model, q, k, degree, budget=20.0)
            for q in range(self.model.n_outputs) for k in range(self.model.n_inputs)})

    def input_slopes(self, nodes: numpy.ndarray) -> numpy.ndarray | None:
        """c_{1,i}(h) = a'((W h + b)_i) at ``nodes`` (n, M) for an input inside a nonlinear activation (SymPy,
        theory.md 7.1), ``None`` for an additive input."""
        if self.engine.inside is None:
            return None
        import sympy

        from ..oracles.gaussian_path import parameter_substitution

        subs = parameter_substitution(self.model, self.values)
        rows = list(nodes)
        with numpy.errstate(all="ignore"):
            return numpy.stack([numpy.broadcast_to(numpy.asarray(
                sympy.lambdify(self.model.hidden, sympy.sympify(c).subs(subs), modules="numpy")(*rows),
                dtype=numpy.float64), nodes.shape[1:]) for c in self.model.input_coefficients(1)])

    def forward(self) -> ForwardOracle:
        """The forward Fokker-Planck solutions (solved once per run)."""
        return self.memo(("forward",), lambda: forward_oracle(self.engine.network))

    def means(self, exprs: tuple) -> DensityMeans:
        """<g>_inf of SymPy expressions under the forward oracle's density, with their accuracy."""
        import sympy

        from ..oracles.gaussian_path import parameter_substitution

        def compute():
            subs = parameter_substitution(self.model, self.values)
            funcs = [sympy.lambdify(self.model.hidden, sympy.sympify(e).subs(subs), modules="numpy") for e in exprs]

            def values(nodes):
                with numpy.errstate(all="ignore"):
                    rows = list(nodes)
                    return numpy.stack([numpy.broadcast_to(numpy.asarray(f(*rows), dtype=numpy.float64),
                                                           nodes.shape[1:]) for f in funcs], axis=-1)

            return self.forward().means(values)

        return self.memo(("means", exprs), compute)
