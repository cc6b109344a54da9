"""Stage 5a (code generation): a strict NumPy printer, the only place that makes code strings.

:class:`VolterraNumPyPrinter` subclasses SymPy's ``NumPyPrinter`` with ``strict`` on: an
expression it cannot translate faithfully raises :class:`~volterra_sym.errors.UnsupportedExpressionError`
instead of leaving a placeholder. It knows the two engine nodes:

* ``GaussianMean(g)`` -> ``_gaussian_mean(lambda h1, ...: <g>, (i, ...), _mu, _S)``, a Gauss-Hermite
  expectation done by the generated module's runtime block;
* ``ExpmEntry(i, j, t)`` -> ``_expm(numpy.multiply.outer(t, _A))[..., i, j]``, the runtime's expm.

:func:`print_module` turns a :class:`~volterra_sym.lower.LoweredModule` into a
:class:`PrintedModule`: plain strings, ints and tuples, all a template receives. Every name a
printed statement reads is checked against the names that statement may see.

>>> import sympy
>>> x = sympy.Symbol("x")
>>> VolterraNumPyPrinter().doprint(sympy.exp(-x) * sympy.cos(x))
'numpy.exp(-x)*numpy.cos(x)'
"""

from __future__ import annotations

import ast
import itertools
import json
import keyword
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import sympy
from sympy.printing.codeprinter import PrintMethodNotImplementedError
from sympy.printing.numpy import NumPyPrinter

from ..errors import SpecError, UnsupportedExpressionError
from .lower import TAU, LoweredBlock, LoweredModule

__all__ = [
    "numeric_module_fields",
    "API_VERSION",
    "PRINTER_SETTINGS",
    "VolterraNumPyPrinter",
    "PrintedFunction",
    "PrintedModule",
    "print_module",
    "check_identifier",
]

#: version of the public contract of generated modules (constants and functions they export)
API_VERSION = 1

#: settings of the printer; part of every stamp, so changing one marks every module stale
PRINTER_SETTINGS: Mapping[str, Any] = MappingProxyType(
    {
        "strict": True,
        "fully_qualified_modules": True,
        "error_on_reserved": True,
        "allow_unknown_functions": False,
    }
)

#: names the printed code may read besides parameters and its own locals
RUNTIME_NAMES = frozenset({"numpy", "_gaussian_mean", "_expm"})
#: keyword arguments of the generated ``series``: a parameter of the same name could not be passed
PUBLIC_KEYWORDS = frozenset({"eps", "order"})
_NAME_RE = re.compile(r"[a-z_][a-z0-9_]{0,63}")


class VolterraNumPyPrinter(NumPyPrinter):
    """Strict NumPy printer for generated volterra_sym modules.

    Parameters
    ----------
    settings : dict, optional
        Overrides of :data:`PRINTER_SETTINGS`.
    hidden : sequence of sympy.Symbol
        Hidden-state symbols h1..hn, in order; a ``GaussianMean`` integrates over them.
    """

    printmethod = "_volterra_numpycode"
    language = "Python with NumPy (volterra_sym)"

    def __init__(self, settings: Mapping[str, Any] | None = None, *, hidden: Sequence[sympy.Symbol] = ()):
        merged = dict(PRINTER_SETTINGS)
        merged.update(settings or {})
        super().__init__(merged)
        self.hidden = tuple(hidden)

    def doprint(self, expr: Any, assign_to: Any = None) -> str:
        try:
            code = super().doprint(expr, assign_to)
        except PrintMethodNotImplementedError as err:
            reason = str(err).splitlines()[0]
            raise UnsupportedExpressionError(
                f"cannot print {sympy.sstr(expr)[:100]!r} for NumPy ({reason}); generated modules import "
                "numpy only, so rewrite the readout or parameters without this function"
            ) from err
        except ValueError as err:  # error_on_reserved
            raise UnsupportedExpressionError(f"cannot print {sympy.sstr(expr)[:100]!r}: {err}") from err
        foreign = sorted(name for name in self.module_imports if name.split(".")[0] != "numpy")
        if foreign:
            raise UnsupportedExpressionError(
                f"printing {sympy.sstr(expr)[:100]!r} needs the module {foreign[0]!r}; generated modules "
                "import numpy only"
            )
        return code

    def _print_Abs(self, expr: sympy.Abs) -> str:
        return f"numpy.abs({self._print(expr.args[0])})"

    def _print_erf(self, expr: sympy.Expr) -> str:
        raise UnsupportedExpressionError(
            f"cannot print {sympy.sstr(expr)!r}: NumPy has no erf and generated modules import numpy only"
        )

    def _print_GaussianMean(self, expr: sympy.Expr) -> str:
        g = expr.args[0]
        free = [h for h in self.hidden if h in g.free_symbols]
        if not free:
            raise UnsupportedExpressionError(f"Gaussian expectation {sympy.sstr(expr)!r} has no hidden variable")
        if len(free) > 4:
            raise UnsupportedExpressionError(
                f"Gaussian expectation {sympy.sstr(expr)[:100]!r} depends on {len(free)} hidden units; "
                "the generated Gauss-Hermite quadrature is limited to 4"
            )
        index = tuple(self.hidden.index(h) for h in free)
        args = ", ".join(self._print(h) for h in free)
        return f"_gaussian_mean(lambda {args}: {self._print(g)}, {index!r}, _mu, _S)"

    def _print_ExpmEntry(self, expr: sympy.Expr) -> str:
        i, j, t = expr.args
        return f"_expm(numpy.multiply.outer({self._print(t)}, _A))[..., {int(i)}, {int(j)}]"


