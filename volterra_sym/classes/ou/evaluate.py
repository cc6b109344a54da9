"""Float64 evaluation of a derived :class:`~volterra_sym.derive.KernelSet` at parameter values.

* :func:`numeric_kernels` substitutes the parameters once: A, mu, S, C, the moment tensors
  M^(n) (exact polynomial moments, or Gauss-Hermite for non-polynomial readouts) and e^{A tau}
  (:class:`~volterra_sym.matrix_exp.TrustedExponential`: spectral or Pade routes with error bounds,
  refusing a lag where float64 cannot be trusted to 1e-10 of the largest entry).
* :func:`kernel_values` contracts M^(n) with e^{A sigma_j} C, vectorised over lag arrays.
* :func:`series_terms` evaluates the truncated series at time t for inputs u(t) in O(steps):
  the nested simplex integrals are the states of linear filters (module docstring of
  :mod:`volterra_sym.series`).
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Callable

import numpy
import sympy

from .derive import KernelSet
from ...errors import DerivationError, InputError
from ...integrability import expectation_problem
from ...gaussian import GaussianMean, gauss_hermite_mean
from ...model import check_stable, numeric_matrix, resolve_parameters
from ...matrix_exp import TrustedExponential

__all__ = ["NumericKernels", "numeric_kernels", "kernel_values"]


@dataclass(frozen=True, slots=True)
class NumericKernels:
    """Float64 arrays of one model at fixed parameter values.

    ``moments[n]`` has shape (p,) + (n_hidden,) * n and is fully symmetric in its last n axes.
    """

    kset: KernelSet
    values: Mapping[str, float]
    A: numpy.ndarray
    C: numpy.ndarray
    mu: numpy.ndarray
    S: numpy.ndarray
    moments: tuple[numpy.ndarray, ...]
    propagator: Callable[[numpy.ndarray], numpy.ndarray]

    @property
    def order(self) -> int:
        return self.kset.order

    @property
    def stationary_mean(self) -> numpy.ndarray:
        return self.moments[0]


def numeric_kernels(kset: KernelSet, params: Mapping[str, float] | None = None) -> NumericKernels:
    """Substitute parameter values (defaults overridden by ``params``) and check stability there."""
    model = kset.model
    values = resolve_parameters(model.spec, params or {})
    check_stable(model, values)
    A = numeric_matrix(model.A, model, values)
    C = numeric_matrix(model.C, model, values)
    mu = numeric_matrix(kset.law.mean, model, values)[:, 0]
    S = numeric_matrix(kset.law.covariance, model, values)
    S = (S + S.T) / 2
    subs = {model.spec.parameters[k]: v for k, v in values.items()}
    p, n = model.n_outputs, model.n_hidden
    cache: dict[sympy.Expr, float] = {}

    def gaussian(node: GaussianMean) -> sympy.Float:
        if node not in cache:
            g = node.args[0].subs(subs)
            reason = expectation_problem(g, model.hidden, centre=mu, scale=numpy.sqrt(numpy.diag(S)))
            if reason is not None:
                raise DerivationError(f"the Gaussian expectation E[{g}] does not exist: the integrand {reason}")
            free = sorted(g.free_symbols & set(model.hidden), key=model.hidden.index)
            idx = [model.hidden.index(x) for x in free]
            func = sympy.lambdify(free, g, modules="numpy", docstring_limit=0)
            cache[node] = gauss_hermite_mean(func, mu[idx], S[numpy.ix_(idx, idx)], label=f"E[{node.args[0]}]")
        return sympy.Float(cache[node], 17)

    moments = []
    for k, per_output in enumerate(kset.moments):
        M = numpy.zeros((p,) + (n,) * k)
        for q, table in enumerate(per_output):
            for alpha, entry in table.items():
                if entry == 0:
                    continue
                value = entry.replace(lambda e: isinstance(e, GaussianMean), gaussian) if entry.has(GaussianMean) else entry
                number = complex(sympy.N(value.subs(subs), 20))
                if abs(number.imag) > 1e-12 * max(1.0, abs(number.real)) or not numpy.isfinite(number.real):
                    raise InputError(f"moment {alpha} of output {q} is not finite and real here", field="params")
                for perm in set(itertools.permutations(alpha)):
                    M[(q,) + perm] = number.real
        moments.append(M)

    # e^{A tau}: error-bounded float64 routes from the exact drift (volterra_sym.matrix_exp); a lag
    # where float64 cannot be trusted is refused. The closed form is for display, verification and
    # code generation: evaluated as written in float64 it can overflow or cancel.
    exact = model.A.subs({model.spec.parameters[k]: sympy.Float(v, 60) for k, v in values.items()})
    propagator = TrustedExponential(A, exact)

    return NumericKernels(kset=kset, values=values, A=A, C=C, mu=mu, S=S, moments=tuple(moments),
                          propagator=propagator)


def kernel_values(nk: NumericKernels, lags: Sequence[numpy.typing.ArrayLike]) -> numpy.ndarray:
    """R^(n)(lags) for n = len(lags), shape broadcast(lags) + (p,) + (m,) * n.

    Axis j of the trailing (m,) * n block is the input index k_j paired with lag tau_j
    (tau_1 is the lag from the latest perturbation to the observation time).
    """
    n = len(lags)
    if n > nk.order:
        raise InputError(f"order {n} exceeds the derived order {nk.order}; derive to order {n} or more", field="order")
    if n == 0:
        return nk.moments[0].copy()
    arrays = [numpy.asarray(t, dtype=numpy.float64) for t in lags]
    for j, t in enumerate(arrays):
        if not numpy.all(numpy.isfinite(t)) or numpy.any(t < 0):
            raise InputError(f"lag tau_{j + 1} must be finite and >= 0", field="lags")
    arrays = numpy.broadcast_arrays(*arrays)
    with numpy.errstate(over="ignore"):
        sigma = numpy.cumsum(numpy.stack(arrays), axis=0)
    if not numpy.all(numpy.isfinite(sigma)):
        raise InputError("the sum of the lags overflows", field="lags")
    directions = [nk.propagator(sigma[j]) @ nk.C for j in range(n)]  # (..., n_hidden, m)
    letters = string.ascii_letters
    hid, inp = letters[:n], letters[n : 2 * n]
    spec = "z" + hid + "," + ",".join(f"...{hid[j]}{inp[j]}" for j in range(n)) + "->...z" + inp
    return numpy.einsum(spec, nk.moments[n], *directions, optimize=True)
