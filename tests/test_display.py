"""Display in text, LaTeX and notebooks: short reprs, LaTeX/HTML reprs, sinc shown as sin(x)/x with
the same values, and lazy names listed by dir()."""

from __future__ import annotations

import json
import random

import sympy

import volterra_sym
from conftest import ROOT
from volterra_sym.classes.ou.derive import derive_kernels, kernel_expressions
from volterra_sym.cli.main import main
from volterra_sym.display import display_form
from volterra_sym.model import build_model
from volterra_sym.spec import load_spec

SYMBOLIC = ROOT / "derivations" / "ou2_symbolic.toml"


def _kset(path=SYMBOLIC):
    return derive_kernels(build_model(load_spec(path)))


def test_display_form_has_the_same_values_away_from_zero_arguments():
    kset = _kset()
    exprs = [k.expr for n in (1, 2) for k in kernel_expressions(kset, n)] + list(kset.propagator.matrix)
    assert any(e.has(sympy.sinc) for e in exprs)
    rnd = random.Random(3)
    for expr in exprs:
        shown = display_form(expr)
        assert not shown.has(sympy.sinc)
        for _ in range(5):
            point = {s: sympy.Rational(rnd.randint(1, 400), 97) for s in expr.free_symbols | shown.free_symbols}
            a, b = sympy.N(expr.subs(point), 30), sympy.N(shown.subs(point), 30)
            assert abs(a - b) <= sympy.Float("1e-25") * (1 + abs(a)), (expr, shown, point)


def test_propagator_entry_reads_sin_beta_tau():
    kset = _kset()
    entry = display_form(kset.propagator.matrix[0, 1])
    names = {s.name: s for s in entry.free_symbols}
    expected = sympy.exp(-names["g"] * names["tau"]) * sympy.sin(names["beta"] * names["tau"])
    assert sympy.simplify(entry - expected) == 0


def test_derive_text_and_latex_show_sin_and_json_keeps_sinc(capsys):
    assert main(["derive", str(SYMBOLIC)]) == 0
    text = capsys.readouterr().out
    assert "sinc" not in text.replace("SymPy's sinc(x)", "") and "sin(beta*tau)" in text
    assert main(["derive", str(SYMBOLIC), "--format", "latex"]) == 0
    latex = capsys.readouterr().out
    assert r"\operatorname{sinc}" not in latex and r"\sin{\left(\beta \tau \right)}" in latex
    assert main(["derive", str(SYMBOLIC), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "sinc" in json.dumps(data["propagator"])  # machine-readable: exact at beta = 0 too


def test_notebook_reprs_are_short_and_render():
    kset = _kset()
    text = repr(kset)
    assert len(text) < 200 and "ou2_symbolic" in text and "order 2" in text
    latex = kset._repr_latex_()
    assert latex.startswith("$$") and latex.endswith("$$") and r"\begin{aligned}" in latex
    assert "sinc" not in latex and r"R^{(2)}_{f_{2};1,1}" in latex
    html = kset._repr_html_()
    assert html.startswith("<div>") and "<table>" in html and "sinc(x)" in html
    kernel = kset.kernels(1)[1]
    assert repr(kernel).startswith("Kernel(R^(1)_{f2;1}(tau1) = ") and "sinc" not in repr(kernel)
    assert kernel._repr_latex_().startswith(r"$\displaystyle R^{(1)}_{f_{2};1}(\tau_{1}) = ")
    assert len(repr(kset.model)) < 200


def test_estimate_repr_is_one_short_line():
    engine = volterra_sym.engine_for(build_model(load_spec(SYMBOLIC)))
    import numpy

    text = repr(engine.kernel([numpy.linspace(0.0, 1.0, 500)]))
    assert "\n" not in text and len(text) < 300 and "shape=(500, 2, 1)" in text


def test_dir_lists_the_lazy_names():
    names = dir(volterra_sym)
    assert {"KernelSet", "engine_for", "derive_kernels", "signature_backend", "MissingExtraError"} <= set(names)
