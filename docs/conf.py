"""Sphinx configuration of the volterra-sym documentation.

Build (from the repository root): ``python -m sphinx -W -b html docs docs/_build/html``.
Needs the ``[docs]`` extra; no network: formulas are rendered by MathJax in the browser.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # document the checkout, not an installed copy
sys.path.insert(0, str(HERE / "_ext"))

import volterra_sym  # noqa: E402

project = "volterra-sym"
author = "volterra-sym contributors"
copyright = "2026, volterra-sym contributors"
release = version = volterra_sym.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "volterra_docs",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "figures/regenerate.sh", "README.md"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

autosummary_generate = False  # the API pages are written by hand; nothing is generated into docs/
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True  # dataclass fields are members already: no second description
napoleon_preprocess_types = False
suppress_warnings = ["myst.header"]
nitpicky = False

html_theme = "alabaster"
html_title = f"volterra-sym {release}"
html_theme_options = {"page_width": "1180px", "sidebar_width": "240px", "fixed_sidebar": True}
html_static_path: list[str] = []
