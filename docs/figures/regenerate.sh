#!/usr/bin/env bash
# Regenerate the figures of the README and of the documentation's gallery (a few minutes: Monte Carlo
# with 10^5 paths). Needs matplotlib: pip install '.[plot]'. Run from the repository root:
#     bash docs/figures/regenerate.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
report() {  # report NAME SPEC EPS-LIST: the three figures of one report, renamed NAME_*.png
    volterra-sym report "$2" --input "sin(t)" --eps-list "$3" -o "$work/$1" >/dev/null
    for figure in kernels mean_output truncation_error; do
        cp "$work/$1/$figure.png" "docs/figures/$1_$figure.png"
    done
}
report tanh3 derivations/nonlinear/tanh3.toml 0.3,3
report tanh1 derivations/nonlinear/tanh1_scalar.toml 0.3,1.5
report ou2_quadratic derivations/ou2_quadratic.toml 0.3,1
# the README shows tanh3_mean_output.png and this copy of tanh1_mean_output.png
cp docs/figures/tanh1_mean_output.png docs/figures/tanh1_exact_vs_linearized.png
echo "figures written to docs/figures/"
