"""Stage 0: read a TOML spec file and validate it into a :class:`DerivationSpec`.

All structural and name checks happen here, at one boundary; later stages can trust their input.
Expression entries are parsed by :mod:`volterra_sym.expressions`, never evaluated.

Spec format::

    name = "ou2_quadratic"             # [a-z_][a-z0-9_]*, names generated modules
    description = "free text"
    [model]
    activation = "linear"              # or "tanh", "sigmoid", or an expression in x
    input_placement = "additive"       # or "activation": a(W h + b + eps C u) (theory.md 7)
    Gamma = [[1.5, 0.0], [0.0, 1.0]]   # n x n, numbers or expression strings in [parameters]
    W = [[0.0, 0.5], [-0.3, 0.0]]      # n x n
    b = [0.1, -0.2]                    # n
    C = [[1.0], [0.5]]                 # n x m
    sigma = [[0.8, 0.0], [0.1, 0.6]]   # n x r
    readout = ["h1**2 + h1*h2", "h2"]  # p expressions in h1..hn (and parameters)
    [parameters]                       # optional: name = default value
    [expansion]
    order = 2
"""

from __future__ import annotations

import keyword
import math
import re
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sympy

from .errors import InputError, SpecError
from .files import read_limited
from .expressions import FUNCTIONS, parse_expression, parse_number

__all__ = ["DerivationSpec", "load_spec", "parse_spec", "LIMITS", "check_parameter_name", "degree_bound"]

#: hard limits; a spec beyond them is refused before any symbolic work starts
LIMITS: Mapping[str, int] = MappingProxyType(
    {
        "n_hidden": 8,
        "n_inputs": 8,
        "n_noise": 16,
        "n_outputs": 16,
        "order": 6,
        "tensor_entries": 100_000,  # n_hidden ** order: size of the order-N state and moment tensors
        "file_bytes": 1_000_000,
        "parameters": 64,
    }
)

#: named activations; any other string is parsed as an expression in x (and the parameters)
ACTIVATIONS = ("linear", "tanh", "sigmoid")
X = sympy.Symbol("x", real=True)
_NAME_RE = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_PARAM_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
_RESERVED = {"numpy", "scipy", "math", "t", "x", "eps", "tau", "pi", "API_VERSION", "order", "dt", "u", "n"}
#: module names a generated <name>.py must not shadow
_FORBIDDEN_MODULE_NAMES = set(sys.stdlib_module_names) | {"numpy", "scipy", "sympy", "mpmath", "jinja2",
                                                          "volterra_sym", "pysiglib", "torch", "test", "tests"}
MAX_DESCRIPTION = 2000
MAX_DEGREE = 24  # total polynomial degree of a readout (a structural bound, see degree_bound)
_HIDDEN_RE = re.compile(r"h\d+|tau\d+|u\d+")
_TOP_KEYS = {"name", "description", "model", "parameters", "expansion"}
_MODEL_KEYS = {"activation", "input_placement", "Gamma", "W", "b", "C", "sigma", "readout"}
#: where the input enters: outside the activation (eps C u added to the drift) or inside it
INPUT_PLACEMENTS = ("additive", "activation")
_EXPANSION_KEYS = {"order"}


@dataclass(frozen=True, slots=True)
class DerivationSpec:
    """A validated spec. Matrices hold exact SymPy entries (numbers or expressions in parameters).

    ``parameters`` maps each declared name to its real :class:`sympy.Symbol`; ``defaults`` to its
    default value, both in declaration order.
    """

    name: str
    description: str
    source: str  # the file as named by the user, used in messages only
    activation: str  # as written in the spec
    activation_expr: sympy.Expr  # a(x), in X and the parameters
    input_placement: str  # "additive": a(W h + b) + eps C u; "activation": a(W h + b + eps C u)
    Gamma: sympy.ImmutableMatrix
    W: sympy.ImmutableMatrix
    b: sympy.ImmutableMatrix
    C: sympy.ImmutableMatrix
    sigma: sympy.ImmutableMatrix
    readout: tuple[sympy.Expr, ...]
    readout_text: tuple[str, ...]
    hidden: tuple[sympy.Symbol, ...]
    parameters: Mapping[str, sympy.Symbol]
    defaults: Mapping[str, float]
    order: int
    raw: Mapping[str, Any] = field(repr=False)

    def __post_init__(self) -> None:
        n = len(self.hidden)
        assert self.Gamma.shape == (n, n) and self.W.shape == (n, n)
        assert self.b.shape == (n, 1) and self.C.shape[0] == n and self.sigma.shape[0] == n
        assert set(self.parameters) == set(self.defaults)

    @property
    def n_hidden(self) -> int:
        return len(self.hidden)

    @property
    def n_inputs(self) -> int:
        return self.C.shape[1]

    @property
    def n_outputs(self) -> int:
        return len(self.readout)


