"""Files in and out: atomic writes (a temporary file in the target folder, then ``os.replace``)
and bounded reads of regular files.

A failed or interrupted write leaves the previous file (or no file) in place, never a half-written
one, and removes its temporary file. Errors name the Python argument (``field="output"``).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from .errors import InputError

__all__ = ["write_atomic", "write_files", "check_output_folder", "read_limited"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, data: str | bytes, *, field: str = "output") -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, with the usual permissions."""
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"output folder {folder.as_posix()!r} does not exist; create it first", field=field)
    if target.is_dir():
        raise InputError(f"{target.as_posix()!r} is a directory", field=field)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as err:
        raise InputError(f"cannot write in {folder.as_posix()!r} ({err.strerror})", field=field) from err
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(err, OSError):
            raise InputError(f"cannot write {target.as_posix()!r} ({err.strerror or err})", field=field) from err
        raise
    return target


def check_output_folder(folder: str | Path, *, create: bool = False, field: str = "output") -> Path:
    """Refuse a folder that cannot be written (or created, when ``create``) before any work starts.

    Nothing is created here: a folder that does not exist yet is created by :func:`write_files`
    only once every file has been rendered.
    """
    folder = Path(folder)
    if folder.exists():
        if not folder.is_dir():
            raise InputError(f"{folder.as_posix()!r} exists and is not a directory", field=field)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InputError(f"cannot write into {folder.as_posix()!r}", field=field)
        return folder
    if not create or not folder.parent.is_dir():
        raise InputError(f"output folder {folder.as_posix()!r} does not exist; create it first", field=field)
    if not os.access(folder.parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot create {folder.as_posix()!r}", field=field)
    return folder


def write_files(folder: str | Path, files: Mapping[str, str | bytes], *, create: bool = False,
                field: str = "output") -> tuple[Path, ...]:
    """Write every file into ``folder`` atomically, in name order (``create``: make the folder itself,
    whose parent must exist). Returns the written paths."""
    folder = check_output_folder(folder, create=create, field=field)
    if create and not folder.exists():
        try:
            folder.mkdir()
        except OSError as err:
            raise InputError(f"cannot create {folder.as_posix()!r} ({err.strerror or err})", field=field) from err
    return tuple(write_atomic(folder / name, files[name], field=field) for name in sorted(files))


def read_limited(path: str | Path, limit: int, *, what: str = "file", field: str = "path") -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes; FIFOs, devices, folders and
    larger files are refused before anything is read."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError as err:
        raise InputError(f"{what} {path.as_posix()!r} does not exist", field=field) from err
    except OSError as err:
        raise InputError(f"cannot read {what} {path.as_posix()!r} ({err.strerror or err})", field=field) from err
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{what} {path.as_posix()!r} is not a regular file", field=field)
    if info.st_size > limit:
        raise InputError(f"{what} {path.as_posix()!r} has {info.st_size} bytes; the limit is {limit}", field=field)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as err:
        raise InputError(f"cannot read {what} {path.as_posix()!r} ({err.strerror or err})", field=field) from err
    if len(data) > limit:
        raise InputError(f"{what} {path.as_posix()!r} is larger than {limit} bytes", field=field)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{what} {path.as_posix()!r} is not UTF-8 text", field=field) from err
