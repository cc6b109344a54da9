"""The network of a spec, parsed again from its raw TOML data, for the oracles alone.

The engines see a spec through :mod:`volterra_sym.model` (A = W - Gamma, Sigma = sigma sigma^T, the
drift, the readout). A bug there (say Sigma assembled as sigma^T sigma) would reach an oracle that
took its matrices from the same model, and every claim would agree with the wrong answer. So the
oracles rebuild the network here from ``DerivationSpec.raw`` (the TOML mapping as read), with only
the shared safe expression parser (:mod:`volterra_sym.expressions`): nothing of ``model``,
``derive``, ``gaussian``, ``propagator`` or ``classes`` is used (tests/test_independence.py checks
the imports).

* :func:`parse_network` -> :class:`ParsedNetwork`: Gamma, W, b, C, sigma, the activation a(x) and
  the readouts as SymPy objects in the declared parameters;
* :meth:`ParsedNetwork.mp_matrices`: A = W - Gamma, b, C, Sigma = sigma sigma^T in mpmath at the
  current precision, parameters at their binary64 values (the numbers the float64 engine uses);
* :meth:`ParsedNetwork.float_drift`: the drift F(h) = -Gamma h + a(W h + b) as a NumPy function, for
  the forward Fokker-Planck route; :meth:`ParsedNetwork.float_inside`: for an input inside the
  activation, W, b and the activation's derivatives a^(j) (SymPy differentiates the parsed a(x));
* :func:`mp_linearization`: the fixed point h* and the Jacobian of the drift there, in mpmath
  (to check the linearized engine's A and b).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy
import sympy

from ...expressions import parse_expression, parse_number
from ...fokker_planck import InsideActivation

__all__ = ["ParsedNetwork", "parse_network", "network_of", "exact_values", "mp_number", "mp_linearization"]

X = sympy.Symbol("x", real=True)


@dataclass(frozen=True)
class ParsedNetwork:
    """dh = (-Gamma h + a(W h + b) + eps C u) dt + sigma dB, y = f(h), as written in the spec."""

    parameters: Mapping[str, sympy.Symbol]
    defaults: Mapping[str, float]
    linear: bool
    activation: sympy.Expr  # a(x)
    Gamma: sympy.ImmutableMatrix
    W: sympy.ImmutableMatrix
    b: sympy.ImmutableMatrix
    C: sympy.ImmutableMatrix
    sigma: sympy.ImmutableMatrix
    readout: tuple[sympy.Expr, ...]
    hidden: tuple[sympy.Symbol, ...]
    input_placement: str = "additive"  # or "activation": a(W h + b + eps C u) (theory.md 7)

    @property
    def n_hidden(self) -> int:
        return len(self.hidden)

    def values(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """The defaults updated by ``overrides`` (names the spec declares)."""
        out = dict(self.defaults)
        out.update({k: float(v) for k, v in (overrides or {}).items() if k in out})
        return out

    def substitution(self, values: Mapping[str, float]) -> dict[sympy.Symbol, sympy.Rational]:
        return exact_values(self.parameters, self.values(values))

    def mp_matrix(self, matrix: sympy.MatrixBase, values: Mapping[str, float]) -> mpmath.matrix:
        subs = self.substitution(values)
        m = sympy.Matrix(matrix).subs(subs)
        return mpmath.matrix([[mp_number(m[i, j]) for j in range(m.shape[1])] for i in range(m.shape[0])])

    def mp_matrices(self, values: Mapping[str, float]) -> tuple[mpmath.matrix, ...]:
        """A = W - Gamma, b, C and Sigma = sigma sigma^T in mpmath (current precision)."""
        Gamma, W = self.mp_matrix(self.Gamma, values), self.mp_matrix(self.W, values)
        sigma = self.mp_matrix(self.sigma, values)
        return W - Gamma, self.mp_matrix(self.b, values), self.mp_matrix(self.C, values), sigma * sigma.T

    def readout_at(self, values: Mapping[str, float]) -> tuple[sympy.Expr, ...]:
        subs = self.substitution(values)
        return tuple(sympy.sympify(f).subs(subs) for f in self.readout)

    def float_matrices(self, values: Mapping[str, float]) -> dict[str, numpy.ndarray]:
        """Gamma, W, b (vector), C and Sigma = sigma sigma^T as float64 arrays."""
        with mpmath.workdps(30):
            A, b, C, Sigma = self.mp_matrices(values)
            out = {name: numpy.array(self.mp_matrix(getattr(self, name), values).tolist(), dtype=float)
                   for name in ("Gamma", "W", "C")}
            out["b"] = numpy.array(b.tolist(), dtype=float)[:, 0]
            out["Sigma"] = numpy.array(Sigma.tolist(), dtype=float)
        return out

    def float_drift(self, values: Mapping[str, float]) -> Callable[[numpy.ndarray], numpy.ndarray]:
        """F(H) = -Gamma H + a(W H + b) for H of shape (n, ...) (float64)."""
        m = self.float_matrices(values)
        subs = self.substitution(values)
        a = sympy.lambdify(X, self.activation.subs(subs), modules="numpy")
        G, W, b = m["Gamma"], m["W"], m["b"]
        n = self.n_hidden

        def drift(H: numpy.ndarray) -> numpy.ndarray:
            H = numpy.asarray(H, dtype=float)
            pre = numpy.tensordot(W, H, axes=1) + b.reshape((n,) + (1,) * (H.ndim - 1))
            return -numpy.tensordot(G, H, axes=1) + numpy.broadcast_to(a(pre), pre.shape)

        return drift

    def float_inside(self, values: Mapping[str, float], order: int) -> InsideActivation | None:
        """W, b and (a, a', ..., a^(order)) as NumPy functions for an input inside the activation; None
        for an additive input (a linear activation inside gives a' = 1 and no contact term: the additive operators)."""
        if self.input_placement == "additive":
            return None
        m = self.float_matrices(values)
        subs = self.substitution(values)
        a = self.activation.subs(subs)
        derivatives = tuple(sympy.lambdify(X, sympy.diff(a, X, j), modules="numpy") for j in range(order + 1))
        return InsideActivation(m["W"], m["b"], derivatives)

    def float_readout(self, values: Mapping[str, float]) -> list[Callable[..., numpy.ndarray]]:
        return [sympy.lambdify(self.hidden, f, modules="numpy") for f in self.readout_at(values)]


def exact_values(parameters: Mapping[str, sympy.Symbol], values: Mapping[str, float]) -> dict:
    """Parameters as exact rationals equal to their binary64 values (the float64 engine's numbers)."""
    return {parameters[k]: sympy.Rational(float(v)) for k, v in values.items() if k in parameters}


def mp_number(value: Any) -> mpmath.mpf:
    """A real SymPy number as an mpf at the current precision (5 guard digits)."""
    if isinstance(value, (int, float)):
        return mpmath.mpf(value)
    number = sympy.N(value, mpmath.mp.dps + 5)
    re, im = number.as_real_imag()
    if im != 0 and abs(im) > sympy.Float(10) ** (-mpmath.mp.dps) * max(1, abs(re)):
        raise ValueError(f"{value} is not real")
    return mpmath.mpf(sympy.Float(re, mpmath.mp.dps + 5)._mpf_) if re != 0 else mpmath.mpf(0)


def network_of(spec: Any) -> ParsedNetwork:
    """The parsed network of a :class:`~volterra_sym.spec.DerivationSpec` (from its ``raw`` data)."""
    return parse_network(spec.raw)


def parse_network(raw: Mapping[str, Any]) -> ParsedNetwork:
    """Parse the raw TOML mapping of a spec (already validated by :mod:`volterra_sym.spec`).

    >>> net = parse_network({"name": "t", "model": {"Gamma": [[1.0]], "W": [[0.5]], "b": [0.1],
    ...     "C": [[1.0]], "sigma": [["s"]], "readout": ["h1**2"]}, "parameters": {"s": 0.5}})
    >>> with mpmath.workdps(20):
    ...     A, b, C, Sigma = net.mp_matrices({})
    >>> float(A[0, 0]), float(Sigma[0, 0])
    (-0.5, 0.25)
    """
    model = raw["model"]
    parameters = {name: sympy.Symbol(name, real=True) for name in raw.get("parameters", {})}
    defaults = {name: float(parse_number(v, key=f"[parameters].{name}")) for name, v in raw.get("parameters", {}).items()}

    def entry(value: Any, key: str) -> sympy.Expr:
        if isinstance(value, str):
            return parse_expression(value, parameters, key=key)
        return parse_number(value, key=key)

    def matrix(key: str, vector: bool = False) -> sympy.ImmutableMatrix:
        rows = [[v] for v in model[key]] if vector else model[key]
        return sympy.ImmutableMatrix([[entry(v, f"[model].{key}") for v in row] for row in rows])

    Gamma, W, b, C, sigma = matrix("Gamma"), matrix("W"), matrix("b", vector=True), matrix("C"), matrix("sigma")
    n = Gamma.shape[0]
    if not (Gamma.shape == W.shape == (n, n) and b.shape == (n, 1) and C.shape[0] == sigma.shape[0] == n):
        raise ValueError("inconsistent matrix shapes in the spec")
    hidden = tuple(sympy.Symbol(f"h{i + 1}", real=True) for i in range(n))
    texts = model["readout"]
    texts = [texts] if isinstance(texts, str) else list(texts)
    names = {**parameters, **{str(h): h for h in hidden}}
    readout = tuple(parse_expression(t, names, key="[model].readout") for t in texts)
    name = model.get("activation", "linear")
    named = {"linear": X, "tanh": sympy.tanh(X), "sigmoid": 1 / (1 + sympy.exp(-X))}
    activation = named[name] if name in named else parse_expression(name, {**parameters, "x": X}, key="activation")
    linear = sympy.expand(activation - X) == 0
    placement = str(model.get("input_placement", "additive"))
    return ParsedNetwork(parameters, defaults, linear, activation, Gamma, W, b, C, sigma, readout, hidden, placement)


def mp_linearization(net: ParsedNetwork, values: Mapping[str, float],
                     start: Sequence[float]) -> tuple[mpmath.matrix, mpmath.matrix, mpmath.matrix]:
    """(h*, J, b_lin): the fixed point F(h*) = 0 nearest ``start`` by Newton's method in mpmath, the
    Jacobian J = -Gamma + diag(a'(W h* + b)) W and b_lin = -J h* (current precision)."""
    A_lin = net.mp_matrix(-net.Gamma, values)
    W, b = net.mp_matrix(net.W, values), net.mp_matrix(net.b, values)
    subs = net.substitution(values)
    act = sympy.lambdify(X, net.activation.subs(subs), modules="mpmath")
    dact = sympy.lambdify(X, sympy.diff(net.activation, X).subs(subs), modules="mpmath")
    n = net.n_hidden
    h = mpmath.matrix([mpmath.mpf(x) for x in start])

    def parts(h):
        pre = W * h + b
        F = A_lin * h + mpmath.matrix([act(pre[i]) for i in range(n)])
        J = A_lin + mpmath.diag([dact(pre[i]) for i in range(n)]) * W
        return F, J

    tol = mpmath.mpf(10) ** (-mpmath.mp.dps + 5)
    for _ in range(200):
        F, J = parts(h)
        step = mpmath.lu_solve(J, F)
        h -= step
        if mpmath.norm(step) <= tol * max(1, mpmath.norm(h)):
            break
    else:
        raise ValueError("Newton's method did not converge to a fixed point")
    F, J = parts(h)
    return h, J, -(J * h)