def load_spec(path: str | Path) -> DerivationSpec:
    """Read and validate a spec file; raises :class:`SpecError` with the field and the reason."""
    source = str(path)
    try:
        text = read_limited(path, LIMITS["file_bytes"], what="spec file")
    except InputError as err:
        reason = err.reason.replace(f"spec file {Path(path).as_posix()!r} ", "")
        raise SpecError("no such spec file" if reason == "does not exist" else reason, path=source) from err
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"not valid TOML ({err})", path=source) from err
    except RecursionError as err:
        raise SpecError("TOML nested too deeply", path=source) from err
    return parse_spec(raw, source=source)


def check_parameter_name(name: object, *, key: str, source: str | None = None) -> str:
    """Accept ``name`` as a parameter name or raise; names reach generated code, so this is strict."""
    if not isinstance(name, str) or not _PARAM_RE.fullmatch(name):
        raise SpecError(
            f"parameter name {name!r} is not an identifier of letters, digits and '_' starting with a letter",
            key=key,
            path=source,
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise SpecError(f"parameter name {name!r} is a Python keyword; rename it", key=key, path=source)
    if name in _RESERVED or name in FUNCTIONS or _HIDDEN_RE.fullmatch(name):
        raise SpecError(f"parameter name {name!r} is reserved; rename it", key=key, path=source)
    return name


def parse_spec(raw: Mapping[str, Any], *, source: str = "<spec>") -> DerivationSpec:
    """Validate an already-parsed TOML mapping (see :func:`load_spec`)."""

    def err(key: str, message: str) -> SpecError:
        return SpecError(message, key=key, path=source)

    if not isinstance(raw, Mapping):
        raise SpecError("top level must be a table", path=source)
    _no_unknown_keys(raw, _TOP_KEYS, "top level", err)

    name = raw.get("name")
    if name is None:
        raise err("name", "missing; give the derivation a name such as \"ou2_quadratic\"")
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or keyword.iskeyword(name):
        raise err("name", f"{name!r} must match [a-z_][a-z0-9_]* (at most 64 characters), not a keyword or path")
    if name.startswith("__") or name.strip("_") == "" or name in _FORBIDDEN_MODULE_NAMES:
        raise err("name", f"{name!r} would shadow a Python module when generated as {name}.py; rename it")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise err("description", f"expected a string, got {type(description).__name__}")
    if len(description) > MAX_DESCRIPTION:
        raise err("description", f"is {len(description)} characters long; the limit is {MAX_DESCRIPTION}")

    model = raw.get("model")
    if not isinstance(model, Mapping):
        raise err("[model]", "missing table [model]")
    _no_unknown_keys(model, _MODEL_KEYS, "[model]", err)

    params_raw = raw.get("parameters", {})
    if not isinstance(params_raw, Mapping):
        raise err("[parameters]", "must be a table of name = default value")
    if len(params_raw) > LIMITS["parameters"]:
        raise err("[parameters]", f"{len(params_raw)} parameters; the limit is {LIMITS['parameters']}")
    parameters: dict[str, sympy.Symbol] = {}
    defaults: dict[str, float] = {}
    for pname, value in params_raw.items():
        check_parameter_name(pname, key=f"[parameters].{pname}", source=source)
        number = parse_number(value, key=f"[parameters].{pname}", path=source)
        parameters[pname] = sympy.Symbol(pname, real=True)
        defaults[pname] = float(number)

    activation = model.get("activation", "linear")
    if not isinstance(activation, str):
        raise err("[model].activation", f"expected a string, got {type(activation).__name__}")
    if activation == "linear":
        activation_expr = X
    elif activation == "tanh":
        activation_expr = sympy.tanh(X)
    elif activation == "sigmoid":
        activation_expr = 1 / (1 + sympy.exp(-X))
    else:
        activation_expr = parse_expression(activation, {**parameters, "x": X}, key="[model].activation", path=source)
        if X not in activation_expr.free_symbols:
            raise err("[model].activation", f"{activation!r} does not depend on x")
        if sympy.expand(activation_expr - X) == 0:
            activation = "linear"

    placement = model.get("input_placement", "additive")
    if not isinstance(placement, str) or placement not in INPUT_PLACEMENTS:
        raise err("[model].input_placement", f"{placement!r} is not one of {', '.join(map(repr, INPUT_PLACEMENTS))}")

    def matrix(key: str, *, rows: int | None, cols: int | None, vector: bool = False) -> sympy.ImmutableMatrix:
        fkey = f"[model].{key}"
        value = model.get(key)
        if value is None:
            raise err(fkey, "missing")
        if vector:
            if not _is_list(value):
                raise err(fkey, f"expected a list of {rows} entries, got {type(value).__name__}")
            value = [[v] for v in value]
        if not _is_list(value) or not value or not all(_is_list(r) for r in value):
            raise err(fkey, "expected a non-empty list of rows (a list of lists)")
        if rows is not None and len(value) != rows:
            raise err(fkey, f"has {len(value)} {'entries' if vector else 'rows'}; expected {rows}")
        width = len(value[0])
        if width == 0:
            raise err(fkey, "rows are empty")
        for i, row in enumerate(value):
            if len(row) != width:
                raise err(f"{fkey}[{i}]", f"has {len(row)} entries; row 0 has {width}")
        if cols is not None and width != cols:
            raise err(fkey, f"has {width} columns; expected {cols}")
        entries = [
            [_entry(v, parameters, key=f"{fkey}[{i}]" + ("" if vector else f"[{j}]"), source=source)
             for j, v in enumerate(row)]
            for i, row in enumerate(value)
        ]
        for i, row in enumerate(entries):
            for j, e in enumerate(row):
                _check_real(e, value[i][j], parameters, defaults, key=f"{fkey}[{i}]" + ("" if vector else f"[{j}]"),
                            source=source)
        return sympy.ImmutableMatrix(entries)

    gamma_rows = model.get("Gamma")
    if not _is_list(gamma_rows) or not gamma_rows:
        raise err("[model].Gamma", "missing or not a list of rows; it sets the number of hidden units n")
    n = len(gamma_rows)
    if n > LIMITS["n_hidden"]:
        raise err("[model].Gamma", f"{n} hidden units; the limit is {LIMITS['n_hidden']}")
    Gamma = matrix("Gamma", rows=n, cols=n)
    W = matrix("W", rows=n, cols=n)
    b = matrix("b", rows=n, cols=1, vector=True)
    C = matrix("C", rows=n, cols=None)
    if C.shape[1] > LIMITS["n_inputs"]:
        raise err("[model].C", f"{C.shape[1]} input channels; the limit is {LIMITS['n_inputs']}")
    sigma = matrix("sigma", rows=n, cols=None)
    if sigma.shape[1] > LIMITS["n_noise"]:
        raise err("[model].sigma", f"{sigma.shape[1]} noise channels; the limit is {LIMITS['n_noise']}")

    hidden = tuple(sympy.Symbol(f"h{i + 1}", real=True) for i in range(n))
    readout_raw = model.get("readout")
    if isinstance(readout_raw, str):
        readout_raw = [readout_raw]
    if not _is_list(readout_raw) or not readout_raw:
        raise err("[model].readout", "expected a non-empty list of expression strings in h1..hn")
    if len(readout_raw) > LIMITS["n_outputs"]:
        raise err("[model].readout", f"{len(readout_raw)} outputs; the limit is {LIMITS['n_outputs']}")
    names = {**parameters, **{str(h): h for h in hidden}}
    readout = tuple(
        parse_expression(text, names, key=f"[model].readout[{q}]", path=source)
        for q, text in enumerate(readout_raw)
    )
    for q, f in enumerate(readout):
        if f.has(sympy.I):
            raise err(f"[model].readout[{q}]", f"{readout_raw[q]!r} is not real (it contains sqrt or log of a negative "
                                               "number)")
        degree = degree_bound(f, set(hidden))
        if degree > MAX_DEGREE:
            raise err(f"[model].readout[{q}]", f"has degree up to {degree} in h; the limit is {MAX_DEGREE}")

    expansion = raw.get("expansion", {})
    if not isinstance(expansion, Mapping):
        raise err("[expansion]", "must be a table")
    _no_unknown_keys(expansion, _EXPANSION_KEYS, "[expansion]", err)
    order = check_order(expansion.get("order", 2), n_hidden=n, key="[expansion].order", source=source)

    return DerivationSpec(
        name=name,
        description=description,
        source=source,
        activation=activation,
        activation_expr=activation_expr,
        input_placement=placement,
        Gamma=Gamma,
        W=W,
        b=b,
        C=C,
        sigma=sigma,
        readout=readout,
        readout_text=tuple(str(t) for t in readout_raw),
        hidden=hidden,
        parameters=MappingProxyType(parameters),
        defaults=MappingProxyType(defaults),
        order=order,
        raw=MappingProxyType(dict(raw)),
    )


def check_order(order: object, *, n_hidden: int, key: str, source: str | None = None) -> int:
    """Validate a truncation order against :data:`LIMITS`."""
    if isinstance(order, bool) or not isinstance(order, int):
        raise SpecError(f"expected an integer order, got {type(order).__name__} {order!r}", key=key, path=source)
    if not 0 <= order <= LIMITS["order"]:
        raise SpecError(f"order {order} is outside 0..{LIMITS['order']}", key=key, path=source)
    if n_hidden**order > LIMITS["tensor_entries"]:
        raise SpecError(
            f"order {order} with {n_hidden} hidden units needs {n_hidden}**{order} tensor entries; "
            f"the limit is {LIMITS['tensor_entries']}",
            key=key,
            path=source,
        )
    return order


def _entry(value: object, parameters: Mapping[str, sympy.Symbol], *, key: str, source: str) -> sympy.Expr:
    if isinstance(value, str):
        return parse_expression(value, parameters, key=key, path=source)
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"entry is {value!r}; entries must be finite", key=key, path=source)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(
            f"expected a number or an expression string, got {type(value).__name__}", key=key, path=source
        )
    return parse_number(value, key=key, path=source)


