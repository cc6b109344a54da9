"""A float64 SRNN at fixed parameter values: drift, readout, and its (linearized) Gaussian law.

The simulator (:mod:`volterra_sym.simulate`) and the Monte-Carlo estimators step this network. For
an affine drift the stationary law N(mu, S) is exact and :func:`ou_transition` gives the exact
step; for a nonlinear one the law of the network linearized about its stable fixed point sets the
time scales and the start of the burn-in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy
import sympy

from .errors import DerivationError, InputError, SpecError
from .model import SymbolicModel, linearize, numeric_matrix, resolve_parameters
from .propagator import expm
from .spec import X

__all__ = ["NumericSRNN", "numeric_srnn", "stationary_covariance", "ou_transition", "sqrtm_psd"]


@dataclass(frozen=True, slots=True)
class NumericSRNN:
    """Float64 arrays of one SRNN at fixed parameter values (see :func:`numeric_srnn`).

    ``A``, ``mu`` and ``S`` are the drift matrix, stationary mean and covariance of an affine model
    (exact law), or of the linearization about ``fixed_point`` for a nonlinear one (``None`` when
    no stable fixed point was found). For a linear model ``Gamma`` is -A and ``W`` is 0.
    """

    affine: bool  # drift A h + b: exact OU transitions
    Gamma: numpy.ndarray  # (n, n)
    W: numpy.ndarray  # (n, n)
    b: numpy.ndarray  # (n,)
    C: numpy.ndarray  # (n, m)
    sigma: numpy.ndarray  # (n, r)
    activation: Callable[[numpy.ndarray], numpy.ndarray]
    readout: tuple[Callable[..., numpy.ndarray], ...]
    A: numpy.ndarray | None
    mu: numpy.ndarray | None
    S: numpy.ndarray | None
    fixed_point: numpy.ndarray | None
    relaxation_time: float
    fastest_rate: float
    input_inside: bool = False  # the input enters the activation: a(W h + b + eps C u)

    @property
    def n_hidden(self) -> int:
        return self.Gamma.shape[0]

    @property
    def n_inputs(self) -> int:
        return self.C.shape[1]

    @property
    def n_outputs(self) -> int:
        return len(self.readout)

    def drift(self, h: numpy.ndarray, forcing: numpy.ndarray | None = None) -> numpy.ndarray:
        """The driven drift on states of shape (..., n, paths), ``forcing`` = eps C u: F(h) + forcing,
        or -Gamma h + a(W h + b + forcing) when the input enters the activation; a new array."""
        if self.affine:
            out = self.A @ h
            out += self.b[:, None]
        else:
            z = self.W @ h
            z += self.b[:, None]
            if self.input_inside and forcing is not None:
                z += forcing
            out = self.activation(z)
            out -= self.Gamma @ h
            if self.input_inside:
                return out
        if forcing is not None:
            out += forcing
        return out

    def output(self, h: numpy.ndarray) -> list[numpy.ndarray]:
        """f_q(h) for each output q, each of shape h.shape without the unit axis -2."""
        rows = [h[..., i, :] for i in range(self.n_hidden)]
        shape = rows[0].shape
        return [numpy.broadcast_to(numpy.asarray(f(*rows), dtype=numpy.float64), shape) for f in self.readout]


def stationary_covariance(A: numpy.ndarray, Sigma: numpy.ndarray) -> numpy.ndarray:
    """S with A S + S A^T + Sigma = 0, by a Kronecker-product solve (n <= 8 here).

    >>> import numpy
    >>> stationary_covariance(numpy.array([[-2.0]]), numpy.array([[1.0]]))
    array([[0.25]])
    """
    n = A.shape[0]
    eye = numpy.eye(n)
    K = numpy.kron(eye, A) + numpy.kron(A, eye)
    S = numpy.linalg.solve(K, -Sigma.reshape(-1)).reshape(n, n)
    return (S + S.T) / 2


def ou_transition(A: numpy.ndarray, Sigma: numpy.ndarray, dt: float) -> tuple[numpy.ndarray, ...]:
    """(E, Q, J0, J1) of one exact OU step of length ``dt`` (module docstring).

    E = e^{A dt}; Q = int_0^dt e^{As} Sigma e^{A^T s} ds (Van Loan); J0 = int_0^dt e^{Ar} dr;
    J1 = int_0^dt e^{Ar} (dt - r) dr.
    """
    n = A.shape[0]
    van_loan = numpy.zeros((2 * n, 2 * n))
    van_loan[:n, :n] = -A
    van_loan[:n, n:] = Sigma
    van_loan[n:, n:] = A.T
    F = expm(van_loan * dt)
    E = F[n:, n:].T
    Q = E @ F[:n, n:]
    Q = (Q + Q.T) / 2
    drive = numpy.zeros((3 * n, 3 * n))
    drive[:n, :n] = A
    drive[:n, n : 2 * n] = numpy.eye(n)
    drive[n : 2 * n, 2 * n :] = numpy.eye(n)
    G = expm(drive * dt)
    return E, Q, G[:n, n : 2 * n], G[:n, 2 * n :]


def sqrtm_psd(Q: numpy.ndarray) -> numpy.ndarray:
    """L with L L^T = Q for a symmetric positive semi-definite Q (eigenvalues clipped at 0)."""
    w, V = numpy.linalg.eigh(Q)
    return V * numpy.sqrt(numpy.clip(w, 0.0, None))


def numeric_srnn(model: SymbolicModel, params: Mapping[str, float] | None = None) -> NumericSRNN:
    """Substitute parameter values into ``model`` and prepare its numerical drift and readout.

    For a nonlinear activation the network is linearized (:func:`volterra_sym.model.linearize`)
    to get the relaxation time and the initial law of the burn-in.
    """
    spec = model.spec
    values = resolve_parameters(spec, params or {})
    subs = {spec.parameters[k]: sympy.Float(v, 30) for k, v in values.items()}
    C = numeric_matrix(model.C, model, values)
    Sigma = numeric_matrix(model.Sigma, model, values)
    hidden = model.hidden
    readout = tuple(sympy.lambdify(hidden, sympy.sympify(f).subs(subs), modules="numpy", docstring_limit=0) for f in model.readout)
    if model.affine:
        A = numeric_matrix(model.A, model, values)
        b = numeric_matrix(model.b, model, values)[:, 0]
        eig = numpy.linalg.eigvals(A)
        if eig.real.max() >= 0:
            raise InputError(f"A has an eigenvalue with real part {eig.real.max():.3g} >= 0 at these parameters",
                             field="params")
        S = stationary_covariance(A, Sigma)
        mu = numpy.linalg.solve(A, -b)
        sigma = sqrtm_psd(Sigma)
        return NumericSRNN(affine=True, Gamma=-A, W=numpy.zeros_like(A), b=b, C=C, sigma=sigma,
                           activation=lambda z: z, readout=readout, A=A, mu=mu, S=S,
                           fixed_point=None if model.fixed_point is None else numpy.array(model.fixed_point),
                           relaxation_time=float(1 / numpy.abs(eig.real).min()),
                           fastest_rate=float(numpy.abs(eig).max()))
    Gamma = numeric_matrix(spec.Gamma, model, values)
    W = numeric_matrix(spec.W, model, values)
    b = numeric_matrix(spec.b, model, values)[:, 0]
    sigma = numeric_matrix(spec.sigma, model, values)
    act_expr = spec.activation_expr.subs(subs)
    act = sympy.lambdify([X], act_expr, modules="numpy", docstring_limit=0)

    def activation(z: numpy.ndarray) -> numpy.ndarray:  # a writable array of z's shape
        v = numpy.asarray(act(z), dtype=numpy.float64)
        if v.shape != z.shape or v is z or not v.flags.writeable:
            v = numpy.array(numpy.broadcast_to(v, z.shape))
        return v

    try:
        lin = linearize(model, values)
    except (DerivationError, SpecError):  # no stable fixed point, or noise not reaching every unit
        lin = None
    if lin is None:
        eig = numpy.linalg.eigvals(-Gamma)
        A = mu = S = hstar = None
    else:
        A = numpy.array(lin.A.evalf(17).tolist(), dtype=numpy.float64)
        hstar = numpy.array(lin.fixed_point)
        eig = numpy.linalg.eigvals(A)
        S = stationary_covariance(A, Sigma)
        mu = hstar
    return NumericSRNN(affine=False, Gamma=Gamma, W=W, b=b, C=C, sigma=sigma, activation=activation,
                       readout=readout, A=A, mu=mu, S=S, fixed_point=hstar, input_inside=model.input_placement == "activation",
                       relaxation_time=float(1 / numpy.abs(eig.real).min()),
                       fastest_rate=float(max(numpy.abs(eig).max(),
                                              numpy.abs(numpy.linalg.eigvals(Gamma)).max())))
