"""Safe parsing of untrusted expression strings into SymPy.

Spec files and command lines carry expressions such as ``"h1**2 + tanh(g*h2)"``. They are never
passed to ``eval`` or ``sympify``: the text is parsed by :func:`ast.parse` (which executes nothing)
and the tree is rebuilt node by node from a whitelist of operators, functions and the names the
caller allows. Any other node is rejected with a one-line :class:`~volterra_sym.errors.SpecError`.

>>> import sympy
>>> h1 = sympy.Symbol("h1")
>>> parse_expression("2*h1**2 - 0.5", {"h1": h1})
2*h1**2 - 1/2
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping

import sympy

from .errors import SpecError

__all__ = ["parse_expression", "parse_number", "FUNCTIONS", "MAX_EXPONENT", "MAX_LENGTH"]

MAX_LENGTH = 2000
MAX_EXPONENT = 24
MAX_DEPTH = 60
MAX_INTEGER_DIGITS = 30


def _sigmoid(x: sympy.Expr) -> sympy.Expr:
    return 1 / (1 + sympy.exp(-x))


def _softplus(x: sympy.Expr) -> sympy.Expr:
    return sympy.log(1 + sympy.exp(x))


#: functions an expression may call, all of one argument
FUNCTIONS: Mapping[str, Callable[[sympy.Expr], sympy.Expr]] = {
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "atan": sympy.atan,
    "erf": sympy.erf,
    "sigmoid": _sigmoid,
    "softplus": _softplus,
}

#: constants an expression may name unless a declared symbol of the same name takes precedence
CONSTANTS: Mapping[str, sympy.Expr] = {"pi": sympy.pi}

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


#: plain-language names of the syntax an expression may not use (no syntax-tree text in messages)
_SYNTAX = {
    "Attribute": "attribute access (a.b)", "Subscript": "indexing (a[i])", "Lambda": "a lambda",
    "Compare": "a comparison", "BoolOp": "and/or", "IfExp": "if/else", "Call": "a call of an expression",
    "List": "a list", "Tuple": "a tuple", "Set": "a set", "Dict": "a dict", "ListComp": "a comprehension",
    "SetComp": "a comprehension", "DictComp": "a comprehension", "GeneratorExp": "a generator",
    "Starred": "*unpacking", "NamedExpr": "an assignment (:=)", "JoinedStr": "an f-string",
    "Await": "await", "Yield": "yield", "YieldFrom": "yield", "Slice": "a slice",
}
_OPERATORS = {"FloorDiv": "//", "Mod": "%", "MatMult": "@", "BitAnd": "&", "BitOr": "|", "BitXor": "^",
              "LShift": "<<", "RShift": ">>", "Invert": "~", "Not": "not"}


def _describe(node: ast.AST) -> str:
    """What a syntax node is, in words (for refusals)."""
    if isinstance(node, (ast.BinOp, ast.UnaryOp)):
        op = type(node.op).__name__
        return f"the operator {_OPERATORS.get(op, op)!r}"
    return _SYNTAX.get(type(node).__name__, "this syntax")


def parse_number(value: object, *, key: str, path: str | None = None) -> sympy.Expr:
    """Exact SymPy number from a TOML/JSON scalar: ``0.1`` becomes ``1/10``, not a binary float.

    >>> parse_number(0.1, key="b[0]")
    1/10
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"expected a number, got {type(value).__name__} {value!r}", key=key, path=path)
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"entry is {value!r}; entries must be finite", key=key, path=path)
    if isinstance(value, int):
        if len(str(abs(value))) > MAX_INTEGER_DIGITS:
            raise SpecError(f"integer has more than {MAX_INTEGER_DIGITS} digits", key=key, path=path)
        return sympy.Integer(value)
    # repr is the shortest decimal that round-trips: the number the user wrote
    return sympy.Rational(repr(value))