@dataclass(frozen=True, slots=True)
class PrintedFunction:
    """One generated helper: ``def name(signature): statements...; return result``."""

    name: str
    signature: str
    summary: str
    statements: tuple[tuple[str, str], ...]  # (target, code), straight-line, in order
    result: str

    def __post_init__(self) -> None:
        assert self.name.isidentifier() and self.name.startswith("_")
        assert '"""' not in self.summary and "\\" not in self.summary


@dataclass(frozen=True, slots=True)
class PrintedModule:
    """Strings and numbers for ``templates/module.py.j2``; nothing here is SymPy."""

    api_version: int
    name: str
    name_literal: str
    order: int
    n_hidden: int
    n_inputs: int
    n_outputs: int
    parameter_names: tuple[str, ...]
    parameters_literal: str
    names_literal: str
    defaults_literal: str
    propagator_literal: str
    parameters_doc: str
    docstring: str
    functions: tuple[PrintedFunction, ...]
    imports: tuple[str, ...]

    def __post_init__(self) -> None:
        assert self.imports == tuple(sorted(self.imports))


def check_identifier(name: str, *, what: str) -> str:
    """Re-check, at render time, a name that will appear in generated source.

    >>> check_identifier("beta", what="parameter")
    'beta'
    """
    if what == "module":
        ok = isinstance(name, str) and _NAME_RE.fullmatch(name) is not None and not keyword.iskeyword(name)
        if not ok:
            raise SpecError(f"module name {name!r} is not a lower-case identifier; rename the spec's name")
        return name
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise SpecError(f"{what} name {name!r} is not a Python identifier; rename it")
    if name.startswith("_") or name in RUNTIME_NAMES:
        raise SpecError(f"{what} name {name!r} is reserved for generated code; rename it")
    if what == "parameter" and name in PUBLIC_KEYWORDS:
        raise SpecError(
            f"parameter name {name!r} collides with the keyword argument {name!r} of the generated series(); rename it"
        )
    return name


def _names_read(code: str) -> set[str]:
    """Free names an expression reads (names bound by its lambdas excluded)."""
    tree = ast.parse(code, mode="eval")

    def visit(node: ast.AST, bound: frozenset[str]) -> set[str]:
        if isinstance(node, ast.Name):
            return set() if node.id in bound else {node.id}
        if isinstance(node, ast.Lambda):
            inner = bound | {a.arg for a in node.args.args}
            return visit(node.body, inner)
        out: set[str] = set()
        for child in ast.iter_child_nodes(node):
            out |= visit(child, bound)
        return out

    return visit(tree.body, frozenset())


def _statements_checked(
    statements: Iterable[tuple[str, str]], visible: set[str], where: str
) -> tuple[tuple[str, str], ...]:
    """Verify each statement reads only visible names; its targets become visible after it."""
    out = []
    visible = set(visible)
    for target, code in statements:
        unknown = sorted(_names_read(code) - visible)
        if unknown:
            raise UnsupportedExpressionError(f"{where}: printed code {code[:80]!r} reads unknown names {unknown}")
        for part in target.split("="):
            visible.add(part.strip().split("[")[0])
        out.append((target, code))
    return tuple(out)


def _block_statements(printer: VolterraNumPyPrinter, block: LoweredBlock) -> list[tuple[str, str]]:
    return [(printer.doprint(symbol), printer.doprint(expr)) for symbol, expr in block.temporaries]


