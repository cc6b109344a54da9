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
    data = source.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target
