"""Input signals u(t) from expression text: one expression in ``t`` per input channel.

Expressions go through the whitelist parser of :mod:`volterra_sym.expressions` (never evaluated);
they may use ``t``, the spec's parameters (at the given values) and the parser's functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy
import sympy

from .errors import InputError, SpecError
from .expressions import parse_expression

__all__ = ["InputSignal", "input_signal", "input_rate", "check_input_rate", "MAX_RATE_TIME"]

InputSignal = Callable[[numpy.ndarray], numpy.ndarray]
T = sympy.Symbol("t", real=True)


def input_signal(texts: Sequence[str], *, n_inputs: int | None = None,
                 parameters: Mapping[str, sympy.Symbol] | None = None,
                 values: Mapping[str, float] | None = None) -> InputSignal:
    """``u(times) -> (len(times), m)`` float64 from ``m`` expressions.

    ``n_inputs`` (when given) must equal the number of expressions; ``parameters`` maps the spec's
    parameter names to their symbols and ``values`` gives their values. The callable raises
    :class:`InputError` (field ``"inputs"``) where the input is not finite or not real.
    """
    texts = list(texts)
    if n_inputs is not None and len(texts) != n_inputs:
        raise InputError(f"{len(texts)} input expression(s) for a model with {n_inputs} input channel(s)",
                         field="inputs")
    if not texts:
        raise InputError("give one input expression per input channel", field="inputs")
    parameters = dict(parameters or {})
    subs = {parameters[k]: v for k, v in (values or {}).items() if k in parameters}
    names = {"t": T, **parameters}
    funcs = []
    for c, text in enumerate(texts):
        try:
            expr = parse_expression(text, names, key=f"inputs[{c + 1}]")
        except SpecError as err:
            raise InputError(err.reason, field=f"inputs[{c + 1}]") from err
        funcs.append(sympy.lambdify([T], expr.subs(subs), modules="numpy", docstring_limit=0))

    def u(times: numpy.ndarray) -> numpy.ndarray:
        times = numpy.asarray(times, dtype=numpy.float64)
        try:
            with numpy.errstate(all="ignore"):
                cols = [numpy.broadcast_to(numpy.asarray(f(times), dtype=numpy.float64), times.shape) for f in funcs]
        except (OverflowError, ValueError, TypeError) as err:
            raise InputError(f"the input cannot be evaluated in float64 ({err})", field="inputs") from err
        out = numpy.stack(cols, axis=-1)
        if not numpy.all(numpy.isfinite(out)):
            raise InputError("the input is not finite on the time grid", field="inputs")
        return out

    return u


#: inputs faster than this many radians over the horizon are refused by the adaptive integrators
#: (the OU series needs ~500 RK4 steps per radian: 2^18 steps, its cap, resolve about 500)
MAX_RATE_TIME = 500.0
_PROBES = (1 << 14, (1 << 14) + 4099)  # two grids, so that no input aliases to a slow one on both


def input_rate(u: InputSignal, t: float) -> float:
    """An estimate of the fastest rate of the input on [0, t] (radians per unit time):
    ``sqrt(max |u''| / max |u|)`` from second differences on two fine grids; ``inf`` when the input is not
    resolved even there (it varies faster than the probe grids can see).

    >>> u = input_signal(["sin(50*t)"])
    >>> round(input_rate(u, 1.0))
    50
    """
    if not t > 0:
        return 0.0
    worst = 0.0
    for samples in _PROBES:
        h = t / samples
        if not h > 0 or not numpy.isfinite(h):
            return 0.0 if not h > 0 else float("inf")
        grid = numpy.linspace(0.0, t, samples + 1)
        U = numpy.asarray(u(grid), dtype=numpy.float64)
        scale = float(numpy.abs(U).max())
        if scale == 0.0:
            continue
        # rate = sqrt(max|u''| / max|u|), with the second difference divided by h once at a time
        second = float(numpy.abs(U[2:] - 2.0 * U[1:-1] + U[:-2]).max()) / scale
        rate_h = second**0.5  # = rate * h
        if rate_h > 0.5:
            return float("inf")
        worst = max(worst, rate_h / h)
    return worst


def check_input_rate(u: InputSignal, t: float, *, limit: float = MAX_RATE_TIME) -> float:
    """Refuse, before any integration, an input whose rate x ``t`` exceeds ``limit``; returns the rate."""
    rate = input_rate(u, t)
    if rate * t > limit:
        how = "is not resolved by 16384 samples" if rate == float("inf") else f"varies at a rate of ~{rate:.3g} per unit time"
        raise InputError(f"the input {how}: over t = {t:g} that is more than {limit:g} radians, beyond what the "
                         "adaptive integrator resolves in its step budget (sample it and use a generated module's "
                         "series(), or shorten t)", field="inputs")
    return rate