def _array_code(printer: VolterraNumPyPrinter, entries: Sequence[sympy.Expr], shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        body = ", ".join(printer.doprint(e) for e in entries)
        return f"numpy.array([{body}], dtype=numpy.float64)"
    rows, cols = shape
    text = ", ".join(
        "[" + ", ".join(printer.doprint(entries[r * cols + c]) for c in range(cols)) + "]" for r in range(rows)
    )
    return f"numpy.array([{text}], dtype=numpy.float64)"


def _float_literal(value: float) -> str:
    text = repr(float(value))
    assert float(text) == float(value)
    return text


def numeric_module_fields(spec: Any, representation: str) -> dict[str, Any]:
    """The header fields of a module whose representation is numbers at the spec's defaults (spectral and
    grid modules): identifiers checked, parameter literals, and the docstring line on parameters."""
    name = check_identifier(spec.name, what="module")
    names = tuple(check_identifier(k, what="parameter") for k in spec.defaults)
    defaults = tuple(_float_literal(v) for v in spec.defaults.values())
    return {
        "api_version": API_VERSION,
        "name": name,
        "name_literal": json.dumps(name),
        "order": spec.order,
        "n_hidden": spec.n_hidden,
        "n_inputs": spec.n_inputs,
        "n_outputs": spec.n_outputs,
        "parameters_literal": "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in zip(names, defaults)) + "}",
        "names_literal": "(" + "".join(f"{json.dumps(k)}, " for k in names).rstrip(" ") + ")",
        "defaults_literal": "(" + "".join(f"{v}, " for v in defaults).rstrip(" ") + ")",
        "parameters_doc": (
            f"Only the values in PARAMETERS ({', '.join(names)}) are accepted: the {representation} representation "
            "is numeric, so any other value is a ValueError." if names
            else "This model has no parameters; any keyword argument is a TypeError."
        ),
    }


def _docstring_text(text: str) -> str:
    """Free text made safe inside a triple-quoted docstring (printable, no backslash, no quotes run)."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return cleaned.replace("\\", "/").replace('"', "'")


def _docstring(lowered: LoweredModule) -> str:
    params = ", ".join(f"{p} = {_float_literal(v)}" for p, v in zip(lowered.parameters, lowered.defaults))
    readout = "\n".join(f"        f{q + 1} = {_docstring_text(sympy.sstr(f))}" for q, f in enumerate(lowered.readout))
    lines = [
        f'"""{lowered.name}: Volterra response kernels of a linear stochastic RNN, generated by volterra_sym.',
        "",
    ]
    if lowered.description.strip():
        lines += [_docstring_text(lowered.description.strip()), ""]
    lines += [
        "The network (theory.md, section 4)::",
        "",
        "    dh = (A h + b + eps C u_t) dt + sigma dB_t,      y_t = f(h_t)",
        f"    n_hidden = {lowered.n_hidden}, n_inputs = {lowered.n_inputs}, n_outputs = {lowered.n_outputs}, "
        f"order = {lowered.order}",
        f"    e^(A tau) by the method {lowered.propagator_method!r}",
        "    readout:",
        readout,
        f"    parameters (defaults): {params or 'none'}",
        "",
        "Public API",
        "----------",
        "stationary_mean(**params) -> (p,)",
        "kernel(n, *lags, **params) -> broadcast(lags) + (p,) + (m,) * n",
        "    R^(n)_{q; k_1..k_n}(tau_1, ..., tau_n) = E D^n f_q(h)[e^(A s_1) C_k1, ..., e^(A s_n) C_kn],",
        "    s_j = tau_1 + ... + tau_j, h ~ N(mu, S) the stationary law; tau_1 = t - s_1 is the lag from the",
        "    latest perturbation.",
        "series(u, dt, *, eps=1.0, order=ORDER, **params) -> (order + 1, T, p)",
        "    term n of E f(h_t) = sum_n eps^n int_simplex R^(n) u ... u at t_i = i dt; O(T) work,",
        "    O(dt^2) error for smooth inputs (piecewise-linear reading of the samples).",
        "",
        "This file is generated and stamped (lines 1-2): do not edit it. Regenerate it from its spec with",
        "``volterra-sym generate SPEC`` and verify it with ``volterra-sym check SPEC``. It imports numpy only.",
        '"""',
    ]
    return "\n".join(lines)


