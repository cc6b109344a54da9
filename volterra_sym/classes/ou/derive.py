"""Stage 2: closed-form response kernels of a linear-activation (Ornstein-Uhlenbeck) SRNN.

The backward recursion (theory.md 3b)

    g_0 = f,   g_j = C_{k_j} . grad P_{tau_j} g_{j-1},   R^(n) = <g_n>_inf

closes for the OU class because grad P_tau = e^{A^T tau} P_tau grad and P_s P_t = P_{s+t}:
by induction g_j = P_{sigma_j}[ D^j f (v_1, ..., v_j) ] with v_j = e^{A sigma_j} C_{k_j} and
sigma_j = tau_1 + ... + tau_j, and stationarity removes the last P. Hence

    R^(n)_{f;k_1..k_n}(tau_1..tau_n) = sum_{i_1..i_n} M^(n)_{i_1..i_n} prod_j (e^{A sigma_j} C)_{i_j k_j},
    M^(n) = <D^n f>_inf   (a symmetric tensor: exact Gaussian moments for polynomial f).

Everything here is pure SymPy: data in, data out.
"""

from __future__ import annotations

import collections
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import sympy
from sympy.matrices.exceptions import NonInvertibleMatrixError
from sympy.polys.matrices import DomainMatrix

from ...display import display_latex, display_str, has_sinc, shorten
from ...errors import DerivationError, SymbolicBudgetError
from ...gaussian import gaussian_mean
from ...model import SymbolicModel
from ...propagator import Propagator, derive_propagator, numeric_propagator
from ...spec import check_order, degree_bound
from .collect import MAX_TIDY_TERMS, collected_kernel, nested_sum, split_directions

__all__ = ["StationaryLaw", "Kernel", "KernelSet", "derive_kernels", "solve_lyapunov", "kernel_expression",
           "kernel_expressions", "derivation_latex", "expansion_terms", "check_symbolic_work",
           "MAX_KERNEL_EXPRESSIONS", "MAX_EXPANSION_TERMS", "MAX_MOMENTS", "MAX_LYAPUNOV_WORK"]

#: above this many index combinations, ``derive`` refuses to spell every closed form out
MAX_KERNEL_EXPRESSIONS = 4096
MAX_FACTOR_OPS = 150


@dataclass(frozen=True, slots=True)
class StationaryLaw:
    """rho_inf = N(mean, covariance); ``conjugates[k]`` is A_k(h) = C_k^T S^-1 (h - mu)."""

    mean: sympy.ImmutableMatrix
    covariance: sympy.ImmutableMatrix
    score: sympy.ImmutableMatrix  # grad log rho_inf = -S^-1 (h - mu)
    conjugates: tuple[sympy.Expr, ...]


@dataclass(frozen=True, slots=True)
class Kernel:
    """One closed form R^(order)_{f_output; indices}(lags); ``output`` and ``indices`` are 0-based,
    shown 1-based (``R^(2)_{f1;1,2}(tau1, tau2)``). In a notebook it displays as LaTeX."""

    order: int
    output: int
    indices: tuple[int, ...]
    expr: sympy.Expr

    def label(self, *, latex: bool = False) -> str:
        """``R^(n)_{fq;k1,..,kn}(tau1, .., taun)``, or its LaTeX."""
        idx = ",".join(str(i + 1) for i in self.indices)
        if latex:
            lags = ", ".join(rf"\tau_{{{j + 1}}}" for j in range(self.order))
            return rf"R^{{({self.order})}}_{{f_{{{self.output + 1}}};{idx}}}({lags})"
        lags = ", ".join(f"tau{j + 1}" for j in range(self.order))
        return f"R^({self.order})_{{f{self.output + 1};{idx}}}({lags})"

    def __repr__(self) -> str:
        return f"Kernel({self.label()} = {shorten(display_str(self.expr), 300)})"

    def _repr_latex_(self) -> str:
        return rf"$\displaystyle {self.label(latex=True)} = {display_latex(self.expr)}$"


