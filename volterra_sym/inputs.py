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

__all__ = ["InputSignal", "input_signal"]

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