def print_module(lowered: LoweredModule) -> PrintedModule:
    """Print every block of ``lowered``; raises :class:`UnsupportedExpressionError` on anything untranslatable."""
    name = check_identifier(lowered.name, what="module")
    pnames = tuple(check_identifier(str(p), what="parameter") for p in lowered.parameters)
    for h in lowered.hidden:
        if not re.fullmatch(r"h[1-9][0-9]*", str(h)):
            raise SpecError(f"hidden symbol {str(h)!r} is not of the form h1..hn")
    if len(set(pnames)) != len(pnames) or set(pnames) & {str(h) for h in lowered.hidden}:
        raise SpecError("parameter names must be distinct from each other and from h1..hn")
    printer = VolterraNumPyPrinter(hidden=lowered.hidden)
    n, m, p = lowered.n_hidden, lowered.n_inputs, lowered.n_outputs
    keyword_only = ("*, " + ", ".join(pnames)) if pnames else ""
    params = set(pnames)

    # matrices: A, C, mu, S
    out = lowered.matrices.outputs
    sizes = [("_A", (n, n)), ("_C", (n, m)), ("_mu", (n,)), ("_S", (n, n))]
    statements = _block_statements(printer, lowered.matrices)
    offset = 0
    for target, shape in sizes:
        count = shape[0] * (shape[1] if len(shape) == 2 else 1)
        statements.append((target, _array_code(printer, out[offset : offset + count], shape)))
        offset += count
    matrices = PrintedFunction(
        name="_matrices",
        signature=keyword_only,
        summary="A = W - Gamma, C, the stationary mean mu and covariance S at the given parameters.",
        statements=_statements_checked(statements, params | RUNTIME_NAMES, "_matrices"),
        result="_A, _C, _mu, _S",
    )

    # moments M^(0..N), shape (p,) + (n,) * k, fully symmetric in the hidden axes
    statements = [(printer.doprint(symbol), printer.doprint(node)) for symbol, node in lowered.gaussians]
    statements += _block_statements(printer, lowered.moments)
    by_order: dict[int, list[tuple[int, tuple[int, ...], sympy.Expr]]] = {k: [] for k in range(lowered.order + 1)}
    for (k, q, alpha), value in zip(lowered.moment_keys, lowered.moments.outputs):
        by_order[k].append((q, alpha, value))
    for k in range(lowered.order + 1):
        shape = (p,) + (n,) * k
        statements.append((f"_M{k}", f"numpy.zeros({shape!r})"))
        for q, alpha, value in by_order[k]:
            # every permutation of the sorted index tuple, in sorted order for determinism
            targets = [f"_M{k}[{', '.join(str(i) for i in (q,) + perm)}]"
                       for perm in sorted(set(itertools.permutations(alpha)))]
            statements.append((" = ".join(targets), printer.doprint(value)))
    result = "(" + ", ".join(f"_M{k}" for k in range(lowered.order + 1)) + ("," if lowered.order == 0 else "") + ")"
    moments = PrintedFunction(
        name="_moments",
        signature="_mu, _S" + (", " + keyword_only if keyword_only else ""),
        summary="Moment tensors M^(k) = <D^k f>_inf for k = 0..ORDER, each of shape (p,) + (n,) * k.",
        statements=_statements_checked(statements, params | RUNTIME_NAMES | {"_mu", "_S"}, "_moments"),
        result=result,
    )

    # propagator e^{A tau}, vectorised over the lag array _tau
    tau = printer.doprint(TAU)
    if lowered.propagator is None:
        statements = [("_P", "None"), ("_B", "None")]
    else:
        statements = _block_statements(printer, lowered.propagator)
        statements.append(("_P", f"numpy.empty(numpy.shape({tau}) + ({n}, {n}))"))
        statements.append(("_B", f"numpy.empty(numpy.shape({tau}) + ({n}, {n}))"))
        for index, value in enumerate(lowered.propagator.outputs):
            target = "_P" if index < n * n else "_B"
            k = index % (n * n)
            statements.append((f"{target}[..., {k // n}, {k % n}]", printer.doprint(value)))
    propagator = PrintedFunction(
        name="_propagator",
        signature=f"{tau}, _A" + (", " + keyword_only if keyword_only else ""),
        summary=f"e^(A tau) for an array of lags tau, shape tau.shape + (n, n) (method {lowered.propagator_method}), "
                "and a bound of its float64 rounding error; None, None: no closed form.",
        statements=_statements_checked(statements, params | RUNTIME_NAMES | {tau, "_A"}, "_propagator"),
        result="_P, _B",
    )

    defaults = tuple(_float_literal(v) for v in lowered.defaults)
    return PrintedModule(
        api_version=API_VERSION,
        name=name,
        name_literal=json.dumps(name),
        order=lowered.order,
        n_hidden=n,
        n_inputs=m,
        n_outputs=p,
        parameter_names=pnames,
        parameters_literal="{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in zip(pnames, defaults)) + "}",
        names_literal="(" + "".join(f"{json.dumps(k)}, " for k in pnames).rstrip(" ") + ")",
        defaults_literal="(" + "".join(f"{v}, " for v in defaults).rstrip(" ") + ")",
        propagator_literal=json.dumps(lowered.propagator_method),
        parameters_doc=(
            "Parameter values overriding the defaults in PARAMETERS (" + ", ".join(pnames) + ")."
            if pnames else "This model has no parameters; any keyword argument is a TypeError."
        ),
        docstring=_docstring(lowered),
        functions=(matrices, moments, propagator),
        imports=("numpy",),
    )
