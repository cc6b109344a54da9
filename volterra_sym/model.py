"""Stage 1: the symbolic SRNN of a validated spec.

    dh = (-Gamma h + a(W h + b) + eps C u) dt + sigma dB,      y = f(h)

For the linear activation the drift is ``F(h) = A h + b`` with ``A = W - Gamma``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import time
import warnings

import numpy
import sympy
from sympy.polys.domains import QQ
from sympy.polys.matrices import DomainMatrix

from .errors import DerivationError, InputError, SpecError
from .spec import X, DerivationSpec

#: largest rate (entry of A) the float64 routes are used for; sigma sigma^T up to its square
MAX_RATE = 1e15

__all__ = ["SymbolicModel", "build_model", "linearize", "with_values", "resolve_parameters", "check_stable", "generator_words",
           "check_noise_reaches", "numeric_matrix", "MAX_RATE"]


@dataclass(frozen=True, slots=True)
class SymbolicModel:
    """SymPy objects of one SRNN: drift, noise covariance, readout, symbols.

    ``affine`` says whether the drift is ``A h + b`` (a linear activation, or a nonlinear network
    linearized about its fixed point, whose ``fixed_point`` records h* and whose A, b are numbers).
    For a nonlinear drift ``A`` is the linear part W - Gamma only. Which engine computes the
    kernels of a model is decided by :mod:`volterra_sym.classes.registry` alone.
    """

    spec: DerivationSpec
    A: sympy.ImmutableMatrix  # W - Gamma (linear), or the Jacobian at h* (linearized)
    b: sympy.ImmutableMatrix
    C: sympy.ImmutableMatrix
    Sigma: sympy.ImmutableMatrix  # sigma sigma^T
    drift: sympy.ImmutableMatrix  # F(h)
    readout: tuple[sympy.Expr, ...]
    hidden: tuple[sympy.Symbol, ...]
    parameters: tuple[sympy.Symbol, ...]  # declaration order
    affine: bool = True  # the drift is A h + b
    fixed_point: tuple[float, ...] | None = None
    input_placement: str = "additive"  # or "activation": the input enters a(W h + b + eps C u)

    def __repr__(self) -> str:
        kind = "affine" if self.affine else "nonlinear"
        linearized = ", linearized" if self.fixed_point is not None else ""
        return (f"SymbolicModel({self.spec.name!r}: n={self.n_hidden} hidden, m={self.n_inputs} inputs, "
                f"p={self.n_outputs} outputs, activation {self.spec.activation}, {kind} drift{linearized})")

    @property
    def n_hidden(self) -> int:
        return len(self.hidden)

    @property
    def n_inputs(self) -> int:
        return self.C.shape[1]

    @property
    def n_outputs(self) -> int:
        return len(self.readout)

    def input_coefficients(self, j: int) -> tuple[sympy.Expr, ...]:
        """c_{j,i}(h) of the order-j input operator L_j(u) g = sum_i c_{j,i}(h) (C u)_i^j d_i g (theory.md 7).

        Additive input: c_1 = 1 and c_j = 0 for j >= 2. Input inside the activation:
        c_{j,i} = a^(j)((W h + b)_i) / j!, which is the same for a linear activation.
        """
        n = self.n_hidden
        if self.input_placement == "additive" or self.affine:
            value = sympy.Integer(1) if j == 1 else sympy.Integer(0)
            return (value,) * n
        spec = self.spec
        pre = spec.W * sympy.Matrix(self.hidden) + spec.b
        derivative = sympy.diff(spec.activation_expr, X, j) / sympy.factorial(j)
        return tuple(derivative.subs(X, pre[i]) for i in range(n))

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
    invariant density (linear: A Hurwitz and noise reaching every unit; nonlinear: Gamma stable)."""
    A = sympy.ImmutableMatrix(spec.W - spec.Gamma)
    Sigma = sympy.ImmutableMatrix((spec.sigma * spec.sigma.T).applyfunc(sympy.expand))
    h = sympy.Matrix(spec.hidden)
    linear = spec.activation == "linear"
    if linear:
        drift = A * h + spec.b
    else:
        pre = spec.W * h + spec.b
        drift = -spec.Gamma * h + pre.applyfunc(lambda z: spec.activation_expr.subs(X, z))
    model = SymbolicModel(
        spec=spec,
        A=A,
        b=spec.b,
        C=spec.C,
        Sigma=Sigma,
        drift=sympy.ImmutableMatrix(drift),
        readout=spec.readout,
        hidden=spec.hidden,
        parameters=tuple(spec.parameters.values()),
        affine=linear,
        input_placement=spec.input_placement,
    )
    values = resolve_parameters(spec, {})
    check_stable(model, values)
    if not linear and not _bounded(spec.activation_expr):
        warnings.warn(
            f"activation {spec.activation!r} is unbounded: an invariant density is not guaranteed, and "
            "linearized kernels or simulations may describe an explosive network",
            RuntimeWarning,
            stacklevel=2,
        )
    return model


