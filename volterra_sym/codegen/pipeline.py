"""The code-generation pipeline: make text, then write files (loading is :mod:`.loader`).

    load_spec -> build_model -> engine -> (lower -> print_module -> render_module) -> write_atomic

The engine that answers for a spec (:mod:`volterra_sym.classes.registry`) picks the writer: the OU
engine's closed forms (:mod:`.lower`, :mod:`.printing`, ``module.py.j2``), the gradient engine's
numeric spectral representation (:mod:`.spectral`, ``spectral_module.py.j2``), the grid engine's
converged grid (:mod:`.grid`, ``grid_module.py.j2``). :func:`check_modules`
reports each module as current or stale, hand-edited, missing or invalid.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sympy

from .. import __version__
from ..classes.registry import engine_class, engine_for
from ..errors import DerivationError, InputError
from ..files import check_output_folder, write_atomic
from ..model import build_model
from ..spec import DerivationSpec, load_spec
from .lower import lower
from .printing import API_VERSION, PRINTER_SETTINGS, print_module
from .render import render_module, template_sources
from .stamp import StampStatus, inputs_sha256, module_status

__all__ = [
    "GeneratedModule",
    "spec_label",
    "template_family",
    "expected_inputs_sha256",
    "generate_source",
    "generate_module",
    "generate_modules",
    "check_modules",
    "discover_specs",
]


@dataclass(frozen=True, slots=True)
class GeneratedModule:
    """Result of :func:`generate_module`."""

    spec: str
    path: Path
    source: str
    engine: str = ""  #: name of the engine whose answers the module evaluates


def spec_label(path: str | Path) -> str:
    """The spec path as given, relative and in POSIX form, for line 1 of the module.

    Absolute paths are made relative to the working directory so no absolute path is written.

    >>> spec_label("./derivations/ou2_quadratic.toml")
    'derivations/ou2_quadratic.toml'
    """
    p = Path(path)
    if p.is_absolute():
        p = Path(os.path.relpath(p, Path.cwd()))
    return p.as_posix()


def _ou_source(engine, *, inputs: str, label: str) -> str:
    return render_module(print_module(lower(engine.derivation)), inputs_sha256=inputs, generator=__version__,
                         sympy_version=sympy.__version__, source_label=label)


def _spectral_source(engine, *, inputs: str, label: str) -> str:
    from .spectral import generate_spectral_source

    return generate_spectral_source(engine.model.spec, engine.model, inputs_sha256=inputs, source_label=label,
                                    spectral=engine.representation)


def _grid_source(engine, *, inputs: str, label: str) -> str:
    from .grid import generate_grid_source

    return generate_grid_source(engine, inputs_sha256=inputs, source_label=label)


#: per engine: the template family its modules use and the function that writes their text
WRITERS = {"ou": ("ou", _ou_source), "gradient": ("spectral", _spectral_source), "grid": ("grid", _grid_source)}


def _writer(model) -> tuple[str, str, object]:
    name = engine_class(model).name
    if name not in WRITERS:
        raise DerivationError(f"code generation is not implemented for the {name} engine")
    family, write = WRITERS[name]
    return name, family, write


def template_family(spec: DerivationSpec) -> str:
    """The template family of the engine that answers for ``spec`` (``"ou"``: closed forms,
    ``module.py.j2``; ``"spectral"``: a numeric representation, ``spectral_module.py.j2``; ``"grid"``:
    the grid operator, ``grid_module.py.j2``); a module's stamp covers its family's templates only."""
    return _writer(build_model(spec))[1]


def _inputs_for(spec: DerivationSpec, family: str | None = None) -> str:
    return inputs_sha256(
        spec.raw,
        generator=__version__,
        sympy_version=sympy.__version__,
        templates=template_sources(family or template_family(spec)),
        printer_settings=PRINTER_SETTINGS,
    )


def expected_inputs_sha256(spec: str | Path | DerivationSpec) -> str:
    """``inputs_sha256`` a module generated now from ``spec`` would carry (no derivation needed)."""
    return _inputs_for(spec if isinstance(spec, DerivationSpec) else load_spec(spec))


def generate_source(spec_path: str | Path) -> tuple[DerivationSpec, str]:
    """Derive, lower, print and render the module text for one spec file (no I/O but reading it)."""
    spec, source, _ = _generate(spec_path)
    return spec, source


def _generate(spec_path: str | Path) -> tuple[DerivationSpec, str, str]:
    spec = load_spec(spec_path)
    model = build_model(spec)
    name, family, write = _writer(model)
    engine = engine_for(model, engine=name)
    return spec, write(engine, inputs=_inputs_for(spec, family), label=spec_label(spec_path)), engine.name


def _output_dir(spec_path: str | Path, output_dir: str | Path | None) -> Path:
    folder = Path(spec_path).parent if output_dir is None else Path(output_dir)
    return check_output_folder(folder, field="output")


def generate_module(spec_path: str | Path, output_dir: str | Path | None = None) -> GeneratedModule:
    """Generate ``<output_dir>/<name>.py`` from a spec, atomically (a failure writes nothing)."""
    return generate_modules([spec_path], output_dir)[0]


def generate_modules(spec_paths: Sequence[str | Path], output_dir: str | Path | None = None) -> list[GeneratedModule]:
    """Generate a module for every spec; nothing is written unless every one of them was generated."""
    planned = []
    for spec_path in spec_paths:
        folder = _output_dir(spec_path, output_dir)
        spec, source, engine = _generate(spec_path)
        planned.append((spec_path, folder / f"{spec.name}.py", source, engine))
    targets = [path for _, path, _, _ in planned]
    if len(set(targets)) < len(targets):
        raise InputError("two specs would write the same module file", field="specs")
    return [GeneratedModule(spec=spec_label(sp), path=write_atomic(path, source), source=source, engine=engine)
            for sp, path, source, engine in planned]


def discover_specs() -> list[Path]:
    folder = Path("derivations")
    if not folder.is_dir():
        raise InputError("no derivations/ folder here; name the spec files to check", field="specs")
    found = []
    for toml in sorted(folder.rglob("*.toml")):  # subfolders too (derivations/nonlinear/)
        if (toml.parent / f"{toml.stem}.py").is_file():
            found.append(toml)
    return found


def check_modules(specs: list[str | Path], output_dir: str | Path | None = None) -> list[StampStatus]:
    """Status of the module generated from each spec (found in ``output_dir`` or beside the spec)."""
    statuses = []
    for spec_path in specs:
        spec = load_spec(spec_path)
        folder = Path(spec_path).parent if output_dir is None else Path(output_dir)
        statuses.append(module_status(folder / f"{spec.name}.py", spec_label(spec_path), _inputs_for(spec), api=API_VERSION))
    return statuses
