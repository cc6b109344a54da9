"""Optional extras: without pysiglib (the [signature] extra, which pulls torch) every command still
answers; the README's first install command pulls no torch and no CUDA package (slow: a fresh venv)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv

import pytest

from conftest import ROOT
from volterra_sym.cli.main import main
from volterra_sym.features import chen
from volterra_sym.features import signature as signature_module

QUAD = str(ROOT / "derivations" / "ou3_cubic.toml")


@pytest.fixture
def no_pysiglib(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import pysiglib`` fails, as in an install without the [signature] extra."""
    monkeypatch.setattr(chen, "_PYSIGLIB", [])
    monkeypatch.setitem(sys.modules, "pysiglib", None)


def test_feature_and_represent_answer_without_pysiglib(no_pysiglib, capsys) -> None:
    base = ["--input", "sin(t)", "--t", "2", "--basis", "legendre", "--degree", "2", "--level", "3", "--json"]
    assert main(["feature", *base, "--method", "pwlinear", "--samples", "201"]) == 0
    pw = json.loads(capsys.readouterr().out)
    assert pw["signature_backend"] == "numpy"
    assert main(["feature", *base]) == 0  # spectral route: NumPy on every install
    smooth = json.loads(capsys.readouterr().out)
    # the polyline through 201 samples is an O(h^2) approximation of the smooth path's signature
    assert max(abs(a - b) for a, b in zip(pw["feature"], smooth["feature"])) < 1e-3
    assert main(["represent", QUAD, "--input", "sin(t)", "--input", "cos(2*t)", "--t", "3", "--eps", "0.5",
                 "--basis", "spectral", "--level", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["engine"] == "ou"


def test_requiring_pysiglib_without_it_is_one_line_naming_the_extra(no_pysiglib) -> None:
    from volterra_sym.errors import MissingExtraError

    with pytest.raises(MissingExtraError) as info:
        signature_module.signature([[0.0], [1.0]], 2, backend="pysiglib")
    assert "\n" not in str(info.value) and "volterra-sym[signature]" in str(info.value)


ENVIRON = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A copy of the checkout: building it writes build/ and *.egg-info beside the sources."""
    target = tmp_path_factory.mktemp("src") / "volterra-sym"
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "build",
                                                                 "_build", ".hypothesis"))
    return target


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory) -> str:
    """The python of a new, empty virtual environment (no volterra-sym, no torch)."""
    path = tmp_path_factory.mktemp("fresh") / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return str(path / "bin" / "python")


@pytest.mark.slow
def test_readme_install_command_pulls_no_torch_and_no_cuda(fresh_python, source, tmp_path) -> None:
    """``pip install .`` in a fresh venv, resolved with --dry-run --report: nothing from torch/CUDA."""
    report = tmp_path / "report.json"
    subprocess.run([fresh_python, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed", "--report",
                    str(report), str(source)], check=True, env=ENVIRON, cwd=tmp_path, timeout=600)
    names = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert {"sympy", "mpmath", "numpy", "jinja2", "tqdm", "volterra-sym"} <= names
    heavy = sorted(n for n in names if n in ("torch", "triton", "pysiglib") or n.startswith(("nvidia", "cuda")))
    assert not heavy, heavy


@pytest.mark.slow
def test_the_tour_runs_in_a_venv_without_torch(fresh_python, source, tmp_path) -> None:
    """After ``pip install .`` (no extras), derive/kernel/series/verify/generate/check/simulate/report/feature
    all answer, and nothing imports torch."""
    subprocess.run([fresh_python, "-m", "pip", "install", "--quiet", str(source)], check=True, env=ENVIRON,
                   cwd=tmp_path, timeout=900)
    (tmp_path / "derivations").mkdir()
    for name in ("ou2_quadratic.toml", "ou2_symbolic.toml"):
        (tmp_path / "derivations" / name).write_bytes((ROOT / "derivations" / name).read_bytes())
    quad, sym = "derivations/ou2_quadratic.toml", "derivations/ou2_symbolic.toml"
    commands = [
        ["derive", sym], ["kernel", quad, "--order", "2", "--lags", "0.3,0.5", "--json"],
        ["series", quad, "--input", "sin(t)", "--t", "1", "--eps", "0.5", "--json"],
        ["verify", quad, "--samples", "1"], ["generate", quad], ["check"],
        ["simulate", quad, "--input", "sin(t)", "--t", "1", "--eps", "0.5", "--paths", "1000"],
        ["report", quad, "--input", "sin(t)", "--paths", "1000", "--t", "1", "--times", "5", "-o", "out"],
        ["feature", "--input", "sin(t)", "--t", "2", "--basis", "legendre", "--degree", "2", "--level", "3",
         "--method", "pwlinear"],
    ]
    script = ("import sys; from volterra_sym.cli.main import main; code = main(sys.argv[1:]); "
              "assert 'torch' not in sys.modules; sys.exit(code)")
    for argv in commands:
        run = subprocess.run([fresh_python, "-c", script, *argv], env=ENVIRON, cwd=tmp_path, capture_output=True,
                             text=True, timeout=600)
        assert run.returncode == 0 and "Traceback" not in run.stderr, (argv, run.stdout, run.stderr)
    assert (tmp_path / "out" / "report.md").is_file()
    probe = subprocess.run([fresh_python, "-c", "import importlib.util as u; print(u.find_spec('torch'))"],
                           env=ENVIRON, capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "None"