def _bounded(activation: sympy.Expr) -> bool:
    """True when |a(x)| stays below a constant on the real line (checked at large |x|)."""
    free = activation.free_symbols - {X}
    probe = activation.subs({p: 1 for p in free})
    try:
        values = [abs(complex(probe.subs(X, x).evalf(20))) for x in (-1e6, -1e3, 1e3, 1e6)]
    except (TypeError, ValueError, OverflowError):
        return False
    return max(values) < 1e3


def linearize(model: SymbolicModel, values: Mapping[str, float] | None = None) -> SymbolicModel:
    """The OU model linearized about the stable fixed point h* (F(h*) = 0) at parameter ``values``.

    A = -Gamma + diag(a'(W h* + b)) W and F_lin(h) = A (h - h*); exact for a linear activation.
    Raises :class:`DerivationError` when no fixed point is found or none is stable.
    """
    spec = model.spec
    values = resolve_parameters(spec, values or {})
    subs = {spec.parameters[k]: sympy.Float(v, 30) for k, v in values.items()}
    h = model.hidden
    n = len(h)
    F = model.drift.subs(subs)
    J = F.jacobian(h)
    f_num = sympy.lambdify([h], list(F), modules="numpy", docstring_limit=0)
    j_num = sympy.lambdify([h], J, modules="numpy", docstring_limit=0)
    rng = numpy.random.default_rng(0)
    starts = [numpy.zeros(n)] + [rng.normal(scale=2.0, size=n) for _ in range(24)]
    found: list[numpy.ndarray] = []
    for x0 in starts:
        x = x0.copy()
        with numpy.errstate(all="ignore"):
            for _ in range(100):
                Fx = numpy.asarray(f_num(x), dtype=float)
                try:
                    step = numpy.linalg.solve(numpy.asarray(j_num(x), dtype=float), Fx)
                except numpy.linalg.LinAlgError:
                    break
                x = x - step
                if not numpy.all(numpy.isfinite(x)):
                    break
                if numpy.abs(step).max() < 1e-15 * max(1.0, numpy.abs(x).max()):
                    break
        if numpy.all(numpy.isfinite(x)) and numpy.abs(numpy.asarray(f_num(x), dtype=float)).max() < 1e-12:
            if not any(numpy.allclose(x, y, atol=1e-9) for y in found):
                found.append(x)
    stable = [x for x in found if numpy.linalg.eigvals(numpy.asarray(j_num(x), dtype=float)).real.max() < 0]
    if not found:
        raise DerivationError("linearization: no fixed point F(h*) = 0 found")
    if not stable:
        raise DerivationError(
            f"linearization: the fixed point(s) {[list(numpy.round(x, 6)) for x in found]} are unstable; "
            "the linearized network has no invariant measure"
        )
    if len(stable) > 1:
        warnings.warn(f"{len(stable)} stable fixed points; linearizing about the one nearest the origin",
                      RuntimeWarning, stacklevel=2)
    hstar = min(stable, key=lambda x: float(numpy.linalg.norm(x)))
    A_lin = sympy.ImmutableMatrix(n, n, lambda i, j: sympy.Rational(repr(float(numpy.asarray(j_num(hstar))[i, j]))))
    hs = sympy.Matrix([sympy.Rational(repr(float(v))) for v in hstar])
    b_lin = sympy.ImmutableMatrix(-(A_lin * hs))
    hv = sympy.Matrix(h)
    lin = SymbolicModel(
        spec=spec,
        A=A_lin,
        b=b_lin,
        C=sympy.ImmutableMatrix(_input_matrix(model, hstar, subs).applyfunc(lambda e: sympy.Rational(repr(float(e))))),
        Sigma=sympy.ImmutableMatrix(model.Sigma.subs(subs).applyfunc(lambda e: sympy.Rational(repr(float(e))))),
        drift=sympy.ImmutableMatrix(A_lin * hv + b_lin),
        readout=tuple(f.subs(subs) for f in model.readout),
        hidden=h,
        parameters=(),
        affine=True,
        fixed_point=tuple(float(v) for v in hstar),
    )
    try:
        check_stable(lin, values)
    except SpecError as err:
        raise DerivationError(f"linearization at h* = {list(numpy.round(hstar, 6))}: {err}") from err
    return lin


