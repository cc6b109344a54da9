"""Bad input is normal input: one line naming the field and the reason, exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import QUADRATIC, to_toml, with_model, write_spec
from volterra_sym import load_spec
from volterra_sym.cli.main import main
from volterra_sym.errors import SpecError

BAD_SPECS = {
    "unknown name in readout": (with_model(readout=["h1 + h9"]), "[model].readout[0]", "unknown name 'h9'"),
    "code in readout": (with_model(readout=["__import__('os').system('touch pwned')"]), "[model].readout[0]",
                        "not allowed"),
    "attribute access": (with_model(readout=["h1.real"]), "[model].readout[0]", "attribute access"),
    "code in a matrix entry": (with_model(b=["open('x')", 0.0]), "[model].b[0]", "not allowed"),
    "unknown parameter in entry": (with_model(b=["g", 0.0]), "[model].b[0]", "unknown name 'g'"),
    "Gamma not square": (with_model(Gamma=[[1.0, 0.0]]), "[model].Gamma", "columns"),
    "W wrong size": (with_model(W=[[0.0, 0.5, 0.0], [0.0, 0.0, 0.0]]), "[model].W", "columns"),
    "ragged C": (with_model(C=[[1.0], [0.5, 0.2]]), "[model].C[1]", "row 0 has 1"),
    "b wrong length": (with_model(b=[0.1]), "[model].b", "expected 2"),
    "sigma wrong rows": (with_model(sigma=[[0.8, 0.0]]), "[model].sigma", "expected 2"),
    "nan entry": (with_model(b=[float("nan"), 0.0]), "[model].b[0]", "finite"),
    "inf entry": (with_model(W=[[0.0, float("inf")], [0.0, 0.0]]), "[model].W[0][1]", "finite"),
    "boolean entry": (with_model(b=[True, 0.0]), "[model].b[0]", "bool"),
    "string matrix": (with_model(C="ones"), "[model].C", "list of rows"),
    "empty readout": (with_model(readout=[]), "[model].readout", "non-empty"),
    "missing sigma": (with_model(sigma=None), "[model].sigma", "missing"),
    "unknown model key": (with_model(Gama=[[1.0]]), "[model]", "unknown key 'Gama'"),
    "path-like name": ({**QUADRATIC, "name": "../../etc/evil"}, "name", "must match"),
    "non-identifier name": ({**QUADRATIC, "name": "my-net"}, "name", "must match"),
    "keyword name": ({**QUADRATIC, "name": "lambda"}, "name", "keyword"),
    "unsupported activation": (with_model(activation="relu(x)"), "[model].activation", "not allowed"),
    "parameter named like a keyword": ({**QUADRATIC, "parameters": {"lambda": 1.0}}, "[parameters].lambda", "keyword"),
    "parameter shadowing numpy": ({**QUADRATIC, "parameters": {"numpy": 1.0}}, "[parameters].numpy", "reserved"),
    "parameter shadowing a hidden unit": ({**QUADRATIC, "parameters": {"h1": 1.0}}, "[parameters].h1", "reserved"),
    "parameter shadowing a function": ({**QUADRATIC, "parameters": {"exp": 1.0}}, "[parameters].exp", "reserved"),
    "parameter without a number": ({**QUADRATIC, "parameters": {"g": "1.2"}}, "[parameters].g", "expected a number"),
    "order absurd": ({**QUADRATIC, "expansion": {"order": 400000}}, "[expansion].order", "outside"),
    "order not an integer": ({**QUADRATIC, "expansion": {"order": 2.5}}, "[expansion].order", "integer"),
    "degree absurd": (with_model(readout=["h1**400000"]), "[model].readout[0]", "exceeds the limit"),
    "too many hidden units": (
        with_model(Gamma=[[1.0] * 20] * 20), "[model].Gamma", "the limit is"),
    "not Hurwitz": (with_model(W=[[2.0, 0.5], [-0.3, 0.0]]), "[model].W, [model].Gamma", "no invariant measure"),
    "marginally stable": (with_model(Gamma=[[0.0, 0.0], [0.0, 1.0]], W=[[0.0, 0.0], [0.0, 0.0]]),
                          "[model].W, [model].Gamma", "no invariant measure"),
    "degree hidden in nested powers": (with_model(readout=["((h1**24)**24)**24"]), "[model].readout[0]",
                                       "degree up to 13824"),
    "degree hidden in a product": (with_model(readout=["(h1+h2)**24*(h1+h2)**24"]), "[model].readout[0]",
                                   "degree up to 48"),
    "name shadowing numpy": ({**QUADRATIC, "name": "numpy"}, "name", "shadow"),
    "name shadowing the standard library": ({**QUADRATIC, "name": "random"}, "name", "shadow"),
    "dunder name": ({**QUADRATIC, "name": "__init__"}, "name", "shadow"),
    "description too long": ({**QUADRATIC, "description": "x" * 5000}, "description", "limit"),
    "parameter named order": ({**QUADRATIC, "parameters": {"order": 1.0}}, "[parameters].order", "reserved"),
    "noise misses a unit": (with_model(W=[[0.0, 0.0], [0.0, 0.0]], sigma=[[0.8], [0.0]]), "[model].sigma",
                            "noise does not reach every unit"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS), ids=str)
def test_bad_spec_is_one_line_exit_2(case, tmp_path, capsys):
    data, key, reason = BAD_SPECS[case]
    path = write_spec(tmp_path, data)
    before = set(tmp_path.iterdir())
    for argv in (["derive", str(path)], ["kernel", str(path), "--order", "1", "--lags", "0.5", "--json"],
                 ["series", str(path), "--input", "sin(t)", "--t", "1", "--eps", "0.1", "--json"]):
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, captured.err
        assert key in lines[0] and reason in lines[0], lines[0]
        assert str(path) in lines[0]
    assert set(tmp_path.iterdir()) == before


def test_divergent_expectation_is_refused(tmp_path, capsys):
    path = write_spec(tmp_path, with_model(readout=["1/h1"]))
    assert main(["kernel", str(path), "--order", "1", "--lags", "0.5", "--json"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "E[1/h1] does not exist" in err and "singular where h1 = 0" in err


def test_deeply_nested_toml(tmp_path, capsys):
    path = tmp_path / "deep.toml"
    path.write_text("name = " + "[" * 50000 + "]" * 50000 + "\n")
    assert main(["derive", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "nested too deeply" in err


def test_long_flat_sums_are_not_nesting(tmp_path):
    text = " + ".join(f"{i}*h1**2*h2" for i in range(1, 120))
    spec = load_spec(write_spec(tmp_path, with_model(readout=[text])))
    assert len(spec.readout[0].args) == 1 or spec.readout[0] != 0


def test_stiff_but_stable_system_is_accepted(tmp_path):
    from volterra_sym import build_model

    build_model(load_spec(write_spec(tmp_path, with_model(Gamma=[[1e13, 0.0], [0.0, 1.0]],
                                                          W=[[0.0, 0.0], [0.0, 0.0]]))))


def test_noise_may_be_singular_if_it_reaches_every_unit(tmp_path):
    # sigma sigma^T has rank 1, but the coupling carries the noise to unit 2: S > 0
    spec = load_spec(write_spec(tmp_path, with_model(sigma=[[0.8], [0.0]])))
    from volterra_sym import build_model, derive_kernels

    kset = derive_kernels(build_model(spec))
    assert kset.law.covariance.det() > 0


@pytest.mark.parametrize(
    "text, reason",
    [("name = ", "not valid TOML"), ("name = 'x'\n[model\n", "not valid TOML"), ("\udcff", None)],
)
def test_unparsable_toml(tmp_path, capsys, text, reason):
    path = tmp_path / "bad.toml"
    if reason is None:
        path.write_bytes(b"name = '\xff\xfe'\n")
        reason = "UTF-8"
    else:
        path.write_text(text)
    assert main(["derive", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and reason in err


def test_missing_file_and_directory(tmp_path, capsys):
    assert main(["derive", str(tmp_path / "nope.toml")]) == 2
    assert "no such spec file" in capsys.readouterr().err
    assert main(["derive", str(tmp_path)]) == 2
    assert "not a regular file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, field",
    [
        (["kernel", "{spec}", "--order", "2", "--lags", "0.5", "--json"], "--lags"),
        (["kernel", "{spec}", "--order", "1", "--lags", "abc", "--json"], "--lags"),
        (["kernel", "{spec}", "--order", "1", "--lags", "-1", "--json"], "--lags"),
        (["kernel", "{spec}", "--order", "1", "--lags", "nan", "--json"], "--lags"),
        (["kernel", "{spec}", "--order", "-1", "--lags", "", "--json"], "--order"),
        (["kernel", "{spec}", "--order", "1", "--lags", "1", "--param", "zeta=1"], "--param"),
        (["kernel", "{spec}", "--order", "1", "--lags", "1", "--param", "zeta"], "--param"),
        (["series", "{spec}", "--input", "sin(t)", "--input", "t", "--t", "1", "--eps", "1"], "--input"),
        (["series", "{spec}", "--input", "os.system(t)", "--t", "1", "--eps", "1"], "--input"),
        (["series", "{spec}", "--input", "1/(t-0.5)", "--t", "1", "--eps", "1"], "--input"),
        (["series", "{spec}", "--input", "sin(t)", "--t", "-1", "--eps", "1"], "--t"),
        (["series", "{spec}", "--input", "sin(t)", "--t", "inf", "--eps", "1"], "--t"),
        (["series", "{spec}", "--input", "sin(t)", "--t", "1", "--eps", "x"], "--eps"),
        (["derive", "{spec}", "--format", "html"], "--format"),
        (["derive", "{spec}", "--order", "99"], "--order"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments(tmp_path, capsys, argv, field):
    path = write_spec(tmp_path, QUADRATIC)
    assert main([a.format(spec=path) for a in argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], captured.err
    assert captured.out == ""


def test_console_entry_point_reports_without_traceback(tmp_path):
    path = write_spec(tmp_path, with_model(readout=["__import__('os').system('touch pwned')"]))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "volterra_sym", "derive", str(path)], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert not (tmp_path / "pwned").exists()


def test_spec_error_carries_key(tmp_path):
    with pytest.raises(SpecError) as info:
        load_spec(write_spec(tmp_path, with_model(b=[0.1])))
    assert info.value.key == "[model].b"


def test_exact_numbers(tmp_path):
    spec = load_spec(write_spec(tmp_path, QUADRATIC))
    assert str(spec.b[0]) == "1/10" and str(spec.sigma[1, 0]) == "1/10"


def test_to_toml_roundtrip():
    import tomllib

    assert tomllib.loads(to_toml(QUADRATIC)) == QUADRATIC
