"""Tidy closed forms of OU kernels: e^{A sigma} C split into exponential bases, the moment tensor
contracted against their coefficients axis by axis in exact arithmetic, one Add per kernel."""

from __future__ import annotations

import fractions
import itertools
from collections.abc import Mapping, Sequence

import mpmath
import sympy

__all__ = ["MAX_TIDY_TERMS", "split_directions", "collected_kernel", "nested_sum"]

MAX_TIDY_TERMS = 400
_SPLIT_CACHE: dict[int, tuple] = {}


def split_directions(kset) -> tuple | None:
    """(bases, coefficients): e^{A tau} C_k = sum_r coefficients[k][r] (a vector over units) * bases[r](tau),
    bases as (alpha, rest) with bases[r](tau) = exp(alpha tau) rest(tau); ``None`` if a propagator
    entry is not a sum of such terms. Cached per derivation."""
    cached = _SPLIT_CACHE.get(id(kset))
    if cached is not None and cached[0] is kset:
        return cached[1]
    tau = kset.propagator.tau
    P = kset.propagator.matrix
    n, m = kset.model.n_hidden, kset.model.n_inputs
    keys: dict[tuple[sympy.Expr, sympy.Expr], int] = {}
    parts: dict[tuple[int, int, int], list[sympy.Expr]] = {}  # (row, column, basis) -> coefficient terms
    for i in range(n):
        for l in range(n):
            for term in sympy.Add.make_args(sympy.expand(P[i, l])):
                if term == 0:
                    continue
                coeff, fn = term.as_independent(tau, as_Add=False)
                alpha, rest = sympy.Integer(0), sympy.Integer(1)
                for factor in sympy.Mul.make_args(sympy.powsimp(fn, combine="exp")):
                    if isinstance(factor, sympy.exp):
                        alpha += factor.args[0]
                    else:
                        rest *= factor
                alpha = sympy.expand(alpha / tau)
                if alpha.has(tau):
                    return None
                r = keys.setdefault((alpha, rest), len(keys))
                parts.setdefault((i, l, r), []).append(coeff)
    R = len(keys)
    C = kset.model.C
    coefficients = tuple(
        tuple(tuple(_plain(sympy.Add(*[sympy.Add(*parts[(i, l, r)]) * C[l, k] for l in range(n) if (i, l, r) in parts]))
                    for i in range(n)) for r in range(R))
        for k in range(m)
    )
    result = (tuple(keys), coefficients)
    if len(_SPLIT_CACHE) > 8:
        _SPLIT_CACHE.clear()
    _SPLIT_CACHE[id(kset)] = (kset, result)
    return result


def _plain(e: sympy.Expr) -> sympy.Expr:
    return e if e.is_Number else sympy.expand(e)


def collected_kernel(kset, M: Mapping, indices: Sequence[int], sigmas: list[sympy.Expr],
                      split: tuple) -> sympy.Expr:
    """sum_r K[r] exp(sum_j alpha_{r_j} sigma_j) prod_j rest_{r_j}(sigma_j), with
    K[r] = sum_i M[i] prod_j c_{k_j}[r_j][i_j] contracted axis by axis (cost R^j n^(N-j+1) at step j)."""
    bases, coefficients = split
    n_units, N, R = kset.model.n_hidden, len(indices), len(bases)
    used = [coefficients[k] for k in sorted(set(indices))]
    to_domain, from_domain = _number_domain(list(M.values()) + [x for c in used for row in c for x in row])
    coefficients = {k: [[to_domain(x) for x in row] for row in coefficients[k]] for k in set(indices)}
    # table: (r_1..r_j, i_{j+1}..i_N) -> value, starting from the full moment tensor
    table = {}
    for full in itertools.product(range(n_units), repeat=N):
        value = M[tuple(sorted(full))]
        if value != 0:
            table[full] = to_domain(value)
    for j, k in enumerate(indices):
        grouped: dict[tuple, list] = {}
        c = coefficients[k]
        for key, value in table.items():
            i = key[j]
            for r in range(R):
                if c[r][i] != 0:
                    grouped.setdefault(key[:j] + (r,) + key[j + 1:], []).append(value * c[r][i])
        table = {key: total for key, terms in grouped.items() if (total := _sum(terms)) != 0}
    table = {key: from_domain(value) for key, value in table.items()}
    tau = kset.propagator.tau
    pieces = [[(sympy.expand(alpha * sigma), rest.subs(tau, sigma)) for alpha, rest in bases] for sigma in sigmas]
    terms = []
    for key in sorted(table):
        exponent = sympy.Add(*[pieces[j][r][0] for j, r in enumerate(key)])
        terms.append(sympy.Mul(table[key], sympy.exp(exponent), *[pieces[j][r][1] for j, r in enumerate(key)]))
    return sympy.Add(*terms)


def _sum(terms: list):
    if isinstance(terms[0], sympy.Basic):
        return _plain(sympy.Add(*terms))
    return sum(terms[1:], terms[0])


def _number_domain(values: list) -> tuple:
    """Fast exact arithmetic for the coefficient contraction: Python fractions when every value is
    rational, mpmath at the Floats' precision when they are rationals and Floats, else SymPy."""
    if all(isinstance(v, sympy.Rational) for v in values):
        return ((lambda v: fractions.Fraction(int(v.p), int(v.q))),
                (lambda x: sympy.Rational(x.numerator, x.denominator)))
    if all(isinstance(v, (sympy.Rational, sympy.Float)) for v in values):
        prec = max(v._prec for v in values if isinstance(v, sympy.Float))
        context = mpmath.MPContext()
        context.prec = prec + 20

        def to_domain(v):
            return context.mpf(v._mpf_) if isinstance(v, sympy.Float) else context.mpf(int(v.p)) / int(v.q)

        return to_domain, (lambda x: sympy.Float(x, precision=prec))
    return (lambda v: v), (lambda v: v)


def nested_sum(M: Mapping, directions: list, n_units: int) -> sympy.Expr:
    """sum_i M[i] prod_j directions[j][i_j], built as one Add (no repeated re-flattening)."""
    terms = []
    for full in itertools.product(range(n_units), repeat=len(directions)):
        coeff = M[tuple(sorted(full))]
        if coeff == 0:
            continue
        terms.append(sympy.Mul(coeff, *[directions[j][i] for j, i in enumerate(full)]))
    return sympy.Add(*terms)
