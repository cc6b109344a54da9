"""Nonlinear SRNNs with a known invariant density: the gradient (reversible) class.

When the drift is a gradient, F = -grad U, and the noise is isotropic, Sigma = s^2 I, the
invariant density is rho_inf ~ exp(-2U/s^2) (theory.md 5). For the spec's drift
F(h) = -Gamma h + a(W h + b) with a nonlinear activation this holds exactly when Gamma is
symmetric and W is diagonal (every scalar network qualifies); then

    U(h) = 1/2 h^T Gamma h - sum_i P(W_ii h_i + b_i) / W_ii,     P' = a
    (a term a(b_i) h_i replaces the fraction where W_ii = 0),

the score is grad log rho_inf = 2F/s^2 and the conjugate variables are A_k = -(2/s^2) C_k . F. For an
input inside the activation the order-1 input operator is b_k . grad with b_{k,i} = a'((W h + b)_i) C_ik
(theory.md 7), whose conjugate is A_k = -rho^-1 div(rho b_k) = -div b_k - b_k . (2F/s^2).
Everything here is SymPy; numbers come from :mod:`volterra_sym.spectral`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from ...errors import DerivationError
from ...model import SymbolicModel, generator_words
from ...spec import X

__all__ = ["GradientLaw", "gradient_law", "taylor_words", "is_gradient_class"]

_ANTIDERIVATIVES = {
    "tanh": sympy.log(sympy.cosh(X)),
    "sigmoid": sympy.log(1 + sympy.exp(X)),
}


@dataclass(frozen=True, slots=True)
class GradientLaw:
    """Symbolic invariant law of a gradient-class SRNN (``log_density`` is unnormalised)."""

    model: SymbolicModel
    noise_variance: sympy.Expr  # s^2
    potential: sympy.Expr  # U(h)
    log_density: sympy.Expr  # -2 U / s^2
    score: sympy.ImmutableMatrix  # 2 F / s^2
    conjugates: tuple[sympy.Expr, ...]  # A_k(h)
    divergence: sympy.Expr  # div F, for the Schroedinger form


def is_gradient_class(model: SymbolicModel) -> str | None:
    """``None`` if the model is in the gradient class, else the reason it is not."""
    spec = model.spec
    n = model.n_hidden
    if (spec.Gamma - spec.Gamma.T).applyfunc(sympy.simplify) != sympy.zeros(n, n):
        return "Gamma is not symmetric, so the drift is not a gradient"
    if n > 1 and any(spec.W[i, j] != 0 for i in range(n) for j in range(n) if i != j):
        return "W is not diagonal, so the drift of a nonlinear network is not a gradient"
    Sigma = model.Sigma
    s2 = Sigma[0, 0]
    if any(sympy.simplify(Sigma[i, j] - (s2 if i == j else 0)) != 0 for i in range(n) for j in range(n)):
        return "the noise is not isotropic (sigma sigma^T must be s^2 I)"
    return None


def gradient_law(model: SymbolicModel) -> GradientLaw:
    """Potential, density, score and conjugate variables; :class:`DerivationError` outside the class."""
    spec = model.spec
    if model.affine:
        raise DerivationError("the gradient-class route is for nonlinear activations; linear networks are OU")
    reason = is_gradient_class(model)
    if reason is not None:
        raise DerivationError(
            f"no known invariant density: {reason}"
        )
    h = model.hidden
    n = len(h)
    hv = sympy.Matrix(h)
    P = _antiderivative(spec)
    U = (hv.T * spec.Gamma * hv)[0, 0] / 2
    for i in range(n):
        w, b = spec.W[i, i], spec.b[i]
        if w == 0:
            U -= spec.activation_expr.subs(X, b) * h[i]
        else:
            U -= P.subs(X, w * h[i] + b) / w
    F = model.drift
    check = [sympy.simplify(sympy.expand(F[i] + sympy.diff(U, h[i])).rewrite(sympy.exp)) for i in range(n)]
    if any(c != 0 for c in check):
        raise DerivationError("internal: the reconstructed potential does not reproduce the drift")
    s2 = model.Sigma[0, 0]
    score = sympy.ImmutableMatrix(2 * F / s2)
    if model.input_placement == "additive" or model.affine:
        conjugates = tuple(sympy.expand(-(model.C[:, k].T * score)[0, 0]) for k in range(model.n_inputs))
    else:  # A_k = -rho^-1 div(rho b_k), b_{k,i} = a'(z_i) C_ik
        slopes = model.input_coefficients(1)
        conjugates = tuple(sympy.expand(-sum((sympy.diff(slopes[i] * model.C[i, k], x) + slopes[i] * model.C[i, k] * score[i]
                                              for i, x in enumerate(h)), sympy.Integer(0)))
                           for k in range(model.n_inputs))
    divergence = sum((sympy.diff(F[i], h[i]) for i in range(n)), sympy.Integer(0))
    return GradientLaw(model=model, noise_variance=s2, potential=U, log_density=-2 * U / s2, score=score,
                       conjugates=conjugates, divergence=divergence)


def _antiderivative(spec) -> sympy.Expr:
    if spec.activation in _ANTIDERIVATIVES:
        return _ANTIDERIVATIVES[spec.activation]
    P = sympy.integrate(spec.activation_expr, X)
    if P.has(sympy.Integral):
        raise DerivationError(f"no closed-form antiderivative of the activation {spec.activation!r}")
    return P


def taylor_words(law: GradientLaw, output: int, k: int, degree: int, *, budget: float = 10.0,
                    max_size: int = 20_000) -> tuple[sympy.Expr, ...]:
    """The integrands L_{1;k} L0^p f_q, p = 0..degree (L_{1;k} = C_k . grad, or (a'(W h + b) C_k) . grad for an
    input inside the activation), of the small-lag expansion
    R^(1)_{f;k}(tau) = sum_p tau^p/p! <word_p> (theory.md 5), stopping before ``degree`` when the next word
    would be too large: its predicted size (the last
    size times the last growth factor, in characters) exceeds ``max_size`` or ``budget`` seconds are
    spent. The words of some activations (sigmoid: exponentials in denominators) grow by ~30x per
    application of L0, those of tanh by ~2-4x."""
    return generator_words(law.model, output, k, degree, budget=budget, max_size=max_size)


def taylor_coefficients(law: GradientLaw, means: Sequence[float]) -> tuple[float, ...]:
    """Taylor coefficients tau^p of R^(1) from the stationary means of the words."""
    return tuple(m / math.factorial(p) for p, m in enumerate(means))
