"""Which engine computes the kernels of a model: the one place that decides.

Engines are tried in :data:`EXACT_ENGINES` order, the first that applies answers; an engine asked
for by name must apply. ``"linearized"`` (an approximation) and ``"mc"`` (statistical: Monte-Carlo
estimates with standard errors) are used only when asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from ..errors import DerivationError, InputError
from ..model import SymbolicModel
from .engine import Engine

__all__ = ["ENGINES", "EXACT_ENGINES", "NoEngineError", "engine_class", "engine_for"]



class _Engines(Mapping):
    """name -> engine class, each module imported on first use (a query on a linear network never
    loads the gradient class's SymPy machinery)."""

    def __init__(self, where: Mapping[str, tuple[str, str]]):
        self._where = dict(where)

    def __getitem__(self, name: str) -> type[Engine]:
        module, cls = self._where[name]
        return getattr(importlib.import_module(module, __package__), cls)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


#: engine name -> (module relative to this package, class); the class's ``name`` is the key
ENGINES: Mapping[str, type[Engine]] = _Engines({
    "ou": (".ou.engine", "OUEngine"),
    "gradient": (".gradient.engine", "GradientEngine"),
    "grid": (".grid.engine", "GridEngine"),
    "linearized": (".linearized", "LinearizedEngine"),
    "mc": (".montecarlo.engine", "MonteCarloEngine"),
})
#: the default: the first of these that applies (closed forms, then the symbolic density, then the grid)
EXACT_ENGINES = ("ou", "gradient", "grid")


class NoEngineError(DerivationError):
    """No exact engine applies to the model; ``reasons`` maps each engine tried to why not."""

    def __init__(self, message: str, *, reasons: Mapping[str, str]):
        self.reasons = dict(reasons)
        super().__init__(message)


def engine_class(model: SymbolicModel, engine: str | None = None) -> type[Engine]:
    """The engine class for ``model``: ``engine`` by name, or the first exact engine that applies."""
    if engine is not None:
        if engine not in ENGINES:
            raise InputError(f"unknown engine {engine!r} (engines: {', '.join(ENGINES)})", field="engine")
        reason = ENGINES[engine].applies(model)
        if reason is not None:
            raise DerivationError(f"engine {engine!r} does not apply to this network: {reason}")
        return ENGINES[engine]
    reasons = {}
    for name in EXACT_ENGINES:
        reason = ENGINES[name].applies(model)
        if reason is None:
            return ENGINES[name]
        reasons[name] = reason
    why = "; ".join(f"{name}: {reason}" for name, reason in reasons.items())
    raise NoEngineError(f"no exact engine computes this network's kernels ({why}); "
                        "the 'linearized' engine gives an approximation", reasons=reasons)


def engine_for(model: SymbolicModel, params: Mapping[str, float] | None = None, *, engine: str | None = None,
               order: int | None = None, **options) -> Engine:
    """The engine answering for ``model`` at parameter ``params`` up to ``order`` (default: the spec's);
    ``options`` go to the engine's constructor (e.g. paths and seed of a statistical engine)."""
    return engine_class(model, engine)(model, params, order=order, **options)
