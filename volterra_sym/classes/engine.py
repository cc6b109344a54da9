"""The engine interface: what every SRNN class answers, and the values it answers with.

An engine computes, for one model at fixed parameter values and up to a truncation order:

* the stationary mean <f>_inf;
* kernels R^(n) at arrays of lags (theory.md 3), shape broadcast(lags) + (p,) + (m,) * n;
* the series terms of a given input at a time t, and on a uniform time grid;
* the all-order driven mean E f(h_t) where the class has one (``has_driven_mean``).

Deterministic engines attach an error estimate to their answers, statistical ones (Monte Carlo) a
standard error of the same shape as the value. Engines are built cheaply; heavy work (a symbolic
derivation, a spectral representation) happens on first use and is kept. Verification claims and
code generation are keyed by :attr:`Engine.name` in their own packages, and the choice of an
engine for a model is made in :mod:`volterra_sym.classes.registry` alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy

from ..errors import DerivationError, InputError, SpecError
from ..integrability import expectation_problem
from ..model import SymbolicModel, check_stable, resolve_parameters
from ..spec import check_order

__all__ = ["Engine", "Estimate", "SeriesResult", "InputSignal", "check_lags", "check_composition", "check_readouts",
           "zero_kernel"]

InputSignal = Callable[[numpy.ndarray], numpy.ndarray]


@dataclass(frozen=True, slots=True)
class Estimate:
    """A computed array with its accuracy.

    ``error`` is the engine's estimate of the absolute error of ``value`` (deterministic engines;
    ``None`` when the method is exact up to rounding); ``stderr`` is a standard error with the
    shape of ``value`` (statistical engines); ``info`` holds how a statistical answer was obtained
    (paths, seed, time step, control variate and its measured variance reduction).
    """

    value: numpy.ndarray
    engine: str
    error: float | None = None
    stderr: numpy.ndarray | None = None
    info: Mapping[str, Any] | None = None

    def __repr__(self) -> str:
        value = " ".join(numpy.array2string(numpy.asarray(self.value), precision=6, threshold=12, edgeitems=2,
                                            separator=", ").split())
        accuracy = (f"error={self.error:.1e}" if self.error is not None
                    else "stderr=..." if self.stderr is not None else "error=None (exact up to rounding)")
        return f"Estimate(engine={self.engine!r}, shape={numpy.shape(self.value)}, {accuracy}, value={value})"


@dataclass(frozen=True, slots=True)
class SeriesResult:
    """``terms[n]`` (shape (p,)) is the n-th order term eps^n * (n-fold simplex integral) at time t."""

    t: float
    eps: float
    terms: numpy.ndarray  # (order + 1, p)
    steps: int
    error_estimate: float
    engine: str = ""
    stderr: numpy.ndarray | None = None  # statistical engines: same shape as terms
    info: Mapping[str, Any] | None = None  # statistical engines: how the terms were estimated

    @property
    def total(self) -> numpy.ndarray:
        return self.terms.sum(axis=0)

    def __repr__(self) -> str:
        total = " ".join(numpy.array2string(self.total, precision=8, separator=", ").split())
        return (f"SeriesResult(engine={self.engine!r}, t={self.t:g}, eps={self.eps:g}, order {len(self.terms) - 1}, "
                f"total={total}, error_estimate={self.error_estimate:.1e})")


def check_composition(lags: Sequence, composition: Sequence[int] | None, order: int) -> tuple[int, ...]:
    """The composition of a kernel query (default all ones), checked against the lags and ``order``."""
    if composition is None:
        composition = (1,) * len(lags)
    try:
        composition = tuple(int(j) for j in composition)
    except (TypeError, ValueError) as err:
        raise InputError("expected a sequence of positive integers", field="composition") from err
    if len(composition) != len(lags):
        raise InputError(f"{len(composition)} entries for {len(lags)} lag(s): give one per lag", field="composition")
    if any(j < 1 for j in composition):
        raise InputError("entries must be >= 1", field="composition")
    if sum(composition) > order:
        raise InputError(f"order {sum(composition)} exceeds the derived order {order}", field="composition")
    return composition


def zero_kernel(lags: Sequence[numpy.ndarray], p: int, m: int, n: int) -> numpy.ndarray:
    """The zero kernel array of order n for these lags."""
    shape = numpy.broadcast_shapes(*(numpy.shape(t) for t in lags))
    return numpy.zeros(shape + (p,) + (m,) * n)


def check_lags(lags: Sequence[numpy.typing.ArrayLike]) -> list[numpy.ndarray]:
    """Float64 arrays of finite lags >= 0 (field ``"lags"``)."""
    arrays = [numpy.asarray(t, dtype=numpy.float64) for t in lags]
    for j, t in enumerate(arrays):
        if not numpy.all(numpy.isfinite(t)) or numpy.any(t < 0):
            raise InputError(f"lag tau_{j + 1} must be finite and >= 0", field="lags")
    return arrays


def check_readouts(model: SymbolicModel, values: Mapping[str, float]) -> None:
    """Refuse a readout whose mean under the stationary law does not exist at ``values`` (a pole, a
    log of a non-positive quantity, ...: :func:`volterra_sym.integrability.expectation_problem`); every
    engine's law has full support, so this holds at every order, 0 included."""
    subs = {model.spec.parameters[k]: v for k, v in values.items() if k in model.spec.parameters}
    for q, f in enumerate(model.readout):
        reason = expectation_problem(f, model.hidden, values=subs)
        if reason is not None:
            where = "" if values == dict(model.spec.defaults) else " at these parameter values"
            raise SpecError(f"E[{_short(f)}] does not exist under the stationary law{where}: the readout {reason}",
                            key=f"[model].readout[{q}]", path=model.spec.source)