@dataclass(frozen=True, slots=True)
class KernelSet:
    """Everything derived from one model up to a truncation order.

    ``moments[n][q]`` maps each sorted index tuple (i_1 <= ... <= i_n) to <d^n f_q / dh_i1..dh_in>;
    ``moments[0][q][()]`` is the stationary mean <f_q>. ``degree`` is the readouts' polynomial
    degree (kernels above it vanish) or ``None`` for a non-polynomial readout.
    """

    model: SymbolicModel
    law: StationaryLaw
    propagator: Propagator  # a LazyPropagator from derive_kernels: derived on first use
    order: int
    lags: tuple[sympy.Symbol, ...]
    moments: tuple[tuple[Mapping[tuple[int, ...], sympy.Expr], ...], ...]
    degree: int | None

    def __post_init__(self) -> None:
        assert len(self.moments) == self.order + 1 and len(self.lags) == max(self.order, 1)

    @property
    def stationary_mean(self) -> tuple[sympy.Expr, ...]:
        return tuple(m[()] for m in self.moments[0])

    def vanishes(self, order: int) -> bool:
        """True when R^(order) is identically zero (polynomial readout of lower degree)."""
        return self.degree is not None and order > self.degree

    def kernels(self, order: int) -> tuple[Kernel, ...]:
        """Every closed form of one order (see :func:`kernel_expressions`)."""
        return kernel_expressions(self, order)

    def __repr__(self) -> str:
        model = self.model
        series = (f"finite series (readout degree {self.degree})" if self.degree is not None
                  else "infinite series (non-polynomial readout)")
        return (f"KernelSet({model.spec.name!r}: n={model.n_hidden} hidden, m={model.n_inputs} inputs, "
                f"p={model.n_outputs} outputs, order {self.order}, propagator {self.propagator.method}, {series})")

    def _repr_latex_(self) -> str:
        return derivation_latex(self)

    def _repr_html_(self) -> str:
        return _html(self)


class LazyPropagator:
    """Stands for the :class:`Propagator` of a drift (same attributes), derived on first use: the
    float64 numbers do not need the closed form, and deriving it costs seconds for n = 4."""

    __slots__ = ("_A", "_tau", "_value")

    def __init__(self, A: sympy.MatrixBase, tau: sympy.Symbol):
        self._A, self._tau, self._value = A, tau, None

    @property
    def tau(self) -> sympy.Symbol:
        return self._tau

    def __getattr__(self, name: str):
        if self._value is None:
            self._value = derive_propagator(self._A, self._tau)
        return getattr(self._value, name)


def solve_lyapunov(A: sympy.MatrixBase, Sigma: sympy.MatrixBase) -> sympy.ImmutableMatrix:
    """The symmetric S with A S + S A^T + Sigma = 0, solved exactly on its n(n+1)/2 unknowns.

    >>> solve_lyapunov(sympy.Matrix([[-2]]), sympy.Matrix([[1]]))
    Matrix([[1/4]])
    """
    n = A.shape[0]
    pairs = [(i, j) for i in range(n) for j in range(i, n)]
    unknowns = sympy.symbols(f"_s0:{len(pairs)}")
    S = sympy.zeros(n, n)
    for u, (i, j) in zip(unknowns, pairs):
        S[i, j] = S[j, i] = u
    residual = A * S + S * A.T + Sigma
    equations = [sympy.expand(residual[i, j]) for i, j in pairs]
    M, rhs = sympy.linear_eq_to_matrix(equations, unknowns)
    solution = _solve_exact(M, rhs)
    values = {u: _tidy(solution[k]) for k, u in enumerate(unknowns)}
    return sympy.ImmutableMatrix(S.subs(values))


def _solve_exact(M: sympy.MatrixBase, rhs: sympy.MatrixBase) -> sympy.Matrix:
    """M x = rhs over the field of rational functions of the parameters (canonical, no expression swell)."""
    dM, dr = DomainMatrix.from_Matrix(sympy.Matrix(M)).unify(DomainMatrix.from_Matrix(sympy.Matrix(rhs)))
    return dM.to_field().lu_solve(dr.to_field()).to_Matrix()


def _tidy(e: sympy.Expr) -> sympy.Expr:
    """Canonical rational form in the parameters; factored only when that stays cheap."""
    if not e.free_symbols:
        return sympy.nsimplify(e) if e.has(sympy.Float) else e
    e = sympy.cancel(e)
    return sympy.factor(e) if sympy.count_ops(e) <= MAX_FACTOR_OPS else e


