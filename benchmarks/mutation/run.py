"""Mutation testing of the core, by hand: ``python benchmarks/mutation/run.py [--only ID,ID] [--area A]``.

Each mutation of ``mutations.toml`` (a file, the exact text of one original line, its replacement and why)
is applied alone to a temporary copy of the tree (the tracked and untracked-but-not-ignored files of
this checkout, so uncommitted work is included). Then, in that copy:

1. a template mutation regenerates the generated modules it feeds (``regenerate`` of its area: the OU
   modules and the golden toy module, or every committed module of the spectral family), so that a
   stale stamp cannot be what kills it;
2. the area's fast test selection runs (``pytest -x -m "not slow"``);
3. if every test passed, ``verify`` runs on the area's shipped specs (``--samples 1``; gradient specs
   with ``--mc-paths 0`` unless the area is the simulator's; an entry may instead give its own options,
   such as ``--engine linearized``).

A mutant is *killed* when a test fails or a verify exits non-zero (1: a claim failed, 2: refused with
a message, anything else: a crash), *survived* otherwise, *stale* when its original line is no longer
found exactly once (the list needs updating after the code moved). A survivor listed with
``equivalent = "reason"`` computes the same numbers as the original on every input the package
accepts, so the kill rate is reported over the others too. Everything runs sequentially under
``nice``, one BLAS thread, with fixed seeds (hypothesis derandomized by tests/conftest.py): two runs
give the same verdicts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIST = Path(__file__).resolve().parent / "mutations.toml"
TEST_TIMEOUT = 3600
VERIFY_TIMEOUT = 1800


def _tree_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                         check=True, capture_output=True).stdout.decode()
    return [f for f in out.split("\0") if f and (ROOT / f).is_file()]


def _env(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    env.pop("VOLTERRA_SYM_UPDATE_GOLDEN", None)
    return env


def _run(args: list[str], copy: Path, timeout: int, env: dict | None = None) -> tuple[int, str]:
    try:
        proc = subprocess.run(["nice", "-n", "15", sys.executable, *args], cwd=copy, env=env or _env(copy),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -9, "timeout"
    return proc.returncode, proc.stdout + proc.stderr


def _first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" - ")[0]
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1][:160] if lines else "no output"


def _regenerate(kind: str, copy: Path) -> tuple[bool, str]:
    specs = sorted(p for p in (copy / "derivations").glob("*.toml") if p.name.count(".") == 1)
    if kind == "nonlinear":  # every committed module of the spectral family (a stale stamp must not kill)
        specs = sorted(p.with_suffix(".toml") for p in (copy / "derivations" / "nonlinear").glob("*.py")
                       if '"template": "spectral_module.py.j2"' in p.read_text(encoding="utf-8")[:1000])
    if not specs:  # a runner bug, not a kill
        raise RuntimeError(f"no committed module to regenerate for {kind!r}")
    for spec in specs:
        rc, out = _run(["-m", "volterra_sym", "generate", str(spec.relative_to(copy))], copy, VERIFY_TIMEOUT)
        if rc != 0:
            return False, f"generate {spec.name} exited {rc}: {_first_failure(out)}"
    if kind == "ou":
        env = _env(copy)
        env["VOLTERRA_SYM_UPDATE_GOLDEN"] = "1"
        _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_render.py"], copy, TEST_TIMEOUT, env)
    return True, ""


def run_one(mutation: dict, area: dict, copy: Path) -> dict:
    """Apply one mutation to ``copy``, judge it, and restore the copy."""
    target = copy / mutation["file"]
    original = target.read_text(encoding="utf-8")
    result = {"id": mutation["id"], "area": mutation["area"], "file": mutation["file"], "why": mutation["why"]}
    if original.count(mutation["original"]) != 1:
        return {**result, "verdict": "stale", "by": "the original line is not found exactly once"}
    start = time.perf_counter()
    target.write_text(original.replace(mutation["original"], mutation["mutated"]), encoding="utf-8")
    try:
        verdict, by = "survived", ""
        if area.get("regenerate"):
            ok, why = _regenerate(area["regenerate"], copy)
            if not ok:
                verdict, by = "killed", why
        if verdict == "survived":
            rc, out = _run(["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow", *area["tests"]],
                           copy, TEST_TIMEOUT)
            if rc != 0:
                verdict, by = "killed", f"tests: {_first_failure(out)}"
        if verdict == "survived":
            for entry in area.get("verify", []):
                spec, *extra = entry.split()
                args = ["-m", "volterra_sym", "verify", spec, *extra, "--samples", "1", "--json"]
                if "nonlinear" in spec and not extra and not area.get("monte_carlo"):
                    args += ["--mc-paths", "0"]
                rc, out = _run(args, copy, VERIFY_TIMEOUT)
                if rc != 0:
                    failed = ""
                    try:
                        data = json.loads(out[out.index("{"):])
                        failed = ", ".join(c["name"] for c in data["claims"] if c["status"] == "failed")
                    except (ValueError, KeyError):
                        failed = _first_failure(out)
                    verdict, by = "killed", f"verify {Path(spec).name} exit {rc}: {failed}"
                    break
    finally:
        target.write_text(original, encoding="utf-8")
        if area.get("regenerate"):
            for rel in _tree_files():
                if rel.startswith(("derivations/", "tests/golden/")):
                    shutil.copyfile(ROOT / rel, copy / rel)
    if verdict == "survived" and mutation.get("equivalent"):
        verdict, by = "equivalent", mutation["equivalent"]
    return {**result, "verdict": verdict, "by": by, "seconds": round(time.perf_counter() - start, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated mutation ids")
    parser.add_argument("--area", help="only the mutations of this area")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    data = tomllib.loads(LIST.read_text(encoding="utf-8"))
    mutations = data["mutation"]
    if args.only:
        wanted = set(args.only.split(","))
        mutations = [m for m in mutations if m["id"] in wanted]
    if args.area:
        mutations = [m for m in mutations if m["area"] == args.area]
    if args.list:
        for m in mutations:
            print(f"{m['id']:40s} {m['area']:17s} {m['file']}: {m['why']}")
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="volterra-mutation-") as tmp:
        copy = Path(tmp)
        for rel in _tree_files():
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / rel, copy / rel)
        for m in mutations:
            result = run_one(m, data["areas"][m["area"]], copy)
            results.append(result)
            print(f"{result['verdict']:10s} {result['id']:40s} {result.get('seconds', 0):7.1f}s  {result['by']}",
                  flush=True)
    counted = [r for r in results if r["verdict"] != "stale"]
    killed = sum(r["verdict"] == "killed" for r in counted)
    equivalent = sum(r["verdict"] == "equivalent" for r in counted)
    survivors = [r for r in counted if r["verdict"] in ("survived", "equivalent")]
    print(f"\n{killed}/{len(counted)} killed ({100 * killed / max(len(counted), 1):.1f}%); "
          f"{killed}/{len(counted) - equivalent} of the non-equivalent mutants "
          f"({100 * killed / max(len(counted) - equivalent, 1):.1f}%); stale: "
          f"{sum(r['verdict'] == 'stale' for r in results)}")
    for r in survivors:
        print(f"  {r['verdict']}: {r['id']} ({r['file']}): {r['why']}" + (f" -- {r['by']}" if r["by"] else ""))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
