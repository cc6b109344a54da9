"""The strict NumPy printer: short exact strings, refusals, and name checks."""

from __future__ import annotations

import pytest
import sympy

from volterra_sym.errors import SpecError, UnsupportedExpressionError
from volterra_sym.gaussian import GaussianMean
from volterra_sym.codegen.printing import PRINTER_SETTINGS, VolterraNumPyPrinter, _names_read, check_identifier
from volterra_sym.propagator import ExpmEntry

x, y = sympy.symbols("x y", real=True)
h1, h2, h3 = sympy.symbols("h1 h2 h3", real=True)


@pytest.fixture
def printer():
    return VolterraNumPyPrinter(hidden=(h1, h2, h3))


@pytest.mark.parametrize(
    ("expr", "code"),
    [
        (sympy.exp(-x) * sympy.cos(x), "numpy.exp(-x)*numpy.cos(x)"),
        (sympy.Rational(1, 5) * x, "(1/5)*x"),
        (x**2, "x**2"),
        (1 / (x + y), "(x + y)**(-1.0)"),
        (sympy.sqrt(35), "numpy.sqrt(35)"),
        (sympy.sinc(x), "numpy.sinc(x/numpy.pi)"),
        (sympy.tanh(x), "numpy.tanh(x)"),
        (sympy.Abs(x), "numpy.abs(x)"),
        (sympy.pi * x, "numpy.pi*x"),
        (sympy.Float("0.1416950945720943402267929701044647824123", 40) * x,
         "0.1416950945720943402267929701044647824123*x"),
    ],
)
def test_short_exact_strings(printer, expr, code):
    assert printer.doprint(expr) == code


def test_settings_are_strict_and_fully_qualified():
    assert PRINTER_SETTINGS["strict"] is True and PRINTER_SETTINGS["fully_qualified_modules"] is True
    assert VolterraNumPyPrinter()._settings["strict"] is True


def test_awkward_symbol_names_print_as_themselves(printer):
    names = ["beta", "S", "N", "E", "I", "lambda_", "gamma"]
    symbols = [sympy.Symbol(n, real=True) for n in names]
    assert printer.doprint(sympy.Add(*symbols)) == "E + I + N + S + beta + gamma + lambda_"
    for name, symbol in zip(names, symbols):
        assert printer.doprint(symbol) == name
        assert printer.doprint(2 * symbol) == f"2*{name}"


def test_gaussian_mean_becomes_a_quadrature_call(printer):
    assert printer.doprint(GaussianMean(sympy.tanh(h1))) == "_gaussian_mean(lambda h1: numpy.tanh(h1), (0,), _mu, _S)"
    assert (printer.doprint(GaussianMean(sympy.exp(-h2**2) * h3))
            == "_gaussian_mean(lambda h2, h3: h3*numpy.exp(-h2**2), (1, 2), _mu, _S)")


def test_expm_entry_becomes_the_runtime_expm(printer):
    tau = sympy.Symbol("_tau", real=True)
    assert printer.doprint(ExpmEntry(0, 1, tau)) == "_expm(numpy.multiply.outer(_tau, _A))[..., 0, 1]"


@pytest.mark.parametrize("expr", [sympy.besselj(0, x), sympy.erf(x), sympy.Function("f")(x), sympy.gamma(x)])
def test_untranslatable_nodes_are_refused(printer, expr):
    with pytest.raises(UnsupportedExpressionError):
        printer.doprint(expr)


def test_reserved_words_are_refused_not_renamed(printer):
    with pytest.raises(UnsupportedExpressionError):
        printer.doprint(sympy.Symbol("lambda"))


def test_gaussian_mean_without_hidden_variable_is_refused(printer):
    with pytest.raises(UnsupportedExpressionError):
        printer.doprint(GaussianMean(sympy.tanh(x)))


def test_names_read_excludes_lambda_arguments():
    assert _names_read("_gaussian_mean(lambda h1: numpy.tanh(I*h1), (0,), _mu, _S)") == {
        "_gaussian_mean", "numpy", "I", "_mu", "_S"}


@pytest.mark.parametrize("name", ["_x0", "numpy", "order", "eps", "class", "match", "1a", "a-b"])
def test_identifiers_are_checked_again_at_render(name):
    with pytest.raises(SpecError):
        check_identifier(name, what="parameter")


@pytest.mark.parametrize("name", ["beta", "S", "N", "E", "I", "lambda_", "gamma", "kernel", "u", "dt"])
def test_awkward_but_valid_parameter_names_pass(name):
    assert check_identifier(name, what="parameter") == name
