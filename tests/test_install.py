"""A plain, non-editable ``pip install .`` ships the templates and can generate (slow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv

import pytest

from _codegen_support import ROOT


@pytest.mark.slow
def test_installed_package_generates_the_committed_module(tmp_path):
    env_dir = tmp_path / "venv"
    # without its own pip: ensurepip would also install an old setuptools that shadows the system one
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "build"))
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q", str(source)],
                   check=True, env=environ, cwd=tmp_path)
    work = tmp_path / "work"
    (work / "derivations").mkdir(parents=True)
    shutil.copy(ROOT / "derivations" / "ou2_quadratic.toml", work / "derivations")
    where = subprocess.run([python, "-c", "import volterra_sym.render as r; print(r._template_dir())"],
                           check=True, env=environ, cwd=work, capture_output=True, text=True).stdout.strip()
    assert "site-packages" in where and where.endswith("templates")
    subprocess.run([python, "-m", "volterra_sym", "generate", "derivations/ou2_quadratic.toml"],
                   check=True, env=environ, cwd=work)
    generated = (work / "derivations" / "ou2_quadratic.py").read_bytes()
    assert generated == (ROOT / "derivations" / "ou2_quadratic.py").read_bytes()
    check = subprocess.run([python, "-m", "volterra_sym", "check"], env=environ, cwd=work, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert sys.executable  # the test interpreter itself is untouched