def _short(expr) -> str:
    text = str(expr)
    return text if len(text) <= 60 else text[:57] + "..."


class Engine(ABC):
    """Kernels, series and driven mean of one model at fixed parameter values (see module docstring).

    Subclasses set ``name`` (a registry key), ``method`` (one line: how it computes), ``kind``
    (``"exact"``: the network's own kernels to a stated accuracy; ``"approximate"``: another
    network's, e.g. a linearization; ``"statistical"``: with standard errors) and implement
    :meth:`applies` and the abstract methods.
    """

    name: ClassVar[str]
    method: ClassVar[str]
    kind: ClassVar[str] = "exact"
    has_driven_mean: ClassVar[bool] = False

    def __init__(self, model: SymbolicModel, params: Mapping[str, float] | None = None, *,
                 order: int | None = None):
        reason = self.applies(model)
        if reason is not None:
            raise DerivationError(f"engine {self.name!r} does not apply: {reason}")
        self.model = model
        self.values = resolve_parameters(model.spec, params or {})
        order = model.spec.order if order is None else order
        self.order = check_order(order, n_hidden=model.n_hidden, key="order")
        check_readouts(model, self.values)

    def check(self) -> None:
        """Refuse parameter values at which the unperturbed network has no invariant law (cheap)."""
        check_stable(self.model, self.values)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model.spec.name!r} order={self.order}>"

    @classmethod
    @abstractmethod
    def applies(cls, model: SymbolicModel) -> str | None:
        """``None`` when this engine computes the model's kernels, else the reason it does not."""

    @abstractmethod
    def stationary_mean(self) -> Estimate:
        """<f>_inf, shape (p,)."""

    @abstractmethod
    def kernel(self, lags: Sequence[numpy.typing.ArrayLike], composition: Sequence[int] | None = None) -> Estimate:
        """R^(n)(lags), shape broadcast(lags) + (p,) + (m,) * n.

        ``composition`` (j_1, ..., j_r), one positive entry per lag, n = j_1 + ... + j_r <= order,
        addresses the contact kernels of an input inside the activation (theory.md 7): j_i inputs act
        together at the i-th latest time, and the n input axes are grouped by time (the first j_1
        belong to tau_1). The default, all ones, is the time-ordered kernel of order len(lags).
        """

    @abstractmethod
    def series(self, u: InputSignal, t: float, eps: float, *, order: int | None = None,
               tol: float | None = None) -> SeriesResult:
        """Terms 0..order of the series at time t for the input ``u(times) -> (len(times), m)``
        (``tol``: the relative accuracy asked of a deterministic engine; default its own)."""

    def series_on_grid(self, u: InputSignal, times: numpy.typing.ArrayLike, *, order: int | None = None,
                       tol: float = 1e-8) -> numpy.ndarray:
        """Series terms at eps = 1 at every time of a grid, shape (T, order + 1, p)."""
        order = self.check_order(order)
        return numpy.stack([self.series(u, float(t), 1.0, order=order, tol=tol).terms for t in numpy.asarray(times)])

    def driven_mean(self, u: InputSignal, times: numpy.typing.ArrayLike, eps: float, *,
                    tol: float = 1e-10) -> Estimate:
        """E f(h_t) of the driven network, all orders, at each of ``times``: shape (T, p)."""
        raise DerivationError(f"the {self.name} engine has no all-order driven mean")

    def check_order(self, order: int | None) -> int:
        """``order`` (default: the engine's) if it is within the engine's order."""
        order = self.order if order is None else order
        if isinstance(order, bool) or not isinstance(order, int) or not 0 <= order <= self.order:
            raise InputError(f"order {order} is outside 0..{self.order} (the derived order)", field="order")
        return order

    def coarsened(self, tolerance: float) -> Engine:
        """An engine of the same class answering within ``tolerance`` (relative) of this one, possibly
        cheaper (a spectral engine drops modes); the default is the engine itself."""
        return self

    def stationary_sampler(self) -> Callable[[numpy.random.Generator, int], numpy.ndarray] | None:
        """An exact sampler of the invariant law, ``sampler(rng, size) -> (size, n)`` (picklable), for
        the simulator's ``start=``; ``None`` when the engine knows no such sampler (the default; the
        simulator starts an affine network exactly by itself)."""
        return None

    def affine_kernels(self):
        """The float64 closed forms (:class:`~volterra_sym.classes.ou.evaluate.NumericKernels`) of the
        affine network this engine answers with, or ``None`` (no drift matrix: the response-feature
        representation and the exponential basis need one)."""
        return None
