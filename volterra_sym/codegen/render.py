"""Stage 5b (code generation): render a :class:`~volterra_sym.printing.PrintedModule` with Jinja2.

The templates live at the top level of the repository (``templates/``) and are shipped inside
the wheel as ``volterra_sym/templates``; :func:`template_sources` finds them with
:mod:`importlib.resources` in an installed package and falls back to the source tree's
``templates/`` when running from a checkout. Templates only lay out strings: every expression is
printed in Python beforehand (StrictUndefined makes a missing value an error, not a blank).
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import jinja2

from ..errors import VolterraSymError
from .printing import PrintedModule
from .stamp import MARKER_FORMAT, Stamp, output_sha256

__all__ = ["TEMPLATE", "SPECTRAL_TEMPLATES", "GRID_TEMPLATES", "template_sources", "environment", "render_module", "runtime_source",
           "TemplateError"]

#: the entry template; its name is recorded in the stamp
TEMPLATE = "module.py.j2"


class TemplateError(VolterraSymError):
    """The templates are missing or do not render to valid Python."""


def _template_dir() -> Path | importlib.resources.abc.Traversable:
    shipped = importlib.resources.files("volterra_sym") / "templates"
    if shipped.is_dir():
        return shipped
    checkout = Path(__file__).resolve().parents[2] / "templates"
    if checkout.is_dir():
        return checkout
    raise TemplateError("the code-generation templates are missing (neither volterra_sym/templates nor ./templates)")


#: the templates of gradient-class (spectral) modules and of grid-engine modules; every other ``*.j2``
#: renders the OU modules
SPECTRAL_TEMPLATES = ("spectral_module.py.j2", "_spectral_runtime.py.j2")
GRID_TEMPLATES = ("grid_module.py.j2", "_grid_runtime.py.j2")
#: templates every family uses
SHARED_TEMPLATES = ("_stamp.py.j2", "_contact.py.j2")


@functools.cache
def _all_template_sources() -> Mapping[str, bytes]:
    folder = _template_dir()
    found = {entry.name: entry.read_bytes() for entry in folder.iterdir() if entry.name.endswith(".j2")}
    for name in (TEMPLATE,) + SPECTRAL_TEMPLATES + GRID_TEMPLATES + SHARED_TEMPLATES:
        if name not in found:
            raise TemplateError(f"template {name} is missing from {folder}")
    return MappingProxyType(dict(sorted(found.items())))


@functools.cache
def template_sources(family: str = "ou") -> Mapping[str, bytes]:
    """The bytes of the ``*.j2`` templates a module family is rendered from, by file name, sorted
    (part of the stamp): ``"ou"`` (linear class, ``module.py.j2``: every template but the spectral
    and grid ones), ``"spectral"`` (gradient class: :data:`SPECTRAL_TEMPLATES` and the shared stamp)
    or ``"grid"`` (grid engine: :data:`GRID_TEMPLATES` and the shared stamp). A module's stamp so
    covers exactly the templates that made it."""
    found = _all_template_sources()
    if family == "ou":
        chosen = {k: v for k, v in found.items() if k not in SPECTRAL_TEMPLATES + GRID_TEMPLATES}
    elif family == "spectral":
        chosen = {k: v for k, v in found.items() if k in SPECTRAL_TEMPLATES or k in SHARED_TEMPLATES}
    elif family == "grid":
        chosen = {k: v for k, v in found.items() if k in GRID_TEMPLATES or k in SHARED_TEMPLATES}
    else:
        raise ValueError(f"unknown template family {family!r} (ou, spectral, grid)")
    return MappingProxyType(chosen)


@functools.cache
def environment() -> jinja2.Environment:
    """The one Jinja environment: strict undefined, no autoescape, exact whitespace control."""
    texts = {name: data.decode("utf-8") for name, data in _all_template_sources().items()}
    return jinja2.Environment(
        loader=jinja2.DictLoader(texts),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def runtime_source() -> str:
    """The runtime block every generated module carries (tests exercise it once)."""
    return environment().get_template("_runtime.py.j2").render()


def render_module(printed: PrintedModule, *, inputs_sha256: str, generator: str, sympy_version: str,
                  source_label: str) -> str:
    """Full module text: marker line, stamp line, then the rendered body.

    ``source_label`` is the spec path as given (relative, POSIX); it appears on line 1 only, which
    neither hash covers. The result is compiled before it is returned, so a template bug fails here.
    """
    env = environment()
    try:
        body = env.get_template(TEMPLATE).render(module=printed)
    except jinja2.TemplateError as err:
        raise TemplateError(f"rendering {TEMPLATE} failed: {err}") from err
    stamp = Stamp(
        api=printed.api_version,
        generator=generator,
        sympy=sympy_version,
        template=TEMPLATE,
        inputs_sha256=inputs_sha256,
        output_sha256=output_sha256(body),
    )
    header = env.get_template("_stamp.py.j2").render(
        marker=MARKER_FORMAT.format(version=generator, source=source_label), stamp=stamp.line()
    )
    source = header + body
    try:
        compile(source, f"{printed.name}.py", "exec", dont_inherit=True)
    except SyntaxError as err:
        raise TemplateError(f"the rendered module {printed.name}.py is not valid Python: {err}") from err
    return source
