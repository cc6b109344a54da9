"""How closed forms are shown to people (text, LaTeX, notebooks); never how they are computed.

SymPy's ``sinc(x)`` is the unnormalised ``sin(x)/x`` (1 at 0), which a reader of LaTeX may take for
``sin(pi x)/(pi x)``. The 2x2 propagator writes ``tau*sinc(beta*tau)`` so that its entries stay
finite where ``beta -> 0``. For display, :func:`display_form` writes every ``sinc(x)`` as
``sin(x)/x`` with the common factors of ``x`` pulled out, so ``beta*tau*sinc(beta*tau)`` shows as
``sin(beta*tau)``. The values are unchanged wherever the argument is nonzero; where it vanishes
(``beta = 0``) the displayed form is to be read as its limit, which is what ``kernel``, the
generated modules and the JSON output (which keep ``sinc``) evaluate.
"""

from __future__ import annotations

import sympy

__all__ = ["display_form", "display_str", "display_latex", "has_sinc", "shorten", "SINC_NOTE"]

SINC_NOTE = ("sin(x)/x stands for SymPy's sinc(x); where its argument vanishes (e.g. a rotation rate 0) "
             "read the limit, which `kernel` and the generated modules evaluate exactly")


def _sin_over_argument(arg: sympy.Expr) -> sympy.Expr:
    arg = sympy.factor_terms(arg)
    return sympy.sin(arg) / arg


def display_form(expr: sympy.Basic) -> sympy.Basic:
    """``expr`` with every ``sinc(x)`` written as ``sin(x)/x`` (equal wherever ``x != 0``).

    Examples
    --------
    >>> beta, tau = sympy.symbols("beta tau", positive=True)
    >>> display_form(beta * tau * sympy.exp(-tau) * sympy.sinc(beta * tau))
    exp(-tau)*sin(beta*tau)
    >>> display_form(sympy.Matrix([[sympy.sinc(beta * tau), 1]]))
    Matrix([[sin(beta*tau)/(beta*tau), 1]])
    """
    if isinstance(expr, sympy.MatrixBase):
        return expr.applyfunc(display_form)
    if not isinstance(expr, sympy.Basic) or not expr.has(sympy.sinc):
        return expr
    # gather the terms of each sum over its sinc factors first, so that the factors of x cancel
    expr = expr.replace(lambda e: e.is_Add and e.has(sympy.sinc),
                        lambda e: sympy.collect(e, sorted(e.atoms(sympy.sinc), key=sympy.default_sort_key),
                                                func=sympy.factor_terms))
    return expr.replace(lambda e: isinstance(e, sympy.sinc), lambda e: _sin_over_argument(e.args[0]))


def has_sinc(*exprs: sympy.Basic) -> bool:
    """True when any expression contains ``sinc`` (its display then needs :data:`SINC_NOTE`)."""
    return any(isinstance(e, sympy.Basic) and e.has(sympy.sinc) for e in exprs)


def display_str(expr: sympy.Basic) -> str:
    """Plain-text form of :func:`display_form` (SymPy's ``sstr``)."""
    return sympy.sstr(display_form(expr))


def display_latex(expr: sympy.Basic) -> str:
    """LaTeX form of :func:`display_form`.

    >>> beta, tau = sympy.symbols("beta tau1", positive=True)
    >>> display_latex(beta * tau * sympy.sinc(beta * tau))
    '\\\\sin{\\\\left(\\\\beta \\\\tau_{1} \\\\right)}'
    """
    return sympy.latex(display_form(expr))


def shorten(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis and the count of the rest.

    >>> shorten("x" * 30, 10)
    'xxxxxxxxx... (21 more characters)'
    """
    if len(text) <= limit:
        return text
    return f"{text[: limit - 1]}... ({len(text) - limit + 1} more characters)"
