"""Progress bars on stderr (tqdm), shown only when asked for or when stderr is a terminal."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["progress_bar"]


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def progress_bar(total: int, *, enabled: bool | None = None, desc: str = "", unit: str = "it") -> Any:
    """A tqdm bar (a context manager with ``update``, ``set_postfix_str``, ``close``), or a silent
    stand-in; ``enabled=None`` means "when stderr is a terminal"."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, desc=desc, unit=unit, leave=False, mininterval=0.5)