def check_symbolic_work(model: SymbolicModel) -> None:
    """Refuse, before any symbolic work, a derivation over its budget: readouts whose Gaussian moments
    need more than :data:`MAX_MOMENTS` monomials (a degree-d polynomial in k units has up to
    C(d + k, k)), or a stationary covariance solved over the parameters with more than
    :data:`MAX_LYAPUNOV_WORK` units of N^3 8^(p - 1) (N = n(n+1)/2 unknowns, p parameters in A and
    Sigma; measured ~1 ms per unit: n = 6 with one parameter 8.5 s, n = 5 with two 17 s)."""
    for q, f in enumerate(model.readout):
        units = len(f.free_symbols & set(model.hidden))
        degree = degree_bound(f, set(model.hidden))
        monomials = math.comb(degree + units, units)
        if monomials > MAX_MOMENTS:
            raise SymbolicBudgetError(
                f"readout {q + 1} has degree up to {degree} in {units} units: its Gaussian moments need up to "
                f"{monomials} monomials (limit {MAX_MOMENTS}); lower the degree or the units it depends on"
            )
    n = model.n_hidden
    params = (model.A.free_symbols | model.Sigma.free_symbols) - set(model.hidden)
    unknowns = n * (n + 1) // 2
    work = unknowns**3 * 8 ** (len(params) - 1) if params else 0
    if work > MAX_LYAPUNOV_WORK:
        raise SymbolicBudgetError(
            f"the stationary covariance of {n} units as a function of {len(params)} parameter(s) "
            f"({', '.join(sorted(map(str, params)))}) is over the symbolic budget ({unknowns} unknowns; work "
            f"{work:.3g} > {MAX_LYAPUNOV_WORK:.0e}); give the parameters numbers in the spec to derive closed forms "
            "(kernel, series and the other numeric commands work at the parameter values)"
        )


def derive_kernels(model: SymbolicModel, *, order: int | None = None, propagator: bool = True) -> KernelSet:
    """Stationary law, propagator and moment tensors up to ``order`` (default: the spec's).

    ``propagator=False`` keeps e^{A tau} as the numeric ``expm`` node without looking for a closed
    form (float64 evaluation needs none; it is the costly part of a small derivation).
    """
    spec = model.spec
    if not model.affine:
        raise DerivationError(
            f"activation {spec.activation!r}: closed-form kernels need a linear activation; "
            "use the linearized engine or simulate it"
        )
    order = spec.order if order is None else check_order(order, n_hidden=model.n_hidden, key="order")
    check_symbolic_work(model)
    h = sympy.Matrix(model.hidden)
    A = sympy.Matrix(model.A)
    try:
        mu = sympy.ImmutableMatrix((-_solve_exact(A, sympy.Matrix(model.b))).applyfunc(_tidy))
    except (ValueError, ZeroDivisionError, NonInvertibleMatrixError) as err:
        raise DerivationError("A = W - Gamma is singular: no stationary mean") from err
    S = solve_lyapunov(A, model.Sigma)
    S_inv = S.inv().applyfunc(_tidy) if S.free_symbols else S.inv()
    score = sympy.ImmutableMatrix(-(S_inv * (h - mu)))
    conjugates = tuple(
        sympy.expand((model.C[:, k].T * S_inv * (h - mu))[0, 0]) for k in range(model.n_inputs)
    )
    law = StationaryLaw(mean=mu, covariance=S, score=score, conjugates=conjugates)

    tau = sympy.Symbol("tau", real=True)
    propagator = LazyPropagator(A, tau) if propagator else numeric_propagator(A, tau)

    n = model.n_hidden
    moments = []
    for k in range(order + 1):
        per_output = []
        for f in model.readout:
            table = {}
            for alpha in itertools.combinations_with_replacement(range(n), k):
                derivative = sympy.diff(f, *[model.hidden[i] for i in alpha]) if alpha else f
                value = gaussian_mean(derivative, model.hidden, mu, S) if derivative != 0 else sympy.Integer(0)
                table[alpha] = _tidy(value) if value.free_symbols else value
            per_output.append(MappingProxyType(table))
        moments.append(tuple(per_output))

    degrees = [sympy.Poly(f, *model.hidden).total_degree() if f.is_polynomial(*model.hidden) else None
               for f in model.readout]
    degree = None if None in degrees else max(degrees)
    lags = tuple(sympy.Symbol(f"tau{j + 1}", nonnegative=True) for j in range(max(order, 1)))
    return KernelSet(model=model, law=law, propagator=propagator, order=order, lags=lags,
                     moments=tuple(moments), degree=degree)


