"""A plain, non-editable ``pip install .`` ships the templates and can generate (slow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from _codegen_support import ROOT


@pytest.mark.slow
def test_installed_package_generates_the_committed_module(tmp_path):
    """Build a wheel, install it (no dependencies) into a bare target folder and generate from there."""
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "build"))
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
                   check=True, env=environ, cwd=tmp_path)
    target = tmp_path / "site"
    wheel = next(wheels.glob("volterra_sym-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, env=environ, cwd=tmp_path)
    environ["PYTHONPATH"] = str(target)  # the installed copy, not the checkout
    work = tmp_path / "work"
    (work / "derivations").mkdir(parents=True)
    shutil.copy(ROOT / "derivations" / "ou2_quadratic.toml", work / "derivations")
    where = subprocess.run([sys.executable, "-c", "import volterra_sym.codegen.render as r; print(r._template_dir())"],
                           check=True, env=environ, cwd=work, capture_output=True, text=True).stdout.strip()
    assert where.startswith(str(target)) and where.endswith("templates")
    subprocess.run([sys.executable, "-m", "volterra_sym", "generate", "derivations/ou2_quadratic.toml"],
                   check=True, env=environ, cwd=work)
    generated = (work / "derivations" / "ou2_quadratic.py").read_bytes()
    assert generated == (ROOT / "derivations" / "ou2_quadratic.py").read_bytes()
    check = subprocess.run([sys.executable, "-m", "volterra_sym", "check"], env=environ, cwd=work,
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
