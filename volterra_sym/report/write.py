"""Writing a report: every file rendered in memory first, then written atomically (nothing is
written, and no folder created, when rendering fails)."""

from __future__ import annotations

from pathlib import Path

from ..files import check_output_folder, write_files
from .build import ResponseReport
from .figures import render_figures
from .tables import render_tables

__all__ = ["write_report"]


def write_report(report: ResponseReport, out_dir: str | Path, *, figures: bool = True,
                 dpi: int = 100) -> tuple[tuple[Path, ...], bool]:
    """Render and write every file of ``report`` into ``out_dir`` atomically (the folder is created
    when its parent exists).

    Returns the written paths and whether figures were drawn (``False`` when ``figures`` is off or
    matplotlib is missing; the tables are written either way).
    """
    out_dir = check_output_folder(out_dir, create=True)
    pngs: dict[str, bytes] = {}
    drawn = False
    if figures:
        try:
            pngs = render_figures(report, dpi=dpi)
            drawn = True
        except ModuleNotFoundError as err:
            if err.name is None or not err.name.startswith("matplotlib"):
                raise
    tables = render_tables(report, figures=drawn)
    files: dict[str, bytes] = {name: text.encode("utf-8") for name, text in tables.items()}
    files.update(pngs)
    return write_files(out_dir, files, create=True), drawn
