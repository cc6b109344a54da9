from __future__ import annotations

import pytest
import sympy

from volterra_sym.errors import SpecError
from volterra_sym.expressions import MAX_EXPONENT, parse_expression

h1, h2 = sympy.symbols("h1 h2", real=True)
NAMES = {"h1": h1, "h2": h2}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("h1**2 + h1*h2", h1**2 + h1 * h2),
        ("-0.5*h1", -sympy.Rational(1, 2) * h1),
        ("tanh(h1) - exp(-h2**2)", sympy.tanh(h1) - sympy.exp(-(h2**2))),
        ("sigmoid(h1)", 1 / (1 + sympy.exp(-h1))),
        ("h1/(1 + h2**2)", h1 / (1 + h2**2)),
        ("sqrt(2)*pi", sympy.sqrt(2) * sympy.pi),
        ("h1**-2", h1**-2),
        ("1e-3*h1", h1 / 1000),
    ],
)
def test_parses_whitelisted_arithmetic(text, expected):
    assert parse_expression(text, NAMES) == expected


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("__import__('os').system('true')", "not allowed"),
        ("h1.__class__", "attribute access (a.b) is not allowed"),
        ("(lambda: 1)()", "not allowed"),
        ("[h1]", "a list is not allowed"),
        ("h3 + 1", "unknown name 'h3'"),
        ("exp", "without a call"),
        ("exp(h1, h2)", "exactly one argument"),
        ("h1 ** h2", "exponents must be number literals"),
        (f"h1 ** {MAX_EXPONENT + 1}", "exceeds the limit"),
        ("h1 ** 400000", "exceeds the limit"),
        ("9**9**9", "exponents must be number literals"),
        ("h1 +", "syntax error"),
        ("", "empty"),
        ("'text'", "not a real number"),
        ("1j*h1", "not a real number"),
        ("True", "not a real number"),
        ("h1 if h2 else 0", "if/else is not allowed"),
        ("1/0", "not finite"),
        ("exp(" * 100 + "h1" + ")" * 100, "nesting"),
        ("h1 == h2", "a comparison is not allowed"),
        ("h1 // 2", "the operator '//' is not allowed"),
        ("h1[0]", "indexing (a[i]) is not allowed"),
        ("(lambda: h1)()", "call of a lambda is not allowed"),
        ("\uff48\uff11", "U+FF48"),  # fullwidth h1: Python's parser would NFKC-normalise it to h1
        ("h\u2081", "U+2081"),  # subscript one
        ("h1\u00a0+ 1", "U+00A0"),
        ("x" * 3000, "characters long"),
    ],
)
def test_rejects_everything_else(text, fragment):
    with pytest.raises(SpecError, match="readout") as info:
        parse_expression(text, NAMES, key="readout")
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    assert "ast." not in str(info.value) and "Name(id=" not in str(info.value)  # no syntax-tree text


def test_declared_names_win_over_sympy_and_constants():
    names = {n: sympy.Symbol(n, real=True) for n in ("S", "N", "E", "I", "Q", "beta", "gamma", "pi")}
    expr = parse_expression("S + N + E + I + Q + beta + gamma + pi", names)
    assert expr == sum(names.values())
    assert not expr.has(sympy.I, sympy.E, sympy.pi, sympy.S.EulerGamma)


def test_declared_symbol_cannot_be_called():
    with pytest.raises(SpecError, match="cannot be called"):
        parse_expression("exp(h1)", {"h1": h1, "exp": sympy.Symbol("exp")})