def _check_real(entry: sympy.Expr, written: object, parameters: Mapping[str, sympy.Symbol],
                defaults: Mapping[str, float], *, key: str, source: str) -> None:
    """A matrix entry must be a real, finite number at the default parameter values (``sqrt(-1)`` is
    refused here, at the spec, rather than later against a ``--param`` value)."""
    subs = {parameters[k]: sympy.Float(v, 30) for k, v in defaults.items()}
    try:
        value = complex(entry.subs(subs).evalf(30)) if not entry.has(sympy.I) else complex(1j)
    except (TypeError, ValueError, OverflowError):
        value = complex(float("nan"))
    if value.imag != 0:
        where = " at the default parameter values" if entry.free_symbols else ""
        raise SpecError(f"entry {str(written)[:60]!r} is not a real number{where}", key=key, path=source)
    if not math.isfinite(value.real):
        raise SpecError(f"entry {str(written)[:60]!r} is not finite at the default parameter values",
                        key=key, path=source)


def degree_bound(expr: sympy.Expr, hidden: set[sympy.Symbol]) -> int:
    """An upper bound of the total degree in ``hidden`` from the tree alone (no expansion):
    sums add, products and integer powers multiply, function arguments count once.

    >>> h1 = sympy.Symbol("h1")
    >>> degree_bound((h1**3 + 1) ** 4 * sympy.tanh(h1**2), {h1})
    14
    """
    if expr in hidden:
        return 1
    if not expr.free_symbols & hidden:
        return 0
    if isinstance(expr, sympy.Add):
        return max(degree_bound(a, hidden) for a in expr.args)
    if isinstance(expr, sympy.Mul):
        return sum(degree_bound(a, hidden) for a in expr.args)
    if isinstance(expr, sympy.Pow):
        base = degree_bound(expr.base, hidden)
        e = expr.exp
        return base * int(abs(e)) if e.is_Integer else base * (int(abs(e)) + 1)
    return max(degree_bound(a, hidden) for a in expr.args)


def _is_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _no_unknown_keys(table: Mapping[str, Any], known: set[str], where: str, err) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise err(where, f"unknown key {unknown[0]!r} (known keys: {', '.join(sorted(known))})")
