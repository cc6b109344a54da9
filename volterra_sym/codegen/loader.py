"""Import a generated module after checking its stamp and API version.

The check lives here, not in the generated file, so generated modules stay numpy-only.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from ..errors import InputError, StaleModuleError
from ..files import read_limited
from .printing import API_VERSION
from .stamp import MAX_MODULE_BYTES, output_sha256, read_stamp

__all__ = ["runtime_api_version", "load_generated"]


def runtime_api_version() -> int:
    """The API version of generated modules this volterra_sym produces and accepts."""
    return API_VERSION


def load_generated(path: str | Path, *, spec: str | Path | None = None) -> ModuleType:
    """Import the generated module at ``path``.

    Raises :class:`StaleModuleError` when the file is not a generated module, was edited by hand,
    or was generated for another API version; with ``spec`` (a spec file), also when it is stale
    with respect to that spec and the current templates.
    """
    from .pipeline import expected_inputs_sha256  # deferred: codegen imports the whole pipeline

    path = Path(path)
    label = path.as_posix()
    try:
        text = read_limited(path, MAX_MODULE_BYTES, what="generated module", field="path")
    except InputError as err:  # missing, not a regular file (FIFO, device), too large, not UTF-8
        raise StaleModuleError(f"{label}: cannot read the generated module ({err.reason})") from err
    _, stamp, body = read_stamp(text, path=label)
    regenerate = f"regenerate with `python -m volterra_sym generate {spec if spec is not None else 'SPEC'}`"
    if output_sha256(body) != stamp.output_sha256:
        raise StaleModuleError(f"{label}: the module was edited by hand (output_sha256 mismatch); {regenerate}")
    if stamp.api != runtime_api_version():
        raise StaleModuleError(
            f"{label}: generated for module API version {stamp.api}, this volterra_sym reads version "
            f"{runtime_api_version()}: {regenerate}"
        )
    if spec is not None and stamp.inputs_sha256 != expected_inputs_sha256(spec):
        raise StaleModuleError(f"{label}: stale with respect to {Path(spec).as_posix()}; {regenerate}")
    name = f"_volterra_sym_generated_{path.stem}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise StaleModuleError(f"{label}: cannot be imported")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    if getattr(module, "API_VERSION", None) != runtime_api_version():
        raise StaleModuleError(
            f"{label}: API_VERSION is {getattr(module, 'API_VERSION', None)!r}, this volterra_sym expects "
            f"{runtime_api_version()}: {regenerate}"
        )
    return module