def kernel_expression(kset: KernelSet, output: int, indices: Sequence[int], *, tidy: bool = True) -> sympy.Expr:
    """Closed form of R^(n)_{f_output; indices}(tau_1..tau_n), n = len(indices) <= kset.order.

    With ``tidy`` and a closed-form propagator, each direction e^{A sigma_j} C_k is split once into
    coefficient vectors times distinct functions of sigma_j (exponentials, possibly times cos, sin
    or powers), the moment tensor is contracted with those vectors one axis at a time, and the
    result is a sum of coefficients times exponentials exp(sum_j alpha_j tau_j) (times the other
    factors) - the form ``expand`` + ``collect`` would give, without expanding anything large. The
    number of terms is known before any of them is built: above :data:`MAX_TIDY_TERMS` (or with the
    numeric ``expm`` node) the plain sum over unit indices is returned. The value is the same either way.
    """
    n = len(indices)
    if not 1 <= n <= kset.order:
        raise DerivationError(f"kernel order {n} is outside 1..{kset.order}")
    model = kset.model
    M = kset.moments[n][output]
    if all(value == 0 for value in M.values()):
        return sympy.Integer(0)
    sigmas = list(itertools.accumulate(kset.lags[:n]))
    split = split_directions(kset) if tidy and kset.propagator.closed_form else None
    if split is not None and len(split[0]) ** n <= MAX_TIDY_TERMS:
        return collected_kernel(kset, M, indices, sigmas, split)
    directions = [kset.propagator.at(sigma) * model.C[:, k] for sigma, k in zip(sigmas, indices)]
    return nested_sum(M, directions, model.n_hidden)


#: the closed forms of one order may expand to at most this many terms in total (SymPy spends
#: 0.5-3 ms per term expanding and collecting them on the development machine: 5000 terms, 3-15 s)
MAX_EXPANSION_TERMS = 5_000
#: Gaussian moments of a polynomial readout: at most this many monomials C(d + k, k) (degree d in k units)
MAX_MOMENTS = 50_000
#: exact Lyapunov solve over the parameters: N^3 8^(p - 1) (about 1 ms per unit on the development machine)
MAX_LYAPUNOV_WORK = 20_000


def expansion_terms(kset: KernelSet, order: int) -> int:
    """An upper estimate of the number of terms the closed forms of ``order`` expand to, from the
    moment tensor's nonzero entries and the terms of each e^{A tau} entry (no expansion of a product).

    Per output q: sum over sorted index tuples alpha with M_alpha != 0 of terms(M_alpha) x (number
    of orderings of alpha) x prod_i t_i, with t_i the most terms of any direction entry
    (e^{A sigma} C)_i expanded at the longest lag sum; times m^order input tuples.
    """
    model = kset.model
    n, m = model.n_hidden, model.n_inputs
    # terms of each direction entry (e^{A sigma_j} C)_ik, expanded, at the lag sum of the last position
    # (the most terms: sigma_order = tau_1 + ... + tau_order inside polynomial factors of a Jordan form)
    sigma = sympy.Add(*kset.lags[:max(order, 1)])
    P = kset.propagator.at(sigma)
    t = [max(len(sympy.Add.make_args(sympy.expand(sum((P[i, j] * model.C[j, k] for j in range(n)), sympy.Integer(0)))))
             for k in range(m)) for i in range(n)]
    total = 0
    for table in kset.moments[order]:
        for alpha, value in table.items():
            if value == 0:
                continue
            orderings = math.factorial(order)
            for count in collections.Counter(alpha).values():
                orderings //= math.factorial(count)
            product = 1
            for i in alpha:
                product *= t[i]
            total += len(sympy.Add.make_args(value)) * orderings * product
    return total * m**order