def parse_expression(
    text: object,
    names: Mapping[str, sympy.Expr],
    *,
    key: str = "expression",
    path: str | None = None,
) -> sympy.Expr:
    """Parse ``text`` into a SymPy expression using only ``names``, :data:`FUNCTIONS` and ``pi``.

    Parameters
    ----------
    text : str
        Untrusted expression text.
    names : mapping
        Allowed free names and the SymPy objects they stand for. Declared names win over
        constants, so a parameter called ``pi`` or ``E`` means that parameter.
    key, path : str
        Field and file named in error messages.

    Raises
    ------
    SpecError
        For anything but a finite arithmetic expression in the allowed names.
    """

    def fail(reason: str) -> SpecError:
        return SpecError(f"{reason} in expression {str(text)[:80]!r}", key=key, path=path)

    if not isinstance(text, str):
        raise SpecError(f"expected an expression string, got {type(text).__name__}", key=key, path=path)
    if not text.strip():
        raise SpecError("expression is empty", key=key, path=path)
    if len(text) > MAX_LENGTH:
        raise SpecError(f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}", key=key, path=path)
    foreign = next((ch for ch in text if not (ch.isascii() and (ch.isprintable() or ch in " \t"))), None)
    if foreign is not None:
        # Python's parser NFKC-normalises names: a fullwidth or other look-alike letter would silently
        # become h1 or a parameter
        raise SpecError(f"character {foreign!r} (U+{ord(foreign):04X}) is not allowed: expressions are ASCII "
                        f"(names, digits, + - * / ** and parentheses) in expression {text[:80]!r}",
                        key=key, path=path)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as err:
        raise fail("syntax error") from err

    def build(node: ast.AST, depth: int) -> sympy.Expr:
        if depth > MAX_DEPTH:
            raise fail(f"nesting deeper than {MAX_DEPTH}")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise fail(f"literal {node.value!r} is not a real number")
            return parse_number(node.value, key=key, path=path)
        if isinstance(node, ast.Name):
            if node.id in names:
                return names[node.id]
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            if node.id in FUNCTIONS:
                raise fail(f"function {node.id!r} used without a call")
            allowed = ", ".join(sorted(names)) or "none"
            raise fail(f"unknown name {node.id!r} (allowed names: {allowed})")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            operand = build(node.operand, depth + 1)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            # a chain a + b + c + ... is one level of nesting however long it is
            left_depth = depth if isinstance(node.left, ast.BinOp) and type(node.left.op) in _BINARY else depth + 1
            return _BINARY[type(node.op)](build(node.left, left_depth), build(node.right, depth + 1))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return build(node.left, depth + 1) ** _exponent(node.right)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                name = repr(node.func.id) if isinstance(node.func, ast.Name) else _describe(node.func)
                raise fail(f"call of {name} is not allowed (functions: {', '.join(sorted(FUNCTIONS))})")
            if node.func.id in names:
                raise fail(f"{node.func.id!r} is declared as a symbol and cannot be called")
            if len(node.args) != 1 or node.keywords:
                raise fail(f"{node.func.id} takes exactly one argument")
            return FUNCTIONS[node.func.id](build(node.args[0], depth + 1))
        raise fail(f"{_describe(node)} is not allowed")

    def _exponent(node: ast.AST) -> sympy.Expr:
        sign = 1
        while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            sign = -sign if isinstance(node.op, ast.USub) else sign
            node = node.operand
        if not isinstance(node, ast.Constant) or isinstance(node.value, bool) or not isinstance(
            node.value, (int, float)
        ):
            raise fail("exponents must be number literals")
        value = sign * parse_number(node.value, key=key, path=path)
        if abs(value) > MAX_EXPONENT:
            raise fail(f"exponent {value} exceeds the limit {MAX_EXPONENT}")
        return value

    try:
        expr = build(tree.body, 0)
    except RecursionError as err:
        raise fail("expression too deeply nested") from err
    if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
        raise fail("expression is not finite")
    return expr
