"""Code generation pipeline and the ``generate`` / ``check`` commands.

    load_spec -> build_model -> derive_kernels -> lower -> print_module -> render_module -> write_module

``generate SPEC [-o DIR]`` writes ``DIR/<name>.py`` (default DIR: the spec's folder).
``check [SPEC ...] [-o DIR]`` reports each module as current (exit 0) or stale, hand-edited,
missing or invalid (exit 1); without SPEC it checks every ``derivations/**/*.toml`` that has a
generated module beside it. Linear specs give closed-form modules (``module.py.j2``); nonlinear
gradient-class specs give modules embedding the numeric spectral representation
(:mod:`volterra_sym.spectral_codegen`, ``spectral_module.py.j2``). Bad input exits 2 through :func:`volterra_sym.cli.main`.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import sympy

from . import __version__
from .derive import derive_kernels
from .errors import InputError
from .lower import lower
from .model import build_model
from .printing import API_VERSION, PRINTER_SETTINGS, print_module
from .render import render_module, template_sources
from .spec import DerivationSpec, load_spec
from .stamp import StampStatus, inputs_sha256, module_status
from .write import write_module

__all__ = [
    "GeneratedModule",
    "spec_label",
    "template_family",
    "expected_inputs_sha256",
    "generate_source",
    "generate_module",
    "check_modules",
    "run_generate",
    "run_check",
    "add_parsers",
]


@dataclass(frozen=True, slots=True)
class GeneratedModule:
    """Result of :func:`generate_module`."""

    spec: str
    path: Path
    source: str


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


def template_family(spec: DerivationSpec) -> str:
    """``"ou"`` for a linear activation (closed forms, ``module.py.j2``), else ``"spectral"`` (gradient
    class, ``spectral_module.py.j2``); a module's stamp covers its family's templates only."""
    return "ou" if spec.activation == "linear" else "spectral"


def _inputs_for(spec: DerivationSpec) -> str:
    return inputs_sha256(
        spec.raw,
        generator=__version__,
        sympy_version=sympy.__version__,
        templates=template_sources(template_family(spec)),
        printer_settings=PRINTER_SETTINGS,
    )


def expected_inputs_sha256(spec: str | Path | DerivationSpec) -> str:
    """``inputs_sha256`` a module generated now from ``spec`` would carry (no derivation needed)."""
    return _inputs_for(spec if isinstance(spec, DerivationSpec) else load_spec(spec))


def generate_source(spec_path: str | Path) -> tuple[DerivationSpec, str]:
    """Derive, lower, print and render the module text for one spec file (no I/O but reading it)."""
    spec = load_spec(spec_path)
    model = build_model(spec)
    if not model.linear:  # gradient class: the numeric spectral representation (spectral_codegen)
        from .spectral_codegen import generate_spectral_source

        return spec, generate_spectral_source(spec, model, inputs_sha256=_inputs_for(spec),
                                              source_label=spec_label(spec_path))
    kset = derive_kernels(model)
    printed = print_module(lower(kset))
    source = render_module(
        printed,
        inputs_sha256=_inputs_for(spec),
        generator=__version__,
        sympy_version=sympy.__version__,
        source_label=spec_label(spec_path),
    )
    return spec, source


def _output_dir(spec_path: str | Path, output_dir: str | Path | None) -> Path:
    folder = Path(spec_path).parent if output_dir is None else Path(output_dir)
    if not folder.is_dir():
        raise InputError(f"output folder {folder.as_posix()!r} does not exist; create it first", field="-o")
    return folder


def generate_module(spec_path: str | Path, output_dir: str | Path | None = None) -> GeneratedModule:
    """Generate ``<output_dir>/<name>.py`` from a spec, atomically (a failure writes nothing)."""
    folder = _output_dir(spec_path, output_dir)
    spec, source = generate_source(spec_path)
    path = write_module(source, folder / f"{spec.name}.py")
    return GeneratedModule(spec=spec_label(spec_path), path=path, source=source)


def _discover() -> list[Path]:
    folder = Path("derivations")
    if not folder.is_dir():
        raise InputError("no SPEC given and no derivations/ folder here; name the spec files to check", field="check")
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


def run_generate(args: argparse.Namespace) -> int:
    """``volterra-sym generate SPEC... [-o DIR]``."""
    for spec_path in args.spec:
        result = generate_module(spec_path, args.output_dir)
        print(f"wrote {result.path.as_posix()}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """``volterra-sym check [SPEC...] [-o DIR]``: exit 0 when every module is current, else 1."""
    specs = list(args.spec) if args.spec else _discover()
    if not specs:
        print("no generated modules to check")
        return 0
    statuses = check_modules(specs, args.output_dir)
    for status in statuses:
        print(status.line(), file=sys.stdout if status.ok else sys.stderr)
    return 0 if all(s.ok for s in statuses) else 1


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``generate`` and ``check`` subcommands to the CLI's subparsers."""
    p = sub.add_parser("generate", help="generate a stamped, standalone NumPy evaluator module")
    p.add_argument("spec", metavar="SPEC", nargs="+", help="spec file(s) (TOML)")
    p.add_argument("-o", "--output-dir", metavar="DIR", default=None,
                   help="folder of the generated <name>.py (default: the spec's folder)")
    p.set_defaults(run=run_generate)

    p = sub.add_parser("check", help="report generated modules that are stale or hand-edited (exit 1)")
    p.add_argument("spec", metavar="SPEC", nargs="*",
                   help="spec file(s); default: every derivations/**/*.toml with a generated module beside it")
    p.add_argument("-o", "--output-dir", metavar="DIR", default=None,
                   help="folder of the generated modules (default: each spec's folder)")
    p.set_defaults(run=run_check)
