"""``volterra-sym verify`` on every shipped derivation: digits per claim and wall time.

The issue's bar: every claim passes with the mpmath claims at >= 30 digits (dps 50), each spec in
under 60 s on the 2-core reference machine. float64 claims report float64 agreement (their
tolerances are 1e-12 for kernels and 1e-9 for series), the precision ladder the agreement of
dps 30 with dps 60 (>= 25 digits).

Run: ``python benchmarks/bench_verify.py [--dps 50] [--samples 3] [--seed 0] [SPEC ...]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from volterra_sym.verification.claims.ou import CLAIMS
from volterra_sym.verification.runner import verify_spec

BUDGET_SECONDS = 60.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", help="spec files (default: derivations/*.toml)")
    parser.add_argument("--dps", type=int, default=50)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    specs = [Path(s) for s in args.specs] or sorted(
        p for p in (ROOT / "derivations").glob("*.toml") if p.name.count(".") == 1)
    names = list(CLAIMS)
    short = {n: n.replace("backward_vs_correlation", "backward").replace("series_vs_resummation", "series")
             .replace("float64_vs_mpmath", "float64").replace("recorded_references", "references")
             .replace("stationary_law", "law").replace("precision_ladder", "ladder") for n in names}
    header = f"{'spec':<15}" + "".join(f"{short[n]:>16}" for n in names) + f"{'total':>9}"
    print(f"verify at dps {args.dps}, {args.samples} sample(s), seed {args.seed}: digits (seconds) per claim")
    print(header)
    ok = True
    for spec in specs:
        report = verify_spec(spec, dps=args.dps, samples=args.samples, seed=args.seed, progress=False)
        cells = []
        for n in names:
            c = report.claim(n)
            mark = {"passed": "", "failed": "!", "skipped": "s"}[c.status]
            digits = "-" if c.digits is None else f"{c.digits:.1f}"
            cells.append(f"{digits}{mark} ({c.seconds:.1f})".rjust(16))
        within = report.seconds < BUDGET_SECONDS
        ok &= report.passed and within
        print(f"{Path(spec).stem:<15}" + "".join(cells) + f"{report.seconds:>8.1f}s" + ("" if within else " OVER"))
    print("(! failed, s skipped)")
    print("all specs verified within budget" if ok else "SOME SPEC FAILED OR WAS OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
