"""The documentation: its Python walk-through runs as a doctest (outputs are the real ones), and
the Sphinx build has no warning (slow; .ci/run builds it too)."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest

from conftest import ROOT


def test_python_api_walkthrough_runs(monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.chdir(ROOT)  # the page's paths are relative to the repository root
    result = doctest.testfile(str(ROOT / "docs" / "guide" / "python_api.md"), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted >= 30 and result.failed == 0


@pytest.mark.slow
def test_sphinx_build_has_no_warning(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                          "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "html")],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    page = (tmp_path / "html" / "guide" / "closed_forms.html").read_text()
    assert page.count('class="math') >= 10 and "operatorname{sinc}" not in page