def kernel_expressions(kset: KernelSet, order: int) -> tuple[Kernel, ...]:
    """All closed forms of one order, outputs outer and index tuples in lexicographic order."""
    model = kset.model
    count = model.n_outputs * model.n_inputs**order
    if count > MAX_KERNEL_EXPRESSIONS:
        raise DerivationError(
            f"order {order} has {count} kernel components; spelling out more than {MAX_KERNEL_EXPRESSIONS} "
            "closed forms is refused (evaluate them with `volterra-sym kernel` instead)"
        )
    if not kset.vanishes(order):
        estimate = expansion_terms(kset, order)
        if estimate > MAX_EXPANSION_TERMS:
            raise DerivationError(
                f"the closed forms of order {order} would expand to about {estimate} terms (limit "
                f"{MAX_EXPANSION_TERMS}, 0.5-3 ms each); derive a lower order, or evaluate them with `volterra-sym kernel`"
            )
    return tuple(
        Kernel(order, q, idx, kernel_expression(kset, q, idx))
        for q in range(model.n_outputs)
        for idx in itertools.product(range(model.n_inputs), repeat=order)
    )


#: closed forms shown by a KernelSet in a notebook (the rest: ``kset.kernels(n)``)
MAX_DISPLAYED_KERNELS = 8


def _display_lines(kset: KernelSet) -> list[str]:
    """LaTeX lines of a derivation: law, propagator, stationary means, the first kernels."""
    lines = [rf"\mu &= {display_latex(kset.law.mean)}", rf"S &= {display_latex(kset.law.covariance)}",
             rf"e^{{A\tau}} &= {display_latex(kset.propagator.matrix)}"]
    lines += [rf"\langle f_{{{q + 1}}} \rangle_\infty &= {display_latex(m)}"
              for q, m in enumerate(kset.stationary_mean)]
    model, shown, total = kset.model, 0, 0
    for n in range(1, kset.order + 1):
        if kset.vanishes(n):
            continue
        total += model.n_outputs * model.n_inputs**n
        for q in range(model.n_outputs):
            for idx in itertools.product(range(model.n_inputs), repeat=n):
                if shown < MAX_DISPLAYED_KERNELS:
                    k = Kernel(n, q, idx, kernel_expression(kset, q, idx))
                    lines.append(rf"{k.label(latex=True)} &= {display_latex(k.expr)}")
                    shown += 1
    if total > shown:
        lines.append(rf"&\text{{... {total - shown} more: kset.kernels(n)}}")
    return lines


def _aligned(lines: list[str]) -> str:
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


def _html(kset: KernelSet) -> str:
    import html

    model, spec = kset.model, kset.model.spec
    rows = [("network", f"{model.n_hidden} hidden units, {model.n_inputs} inputs, {model.n_outputs} outputs, "
                        f"activation {spec.activation}"),
            ("parameters", ", ".join(f"{k} = {v:g}" for k, v in spec.defaults.items()) or "none"),
            ("order", str(kset.order)), ("propagator", kset.propagator.method),
            ("series", f"finite (readout degree {kset.degree})" if kset.degree is not None else "infinite")]
    cells = "".join(f"<tr><th style='text-align:left'>{html.escape(a)}</th><td style='text-align:left'>"
                    f"{html.escape(b)}</td></tr>" for a, b in rows)
    note = (f"<p><small>{html.escape(SINC_NOTE_HTML)}</small></p>"
            if has_sinc(*kset.propagator.matrix) else "")
    title = html.escape(spec.name + (f": {spec.description}" if spec.description else ""))
    return (f"<div><strong>KernelSet</strong> {title}<table>{cells}</table>"
            f"<div>{html.escape(derivation_latex(kset))}</div>{note}</div>")


SINC_NOTE_HTML = "sin(x)/x is SymPy's sinc(x): read its limit where the argument vanishes."


def derivation_latex(kset: KernelSet) -> str:
    """The derivation as one LaTeX display: law, propagator, stationary means and the first
    :data:`MAX_DISPLAYED_KERNELS` closed forms (what a notebook shows), ``sinc`` shown as sin(x)/x."""
    return "$$" + _aligned(_display_lines(kset)) + "$$"
