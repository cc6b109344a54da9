"""Atomic writing of generated modules: a temporary file in the target folder, then ``os.replace``.

A failed generation leaves the previous file (or no file) in place, never a half-written one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import InputError

__all__ = ["write_module"]


def write_module(source: str, path: str | Path) -> Path:
    """Write ``source`` (UTF-8, ``\\n`` newlines) to ``path`` atomically; returns the path."""
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"output folder {folder.as_posix()!r} does not exist; create it first", field="-o")
    if target.is_dir():
        raise InputError(f"{target.as_posix()!r} is a directory", field="-o")
    data = source.encode("utf-8")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as err:
        raise InputError(f"cannot write in {folder.as_posix()!r} ({err.strerror})", field="-o") from err
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(err, OSError):
            raise InputError(f"cannot write {target.as_posix()!r} ({err.strerror or err})", field="-o") from err
        raise
    return target
