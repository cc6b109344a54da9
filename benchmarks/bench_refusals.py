"""Wall time and peak memory of every hostile-input refusal, each in a fresh process; run by hand.

    python benchmarks/bench_refusals.py [-k SUBSTRING] [--baseline]

Runs every case of ``tests/test_hostile.py`` (``_cases``: the issue-11 list and the engine options
added since) as ``python -m volterra_sym ...`` under ``/usr/bin/time -v`` in a scratch folder, and
prints exit status, stderr line count, wall seconds and peak RSS (MB), worst first, with the load
average. ``--baseline`` also times ``python -c "import volterra_sym.cli.main, numpy, sympy"`` (the
interpreter and imports every command pays), so the figures can be read as ratios on a loaded machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from test_hostile import NONLINEAR, _cases  # noqa: E402


def _timed(argv: list[str], cwd: Path, env: dict) -> tuple[int, int, float, float, str]:
    """(status, stderr lines, wall s, peak MB, first stderr line) of one fresh process."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        done = subprocess.run(["/usr/bin/time", "-v", "-o", report.name, *argv], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=600)
        text = report.read()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    seconds = (int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))) if wall else float("nan")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    lines = done.stderr.strip().splitlines()
    return done.returncode, len(lines), seconds, rss, (lines[0] if lines else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    parser.add_argument("--baseline", action="store_true", help="also time the bare imports")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory() as folder:
        box = Path(folder)
        for name in ("ou2_quadratic.toml", "ou2_symbolic.toml"):
            shutil.copy(ROOT / "derivations" / name, box / name)
        (box / "nonlinear").mkdir()
        for name in NONLINEAR:
            shutil.copy(ROOT / "derivations" / "nonlinear" / name, box / "nonlinear" / name)
        rows = []
        if args.baseline:
            rows.append(("(imports only)", *_timed([sys.executable, "-c", "import volterra_sym.cli.main, numpy, sympy"],
                                                   box, env)))
        for name, case in sorted(_cases(box).items()):
            if case is None or args.k not in name:
                continue
            argv, _ = case
            rows.append((name, *_timed([sys.executable, "-m", "volterra_sym", *map(str, argv)], box, env)))
    print(f"load average {os.getloadavg()[0]:.1f} (cores {os.cpu_count()})")
    print(f"{'case':48s} {'exit':>4s} {'lines':>5s} {'wall s':>7s} {'peak MB':>8s}  first line")
    for name, status, lines, wall, rss, first in sorted(rows, key=lambda r: -r[3]):
        print(f"{name[:48]:48s} {status:4d} {lines:5d} {wall:7.2f} {rss:8.0f}  {first[:90]}")
    print(f"{len(rows)} cases; worst wall {max(r[3] for r in rows):.2f} s, worst peak {max(r[4] for r in rows):.0f} MB")


if __name__ == "__main__":
    main()
