"""Stage 1: the symbolic SRNN of a validated spec.

    dh = (-Gamma h + a(W h + b) + eps C u) dt + sigma dB,      y = f(h)

For the linear activation the drift is ``F(h) = A h + b`` with ``A = W - Gamma``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy
import sympy

from .errors import InputError, SpecError
from .spec import DerivationSpec

__all__ = ["SymbolicModel", "build_model", "resolve_parameters", "check_stable", "check_noise_reaches"]


@dataclass(frozen=True, slots=True)
class SymbolicModel:
    """SymPy objects of one SRNN: drift matrix, noise covariance, readout, symbols."""

    spec: DerivationSpec
    A: sympy.ImmutableMatrix  # W - Gamma
    b: sympy.ImmutableMatrix
    C: sympy.ImmutableMatrix
    Sigma: sympy.ImmutableMatrix  # sigma sigma^T
    drift: sympy.ImmutableMatrix  # F(h) = A h + b
    readout: tuple[sympy.Expr, ...]
    hidden: tuple[sympy.Symbol, ...]
    parameters: tuple[sympy.Symbol, ...]  # declaration order

    @property
    def n_hidden(self) -> int:
        return len(self.hidden)

    @property
    def n_inputs(self) -> int:
        return self.C.shape[1]

    @property
    def n_outputs(self) -> int:
        return len(self.readout)

    def generator(self, g: sympy.Expr) -> sympy.Expr:
        """``L0 g = F . grad g + 1/2 Sigma : hess g`` (theory.md 2)."""
        h = self.hidden
        grad = [sympy.diff(g, x) for x in h]
        first = sum((self.drift[i] * grad[i] for i in range(len(h))), sympy.Integer(0))
        second = sum(
            (self.Sigma[i, j] * sympy.diff(grad[i], h[j]) for i in range(len(h)) for j in range(len(h))),
            sympy.Integer(0),
        )
        return first + second / 2


def build_model(spec: DerivationSpec) -> SymbolicModel:
    """Build the symbolic model and check, at the default parameter values, that it has an
    invariant density (A Hurwitz, noise reaching every unit)."""
    if spec.activation != "linear":
        raise SpecError(f"activation {spec.activation!r} has no closed-form kernels", key="[model].activation",
                        path=spec.source)
    A = sympy.ImmutableMatrix(spec.W - spec.Gamma)
    Sigma = sympy.ImmutableMatrix((spec.sigma * spec.sigma.T).applyfunc(sympy.expand))
    h = sympy.Matrix(spec.hidden)
    model = SymbolicModel(
        spec=spec,
        A=A,
        b=spec.b,
        C=spec.C,
        Sigma=Sigma,
        drift=sympy.ImmutableMatrix(A * h + spec.b),
        readout=spec.readout,
        hidden=spec.hidden,
        parameters=tuple(spec.parameters.values()),
    )
    values = resolve_parameters(spec, {})
    check_stable(model, values)
    return model


def resolve_parameters(spec: DerivationSpec, overrides: Mapping[str, float]) -> dict[str, float]:
    """Defaults updated by ``overrides``; unknown names and non-finite values are refused."""
    values = dict(spec.defaults)
    for name, value in overrides.items():
        if name not in values:
            known = ", ".join(spec.defaults) or "none declared"
            raise InputError(f"unknown parameter {name!r} (parameters: {known})", field="--param")
        try:
            number = float(value)
        except (TypeError, ValueError) as err:
            raise InputError(f"value {value!r} of {name} is not a number", field="--param") from err
        if not numpy.isfinite(number):
            raise InputError(f"value of {name} is {number}; it must be finite", field="--param")
        values[name] = number
    return values


def numeric_matrix(matrix: sympy.MatrixBase, model: SymbolicModel, values: Mapping[str, float]) -> numpy.ndarray:
    """Float64 array of a matrix with the parameters substituted."""
    subs = {model.spec.parameters[k]: sympy.Float(v, 30) for k, v in values.items()}
    out = numpy.array(matrix.subs(subs).evalf(30).tolist(), dtype=object)
    try:
        arr = out.astype(numpy.float64)
    except TypeError as err:
        raise InputError("matrix entries are not real at these parameter values", field="--param") from err
    if not numpy.all(numpy.isfinite(arr)):
        raise InputError("matrix entries are not finite at these parameter values", field="--param")
    return arr


def check_stable(model: SymbolicModel, values: Mapping[str, float]) -> None:
    """Raise unless A is Hurwitz and the stationary covariance is positive definite."""
    A = numeric_matrix(model.A, model, values)
    eig = numpy.linalg.eigvals(A)
    worst = eig[numpy.argmax(eig.real)]
    if worst.real >= -1e-12 * max(1.0, numpy.abs(A).max()):
        raise SpecError(
            f"no invariant measure: A = W - Gamma has an eigenvalue {worst:.6g} with real part >= 0 "
            "(A must be Hurwitz)",
            key="[model].W, [model].Gamma",
            path=model.spec.source,
        )
    check_noise_reaches(model, A, numeric_matrix(model.Sigma, model, values))


def check_noise_reaches(model: SymbolicModel, A: numpy.ndarray, Sigma: numpy.ndarray) -> None:
    """S > 0 iff (A, sigma) is controllable; test the controllability Gramian's rank."""
    n = A.shape[0]
    blocks = [Sigma]
    for _ in range(n - 1):
        blocks.append(A @ blocks[-1])
    K = numpy.hstack(blocks)
    s = numpy.linalg.svd(K, compute_uv=False)
    if s[0] == 0.0 or s[-1] <= 1e-10 * s[0]:
        raise SpecError(
            "noise does not reach every unit: the stationary covariance S is singular "
            "((A, sigma) is not controllable)",
            key="[model].sigma",
            path=model.spec.source,
        )
