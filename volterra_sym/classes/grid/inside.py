"""The input inside the activation on the grid (theory.md 7, 7.1).

With dh = (-Gamma h + a(W h + b + eps C u_t)) dt + sigma dB the driven generator is
L0 + sum_j eps^j L_j(u_t), L_j(u) g = sum_i c_{j,i}(h) (C u)_i^j d_i g, c_{j,i} = a^(j)(z_i)/j!,
z = W h + b. In the grid's whitened, weighted coordinates (:mod:`.operator`) a vector field v(h)
acts as

    B_v = sum_i diag(v_i(h)) E_i,    E_i = sum_d (M^-1)_{d i} (D1 lifted along d + diag(d_d phi)),

the per-unit operators E_i of :class:`~.operator.GridOperator` (the additive B_k is v = C_k). So

* the time-ordered kernels use B_k with v_i = c_{1,i}(h) C_{ik} (``op.inputs``);
* the contact operators L_{j;k_1..k_j} have v_i = c_{j,i}(h) C_{i k_1} ... C_{i k_j};
* the series cascade couples order n to order n - j through L_j(u(t)), and the all-order driven mean
  uses the whole perturbation V(t) = a(z + eps C u(t)) - a(z), never expanded in eps (complex eps
  allowed: a Cauchy integral over eps gives the series terms back).

A field is applied in column form, X -> sum_i E_i^T (v_i X), by one matrix B_v^T assembled per time step
(:func:`field_matrix`), with the 1-norm bound max_c sum_i |v_i(c)| ||column c of E_i^T||_1.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy
import sympy

from ...model import SymbolicModel
from ...spec import X

__all__ = ["InsideActivation", "inside_activation", "contact_operators", "field_apply", "field_norm",
           "cascade_fields", "perturbation_field", "real_matmul", "field_matrix"]


@dataclass(frozen=True, slots=True)
class InsideActivation:
    """The activation at the default or given parameter values, for an input inside it: ``activation``
    evaluates a (complex arguments allowed), ``coefficients[j - 1]`` evaluates c_j = a^(j)/j!."""

    activation: Callable[[numpy.ndarray], numpy.ndarray]
    coefficients: tuple[Callable[[numpy.ndarray], numpy.ndarray], ...]

    @property
    def order(self) -> int:
        return len(self.coefficients)


def inside_activation(model: SymbolicModel, values: Mapping[str, float], order: int) -> InsideActivation | None:
    """The activation and its Taylor coefficients c_1..c_order (at least c_1) of a model whose input enters
    a nonlinear activation; ``None`` for an additive input or a linear activation."""
    if model.input_placement != "activation" or model.affine:
        return None
    spec = model.spec
    subs = {spec.parameters[name]: sympy.Float(v, 30) for name, v in values.items()}
    act = spec.activation_expr.subs(subs)
    function = sympy.lambdify([X], act, modules="numpy", docstring_limit=0)
    coefficients = tuple(sympy.lambdify([X], sympy.diff(act, X, j) / math.factorial(j), modules="numpy",
                                        docstring_limit=0) for j in range(1, max(order, 1) + 1))
    return InsideActivation(function, coefficients)


def _scaled(v: numpy.ndarray, E):
    """diag(v) E for a dense array or a sparse matrix E."""
    if isinstance(E, numpy.ndarray):
        return v[:, None] * E
    import scipy.sparse

    return scipy.sparse.csr_matrix(scipy.sparse.diags(v) @ E)


def contact_operators(op, j: int) -> tuple[tuple, tuple]:
    """The contact operators L_{j;k_1..k_j} = sum_i diag(c_{j,i} C_{i k_1} ... C_{i k_j}) E_i and their
    transposes, m^j of each, multi-index (k_1..k_j) in row-major order."""
    if op.coefficients is None or j > len(op.coefficients):
        raise ValueError(f"the grid operator has no input coefficients of order {j}")
    C = op.input_matrix
    n, m = C.shape
    ops = []
    for ks in itertools.product(range(m), repeat=j):
        total = None
        for i in range(n):
            weight = math.prod(float(C[i, k]) for k in ks)
            if weight == 0.0:
                continue
            term = _scaled(weight * op.coefficients[j - 1][i], op.units[i])
            total = term if total is None else total + term
        if total is None:
            total = 0.0 * op.units[0]
        ops.append(total)
    transposed = tuple(B.T.copy() if isinstance(B, numpy.ndarray) else B.T.tocsr() for B in ops)
    return tuple(ops), transposed


def real_matmul(A, X: numpy.ndarray) -> numpy.ndarray:
    """A @ X for a real A (dense or sparse) and a real or complex X; a complex X is split into its real and
    imaginary parts (NumPy's mixed real-complex product does not use BLAS: ~100 times slower)."""
    if not numpy.iscomplexobj(X):
        return A @ X
    if X.ndim == 1:
        both = A @ numpy.stack([X.real, X.imag], axis=1)
        return both[:, 0] + 1j * both[:, 1]
    c = X.shape[1]
    both = A @ numpy.concatenate([X.real, X.imag], axis=1)
    return both[:, :c] + 1j * both[:, c:]


def field_apply(op, field: numpy.ndarray, X: numpy.ndarray) -> numpy.ndarray:
    """B_v^T X = sum_i E_i^T (v_i X) for a field v of shape (n, M) (real or complex)."""
    out = None
    for i, ET in enumerate(op.unitsT):
        v = field[i]
        if not numpy.any(v):
            continue
        term = real_matmul(ET, v[:, None] * X if X.ndim == 2 else v * X)
        out = term if out is None else out + term
    return numpy.zeros(X.shape, dtype=numpy.result_type(field, X)) if out is None else out


def field_matrix(op, field: numpy.ndarray):
    """B_v^T = sum_i E_i^T diag(v_i) as one matrix (dense on a small grid, CSR otherwise; complex for a
    complex field): built once per time step, so each product inside the exponential is a single one."""
    total = None
    for i, ET in enumerate(op.unitsT):
        v = field[i]
        if not numpy.any(v):
            continue
        if isinstance(ET, numpy.ndarray):
            term = ET * v[None, :]
        else:
            import scipy.sparse

            term = scipy.sparse.csr_matrix(ET.multiply(v[None, :]))
        total = term if total is None else total + term
    return total


def field_norm(op, field: numpy.ndarray) -> float:
    """The 1-norm of B_v^T: max over columns c of sum_i |v_i(c)| ||column c of E_i^T||_1 (exact up to
    cancellation between units)."""
    return float((numpy.abs(field) * op.unit_columns).sum(axis=0).max(initial=0.0))


def cascade_fields(op, weights: tuple[float, float], u1: numpy.ndarray, u2: numpy.ndarray, h: float,
                   order: int) -> list[numpy.ndarray]:
    """The fields of h (a L_j(u(t1)) + b L_j(u(t2))), j = 1..order: the Magnus combination of the
    couplings at the two Gauss points, v_i = c_{j,i}(h) h (a (C u1)_i^j + b (C u2)_i^j)."""
    a, b = weights
    drive1, drive2 = op.input_matrix @ u1, op.input_matrix @ u2
    return [op.coefficients[j - 1] * (h * (a * drive1**j + b * drive2**j))[:, None] for j in range(1, order + 1)]


def perturbation_field(op, weights: tuple[float, float], u1: numpy.ndarray, u2: numpy.ndarray, h: float,
                       eps: complex) -> numpy.ndarray:
    """The field of h (a V(t1) + b V(t2)) with the whole perturbation V = a(z + eps C u) - a(z)."""
    a, b = weights
    base = op.activated
    shifted = [op.activation(op.pre + eps * (op.input_matrix @ u)[:, None]) - base for u in (u1, u2)]
    return h * (a * shifted[0] + b * shifted[1])
