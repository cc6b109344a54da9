"""``volterra-sym verify`` on the gradient-class derivations (derivations/nonlinear/): digits and seconds per claim.

The bar (issues 3 and 6): every claim passes or says why it is skipped, each spec in under 60 s on
the 2-core reference machine. Run: ``python benchmarks/bench_verify_gradient.py [--mc-paths P] [SPEC ...]``.

Measured (dps 50, 3 samples, seed 0, 20000 Monte-Carlo paths; 2-core machine, load ~0.8)::

    derivations/nonlinear/tanh1_scalar.toml: 24.9 s, passed
      stationary_density       passed   50.0 digits (need 30)    0.6 s
      stationary_mean          passed   12.7 digits (need 9)    0.8 s
      taylor_coefficients      passed   12.3 digits (need 9)    6.8 s
      fdt_derivative           passed   13.9 digits (need 9)    0.0 s
      kernels_vs_correlation   passed   13.4 digits (need 9)    0.2 s
      float64_vs_mpmath        passed   13.2 digits (need 9)    9.6 s
      precision_ladder         passed   22.5 digits (need 20)    3.1 s
      theory_reference         passed    9.9 digits (need 9)    1.2 s
      monte_carlo              passed    2.3 digits (need 1.71002)    2.3 s
    derivations/nonlinear/tanh2_reversible.toml: 26.1 s, passed
      stationary_density       passed   25.0 digits (need 20)   10.4 s
      stationary_mean          passed   13.0 digits (need 9)    0.0 s
      taylor_coefficients      passed   12.3 digits (need 9)    3.5 s
      fdt_derivative           passed   12.0 digits (need 9)    0.1 s
      kernels_vs_correlation   passed   11.0 digits (need 9)    0.5 s
      float64_vs_mpmath        skipped: the mpmath Krylov route handles one hidden unit (...)
      precision_ladder         skipped: the mpmath Krylov route handles one hidden unit (...)
      theory_reference         skipped: the theory.md 5 reference values belong to the scalar tanh network
      monte_carlo              passed    2.8 digits (need 2.40973)    9.3 s

(monte_carlo: "digits" of |MC - exact| and "need" those of 4 standard errors, i.e. |z| <= 4.)
The 2-unit total includes ~3 s of eigen-decomposition (2304 x 2304) before the claims.
Under load from other processes the wall times grow roughly in proportion (the claims are
single-threaded Python/mpmath, except the 2-unit eigen-decomposition).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from volterra_sym.verification.runner import verify_spec  # noqa: E402
from volterra_sym.verification.claims.gradient import DEFAULT_MC_PATHS  # noqa: E402

BUDGET_SECONDS = 60.0
SPECS = ("derivations/nonlinear/tanh1_scalar.toml", "derivations/nonlinear/tanh2_reversible.toml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", help=f"spec files (default: {', '.join(SPECS)})")
    parser.add_argument("--mc-paths", type=int, default=DEFAULT_MC_PATHS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    ok = True
    for spec in args.specs or SPECS:
        start = time.perf_counter()
        report = verify_spec(ROOT / spec if not Path(spec).is_absolute() else spec, seed=args.seed,
                             mc_paths=args.mc_paths, progress=False)
        elapsed = time.perf_counter() - start
        verdict = "passed" if report.passed else "FAILED"
        over = elapsed > BUDGET_SECONDS
        print(f"{spec}: {elapsed:.1f} s, {verdict}" + (f" (over the {BUDGET_SECONDS:g} s budget)" if over else ""))
        for c in report.claims:
            if c.status == "skipped":
                print(f"  {c.name:<24} skipped: {c.detail.removeprefix('skipped: ')[:70]}")
            else:
                print(f"  {c.name:<24} {c.status:<7} {c.digits:5.1f} digits (need {c.required:g}) {c.seconds:6.1f} s")
        ok = ok and report.passed and not over
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
