"""Time-augmented response feature: t-independent coefficients from generator words.

With the time-augmented input path ``U_t = (t, int_0^t u)`` (channel 0 is time, channel
``k + 1`` is input ``k``), the small-lag expansion ``P_tau = sum_p tau^p L0^p / p!`` of the
backward recursion (theory.md 3b, 5) turns every series term into signature terms of ``U``::

    E y_T = <f>_inf + sum_w  eps^{|w|} <L_{w_1} L_{w_2} ... L_{w_L} f>_inf  S_w(U)_[0,T]

summed over words ``w = (w_1, ..., w_L)`` (earliest letter first, as in the signature) with
``L_0 = L0`` (the generator) and ``L_{k+1} = L1^k = C_k . grad``; ``|w|`` counts the input
letters. The latest letter acts first on ``f``. A word with ``n`` input letters is
``(k_n+1) 0^{p_n} ... (k_1+1) 0^{p_1}`` and its coefficient is

    <L1^{k_n} L0^{p_n} ... L1^{k_1} L0^{p_1} f>_inf  =  d^{p_1}_{tau_1} ... d^{p_n}_{tau_n} R^(n)_{f;k_1..k_n}(0, ..., 0),

the Taylor coefficient of the n-th kernel at zero lags. Words that start with a time letter have
coefficient ``<L0 g>_inf = 0`` (stationarity). The coefficients do not depend on ``T``; the
representation truncated at signature level ``L`` converges as ``L`` grows on horizons where the
kernels' Taylor series converge (for the OU class with a polynomial readout: every horizon,
with error of order ``(|A| T)^L / L!``).

Stationary means are exact Gaussian moments (:func:`volterra_sym.gaussian.gaussian_mean`), so
this module covers the linear class; for a polynomial readout of degree ``d`` every word with
more than ``d`` input letters vanishes (``L0`` keeps the degree, ``L1`` lowers it by one).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
import sympy

from ..classes.ou.derive import KernelSet
from ..errors import DerivationError, InputError
from ..gaussian import GaussianMean, gauss_hermite_mean, gaussian_mean
from ..model import resolve_parameters
from .signature import FloatArray, _check_int, _check_size, sig_length, smooth_signature

__all__ = ["AugmentedReadout", "augmented_coefficients", "augmented_feature", "kernel_word", "word_operator"]

#: words (of any length) whose operator images are kept at once before the derivation is refused
MAX_WORDS = 200_000


def word_operator(kset: KernelSet, word: tuple[int, ...], g: sympy.Expr) -> sympy.Expr:
    """``L_{w_1} ... L_{w_L} g``: the letters applied right to left (latest letter first).

    Letter 0 is the generator ``L0``, letter ``k + 1`` is ``L1^k = C_k . grad``.
    """
    model = kset.model
    out = sympy.expand(g)
    for letter in reversed(word):
        out = _apply(model, letter, out)
    return out


def _apply(model, letter: int, g: sympy.Expr) -> sympy.Expr:
    if g == 0:
        return sympy.Integer(0)
    if letter == 0:
        return sympy.expand(model.generator(g))
    column = model.C[:, letter - 1]
    return sympy.expand(sum((column[i] * sympy.diff(g, x) for i, x in enumerate(model.hidden)), sympy.Integer(0)))


@dataclass(frozen=True, slots=True)
class AugmentedReadout:
    """Coefficients ``<L_{w_1} ... L_{w_L} f>_inf`` of the words up to signature level ``level``.

    Attributes
    ----------
    kset : KernelSet
        The derivation (model and stationary law).
    level : int
        Highest word length ``L``.
    coefficients : Mapping[tuple[int, ...], tuple[sympy.Expr, ...]]
        Word (earliest letter first; 0 = time, ``k + 1`` = input ``k``) -> one stationary mean
        per output. Only words with a nonzero coefficient for some output are listed.
    """

    kset: KernelSet
    level: int
    coefficients: Mapping[tuple[int, ...], tuple[sympy.Expr, ...]]

    @property
    def dim(self) -> int:
        """Path dimension ``m + 1``."""
        return self.kset.model.n_inputs + 1

    @property
    def feature_size(self) -> int:
        return sig_length(self.dim, self.level)

    def weights(self, eps: float, params: Mapping[str, float] | None = None) -> FloatArray:
        """Signature-layout weights, shape (p, feature_size): ``eps^{|w|}`` times the coefficient.

        Parameters (spec defaults updated by `params`) are substituted and the means evaluated
        in float64 (Gauss-Hermite quadrature for non-polynomial terms).
        """
        return self._evaluate(eps, params)[0]

    def terms(
        self, feature: npt.ArrayLike, eps: float, params: Mapping[str, float] | None = None
    ) -> FloatArray:
        """Contributions grouped by series order (number of input letters): shape (order+1, p).

        Row 0 is ``<f>_inf``; `feature` is the level-``L`` signature of ``U`` without scalar term.
        """
        phi = np.asarray(feature, dtype=np.float64)
        if phi.shape != (self.feature_size,):
            raise InputError(f"must have shape ({self.feature_size},), got {phi.shape}", field="feature")
        w, constant = self._evaluate(eps, params)
        orders = max((_order(word) for word in self.coefficients), default=0)
        out = np.zeros((orders + 1, constant.size))
        out[0] = constant
        for word in self.coefficients:
            index = _word_index(word, self.dim)
            out[_order(word)] += w[:, index] * phi[index]
        return out

    def _evaluate(self, eps: float, params: Mapping[str, float] | None) -> tuple[FloatArray, FloatArray]:
        values = resolve_parameters(self.kset.model.spec, params or {})
        numeric = _numeric_means(self.kset, values)
        out = np.zeros((self.kset.model.n_outputs, self.feature_size))
        for word, per_output in self.coefficients.items():
            out[:, _word_index(word, self.dim)] = [float(eps) ** _order(word) * numeric(c) for c in per_output]
        constant = np.array([numeric(f) for f in _stationary_means(self.kset)])
        return out, constant


def _order(word: tuple[int, ...]) -> int:
    """Number of input letters (the series order of the word)."""
    return sum(1 for a in word if a)


def _word_index(word: tuple[int, ...], dim: int) -> int:
    """Flat signature index (no scalar term) of a word, earliest letter first."""
    offset = sum(dim**n for n in range(1, len(word)))
    return offset + sum(a * dim ** (len(word) - 1 - i) for i, a in enumerate(word))


def augmented_coefficients(kset: KernelSet, level: int) -> AugmentedReadout:
    """Stationary means of all generator words up to length `level` (module docstring).

    Parameters
    ----------
    kset : KernelSet
        A linear-class derivation (any order; only the model and the stationary law are used).
    level : int
        Highest signature level ``L`` of the time-augmented path.

    Returns
    -------
    AugmentedReadout

    Raises
    ------
    DerivationError
        When more than :data:`MAX_WORDS` nonzero operator images would be kept.
    """
    level = _check_int(level, "level", 1)
    model = kset.model
    _check_size(model.n_inputs + 1, level)
    letters = range(model.n_inputs + 1)
    mu, S = kset.law.mean, kset.law.covariance
    coefficients: dict[tuple[int, ...], tuple[sympy.Expr, ...]] = {}
    # operator images L_w f of the words of the current length (zero images dropped)
    frontier = {(): tuple(sympy.expand(f) for f in model.readout)}
    for _ in range(level):
        new: dict[tuple[int, ...], tuple[sympy.Expr, ...]] = {}
        for word, gs in frontier.items():
            for a in letters:
                # a new *earliest* letter acts last: L_a (L_{w} f)
                out = tuple(_apply(model, a, g) for g in gs)
                if all(g == 0 for g in out):
                    continue
                new[(a,) + word] = out
        if len(new) > MAX_WORDS:
            raise DerivationError(f"{len(new)} nonzero generator words at one level exceed {MAX_WORDS};"
                                  " lower the level")
        for word, gs in new.items():
            if word[0] == 0:
                continue  # <L0 g>_inf = 0
            means = tuple(_tidy(gaussian_mean(g, model.hidden, mu, S)) for g in gs)
            if any(c != 0 for c in means):
                coefficients[word] = means
        frontier = new
    ordered = dict(sorted(coefficients.items(), key=lambda item: (len(item[0]), item[0])))
    return AugmentedReadout(kset=kset, level=level, coefficients=MappingProxyType(ordered))


def _tidy(e: sympy.Expr) -> sympy.Expr:
    # as derive._tidy: exact zeros must be recognised, so symbolic means are cancelled
    return sympy.factor(sympy.cancel(e)) if e.free_symbols else sympy.expand(e)


def _stationary_means(kset: KernelSet) -> tuple[sympy.Expr, ...]:
    model = kset.model
    return tuple(gaussian_mean(f, model.hidden, kset.law.mean, kset.law.covariance) for f in model.readout)


def _numeric_means(kset: KernelSet, values: Mapping[str, float]) -> Callable[[sympy.Expr], float]:
    model = kset.model
    subs = {model.spec.parameters[k]: v for k, v in values.items()}
    mu = np.array(kset.law.mean.subs(subs).evalf(30).tolist(), dtype=np.float64)[:, 0]
    S = np.array(kset.law.covariance.subs(subs).evalf(30).tolist(), dtype=np.float64)
    S = (S + S.T) / 2

    def node(g: GaussianMean) -> sympy.Float:
        expr = g.args[0].subs(subs)
        free = sorted(expr.free_symbols & set(model.hidden), key=model.hidden.index)
        idx = [model.hidden.index(x) for x in free]
        func = sympy.lambdify(free, expr, modules="numpy", docstring_limit=0)
        return sympy.Float(gauss_hermite_mean(func, mu[idx], S[np.ix_(idx, idx)], label=f"E[{expr}]"), 17)

    def numeric(expr: sympy.Expr) -> float:
        if expr.has(GaussianMean):
            expr = expr.replace(lambda e: isinstance(e, GaussianMean), node)
        value = complex(sympy.N(sympy.sympify(expr).subs(subs), 20))
        if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
            raise InputError(f"coefficient {expr} is not real at these parameter values", field="params")
        return value.real

    return numeric


def augmented_feature(
    u: Callable[[FloatArray], npt.ArrayLike],
    horizon: float,
    level: int,
    *,
    eps: float = 1.0,
    nodes: int = 32,
    panels: int = 1,
) -> FloatArray:
    """Signature of ``U_t = (t, eps int_0^t u)`` on ``[0, horizon]``, truncated at `level`.

    Use ``eps = 1`` (default) with :meth:`AugmentedReadout.weights` at the wanted amplitude, or
    scale the path and take the weights at ``eps = 1``.

    Parameters
    ----------
    u : callable
        ``u(t)`` for ``t`` of shape (n,) returns shape (n, m) (or (n,) for m = 1).
    horizon : float
    level : int
    eps : float, default 1
    nodes, panels : int
        Spectral integration, see :func:`volterra_sym.signature.smooth_signature`.

    Returns
    -------
    numpy.ndarray, shape (sig_length(m + 1, level),)
    """

    def velocity(t: FloatArray) -> FloatArray:
        vals = np.asarray(u(t), dtype=np.float64)
        if vals.ndim == 1:
            vals = vals[:, None]
        return np.concatenate([np.ones((t.size, 1)), eps * vals], axis=1)

    return smooth_signature(velocity, 0.0, horizon, level, nodes=nodes, panels=panels)


def kernel_word(indices: tuple[int, ...], powers: tuple[int, ...]) -> tuple[int, ...]:
    """The word of ``<L1^{k_n} L0^{p_n} ... L1^{k_1} L0^{p_1} f>``: ``(k_n+1) 0^{p_n} ... (k_1+1) 0^{p_1}``.

    Examples
    --------
    >>> kernel_word((0, 1), (2, 1))
    (2, 0, 1, 0, 0)
    """
    if len(indices) != len(powers):
        raise InputError("one power per index", field="powers")
    return tuple(itertools.chain.from_iterable(
        (k + 1,) + (0,) * p for k, p in zip(reversed(indices), reversed(powers))
    ))
