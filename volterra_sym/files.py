"""Files in and out: atomic writes (a temporary file in the target folder, then ``os.replace``)
and bounded reads of regular files.

A failed or interrupted write leaves the previous file (or no file) in place, never a half-written
one, and removes its temporary file; a temporary file left by a killed process is removed by the
next write of the same target (:func:`write_atomic`). Errors name the Python argument
(``field="output"``).
"""

from __future__ import annotations

import os
import secrets
import stat
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from .errors import InputError

__all__ = ["write_atomic", "write_files", "check_output_folder", "read_limited"]


_ANONYMOUS = True  # O_TMPFILE files can be linked here (cleared at the first failure)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, data: str | bytes, *, field: str = "output") -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically, with the usual permissions.

    The data go to an anonymous file in the target folder (Linux ``O_TMPFILE``: a process killed
    while writing leaves nothing behind), which is then linked under a temporary name
    ``.NAME.<pid>.<random>.tmp`` and renamed over the target. Elsewhere the temporary file is named
    from the start. Either way a temporary file left by a process that was killed (SIGKILL, power
    loss) is removed by the next write of the same target once that process is gone.
    """
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise InputError(_not_a_folder(folder), field=field)
    if target.is_dir():
        raise InputError(f"{target.as_posix()!r} is a directory", field=field)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    _remove_stale(folder, target.name)
    tmp = None
    try:
        tmp = _write_anonymous(folder, target.name, payload)
        if tmp is None:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException as err:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        if isinstance(err, OSError):
            raise InputError(f"cannot write {target.as_posix()!r} ({err.strerror or err})", field=field) from err
        raise
    return target


def _write_anonymous(folder: Path, name: str, payload: bytes) -> str | None:
    """Write ``payload`` to an unnamed file in ``folder`` (Linux ``O_TMPFILE``) and link it under a
    temporary name, returned; ``None`` where the system or file system cannot (nothing is left)."""
    global _ANONYMOUS
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not _ANONYMOUS or not Path("/proc/self/fd").is_dir():
        return None
    try:
        fd = os.open(folder, flag | os.O_WRONLY, 0o600)
    except OSError:
        return None
    with os.fdopen(fd, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
        os.fchmod(handle.fileno(), 0o666 & ~_umask())
        for _ in range(100):
            tmp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
            try:
                os.link(f"/proc/self/fd/{handle.fileno()}", tmp, follow_symlinks=True)
                return tmp
            except FileExistsError:
                continue
            except OSError:
                _ANONYMOUS = False  # e.g. /proc links across mount namespaces: named files from now on
                return None
    return None


def _remove_stale(folder: Path, name: str) -> None:
    """Remove ``.NAME.<pid>.*.tmp`` files of ``name`` whose writing process no longer exists (and
    ``.NAME.*.tmp`` without a pid, from older versions, after an hour)."""
    prefix = f".{name}."
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(prefix) and e.name.endswith(".tmp")]
    except OSError:
        return
    for entry in entries:
        middle = entry.name[len(prefix):-len(".tmp")]
        pid_text = middle.split(".", 1)[0]
        try:
            if pid_text.isdigit() and "." in middle:
                if _alive(int(pid_text)):
                    continue
            elif time.time() - entry.stat(follow_symlinks=False).st_mtime < 3600:
                continue
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
        except OSError:
            continue


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


def _not_a_folder(folder: Path) -> str:
    """Why ``folder`` cannot receive files (it is missing, or it is something else)."""
    if folder.exists() or folder.is_symlink():
        return f"{folder.as_posix()!r} exists and is not a directory"
    return f"output folder {folder.as_posix()!r} does not exist; create it first"


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
    if not create:
        raise InputError(_not_a_folder(folder), field=field)
    if not folder.parent.is_dir():
        raise InputError(f"cannot create {folder.as_posix()!r}: {_not_a_folder(folder.parent)}", field=field)
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
        # O_NONBLOCK: opening a FIFO does not wait for a writer; fstat then decides on what was opened
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError as err:
        raise InputError(f"{what} {path.as_posix()!r} does not exist", field=field) from err
    except OSError as err:
        raise InputError(f"cannot read {what} {path.as_posix()!r} ({err.strerror or err})", field=field) from err
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{what} {path.as_posix()!r} is not a regular file", field=field)
        if info.st_size > limit:
            raise InputError(f"{what} {path.as_posix()!r} has {info.st_size} bytes; the limit is {limit}", field=field)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    except OSError as err:
        raise InputError(f"cannot read {what} {path.as_posix()!r} ({err.strerror or err})", field=field) from err
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InputError(f"{what} {path.as_posix()!r} is larger than {limit} bytes", field=field)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{what} {path.as_posix()!r} is not UTF-8 text", field=field) from err