def _input_matrix(model: SymbolicModel, hstar: numpy.ndarray, subs: Mapping) -> sympy.Matrix:
    """C, or diag(a'(W h* + b)) C when the input enters the activation (its linearization at h*)."""
    C = model.C.subs(subs)
    if model.input_placement == "additive" or model.affine:
        return C
    at = {x: sympy.Float(float(v), 30) for x, v in zip(model.hidden, hstar)}
    slopes = [sympy.N(c.subs(subs).subs(at), 30) for c in model.input_coefficients(1)]
    return sympy.diag(*slopes) * C


def with_values(model: SymbolicModel, values: Mapping[str, float]) -> SymbolicModel:
    """The same network with its parameters replaced by ``values`` (exactly: a float is a binary
    rational), so that a symbolic derivation works on numbers only."""
    subs = {model.spec.parameters[k]: sympy.Rational(v) for k, v in values.items() if k in model.spec.parameters}

    def fix(matrix):
        return sympy.ImmutableMatrix(sympy.Matrix(matrix).subs(subs))

    return dataclasses.replace(model, A=fix(model.A), b=fix(model.b), C=fix(model.C), Sigma=fix(model.Sigma),
                               drift=fix(model.drift), readout=tuple(sympy.sympify(f).subs(subs) for f in model.readout),
                               parameters=())


def resolve_parameters(spec: DerivationSpec, overrides: Mapping[str, float]) -> dict[str, float]:
    """Defaults updated by ``overrides``; unknown names and non-finite values are refused."""
    values = dict(spec.defaults)
    for name, value in overrides.items():
        if name not in values:
            known = ", ".join(spec.defaults) or "none declared"
            raise InputError(f"unknown parameter {name!r} (parameters: {known})", field="params")
        try:
            number = float(value)
        except (TypeError, ValueError) as err:
            raise InputError(f"value {value!r} of {name} is not a number", field="params") from err
        if not numpy.isfinite(number):
            raise InputError(f"value of {name} is {number}; it must be finite", field="params")
        values[name] = number
    return values


def numeric_matrix(matrix: sympy.MatrixBase, model: SymbolicModel, values: Mapping[str, float]) -> numpy.ndarray:
    """Float64 array of a matrix with the parameters substituted."""
    subs = {model.spec.parameters[k]: sympy.Float(v, 30) for k, v in values.items()}
    out = numpy.array(matrix.subs(subs).evalf(30).tolist(), dtype=object)
    try:
        arr = out.astype(numpy.float64)
    except TypeError as err:
        raise InputError("matrix entries are not real at these parameter values",
                         field="params" if values != dict(model.spec.defaults) else model.spec.source) from err
    if not numpy.all(numpy.isfinite(arr)):
        raise InputError("matrix entries are not finite at these parameter values",
                         field="params" if values != dict(model.spec.defaults) else model.spec.source)
    return arr


def check_stable(model: SymbolicModel, values: Mapping[str, float]) -> None:
    """Raise unless the unperturbed network has a unique invariant density (see :func:`build_model`)."""
    if not model.affine:
        G = -numeric_matrix(model.spec.Gamma, model, values)
        if numpy.linalg.eigvals(G).real.max() >= 0:
            raise SpecError("no invariant measure: -Gamma must be Hurwitz (Gamma positive stable)",
                            key="[model].Gamma", path=model.spec.source)
        return
    A = numeric_matrix(model.A, model, values)
    Sigma = numeric_matrix(model.Sigma, model, values)
    for name, matrix, limit in (("A = W - Gamma", A, MAX_RATE), ("sigma sigma^T", Sigma, MAX_RATE**2)):
        largest = float(numpy.abs(matrix).max())
        if largest > limit:
            raise SpecError(
                f"{name} has an entry of magnitude {largest:.3g}; float64 kernels, series and simulations are "
                f"supported up to {limit:.0e} (rates up to {MAX_RATE:.0e} per unit time): rescale time or the units",
                key="[model].W, [model].Gamma" if name.startswith("A") else "[model].sigma",
                path=model.spec.source,
            )
    eig = numpy.linalg.eigvals(A)
    worst = eig[numpy.argmax(eig.real)]
    if worst.real >= -1e-12 * abs(worst) or worst.real >= 0:
        raise SpecError(
            f"no invariant measure: A = W - Gamma has an eigenvalue {worst:.6g} with real part >= 0 "
            "(A must be Hurwitz)",
            key="[model].W, [model].Gamma",
            path=model.spec.source,
        )
    check_noise_reaches(model, A, Sigma, values)


def check_noise_reaches(model: SymbolicModel, A: numpy.ndarray, Sigma: numpy.ndarray,
                        values: Mapping[str, float] | None = None) -> None:
    """S > 0 iff (A, sigma) is controllable: rank [sigma, A sigma, ..., A^(n-1) sigma] = n, decided in
    exact rational arithmetic when the entries are rational at ``values`` (float64 otherwise)."""
    n = A.shape[0]
    exact = _rational_matrices(model, values) if values is not None else None
    if exact is not None:
        A_q, sigma_q = exact
        blocks, block = [sigma_q], sigma_q
        for _ in range(n - 1):
            block = A_q * block
            blocks.append(block)
        controllable = DomainMatrix.from_Matrix(sympy.Matrix.hstack(*blocks)).convert_to(QQ).rank() == n
    else:
        eye = numpy.eye(n)
        S = numpy.linalg.solve(numpy.kron(eye, A) + numpy.kron(A, eye), -Sigma.reshape(-1)).reshape(n, n)
        eig = numpy.linalg.eigvalsh((S + S.T) / 2)
        controllable = bool(numpy.all(numpy.isfinite(eig)) and eig[-1] > 0 and eig[0] > 1e-14 * eig[-1])
    if not controllable:
        raise SpecError(
            "noise does not reach every unit: the stationary covariance S is singular "
            "((A, sigma) is not controllable)",
            key="[model].sigma",
            path=model.spec.source,
        )


def _rational_matrices(model: SymbolicModel, values: Mapping[str, float]):
    """(A, sigma) with exact rational entries at ``values`` (a float is an exact binary rational), or
    ``None`` when an entry is irrational there."""
    subs = {model.spec.parameters[k]: sympy.Rational(v) for k, v in values.items()}
    out = []
    for matrix in (model.A, model.spec.sigma):
        m = sympy.Matrix(matrix).subs(subs)
        if not all(e.is_Rational for e in m):
            return None
        out.append(m)
    return tuple(out)


def generator_words(model: SymbolicModel, output: int, k: int, degree: int, *, budget: float = 10.0,
                    max_size: int = 20_000) -> tuple[sympy.Expr, ...]:
    """The words C_k . grad L0^p f_q for p = 0..degree, stopping early when the next word would exceed
    ``max_size`` characters (predicted from the last growth) or ``budget`` seconds are spent. With the input
    inside the activation C_k . grad is sum_i a'((W h + b)_i) C_ik d_i (theory.md 7.1)."""
    slopes = model.input_coefficients(1)
    f = sympy.sympify(model.readout[output])
    words: list[sympy.Expr] = []
    sizes: list[int] = []
    start = time.perf_counter()
    for p in range(degree + 1):
        words.append(sympy.expand(sum((slopes[i] * model.C[i, k] * sympy.diff(f, x) for i, x in enumerate(model.hidden)),
                                      sympy.Integer(0))))
        sizes.append(len(str(words[-1])) + 1)
        if p == degree:
            break
        growth = sizes[-1] / sizes[-2] if len(sizes) > 1 else 1.0
        if sizes[-1] * max(growth, 1.0) > max_size or time.perf_counter() - start > budget:
            break
        f = sympy.expand(model.generator(f))
    return tuple(words)
