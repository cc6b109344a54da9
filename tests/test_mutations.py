"""``verify`` has teeth against the three slips named in issue 14, applied in-process.

Sigma assembled as sigma^T sigma (model.py), a term of the Gaussian moment recursion halved
(gaussian.py) and e^{A tau} transposed (propagator.py) are taken from benchmarks/mutation/mutations.toml
(``named = true``) and applied by recompiling the function that holds the line (tests/mutation_support.py).
Wherever a mutation changes the engine's answers for a shipped spec, ``verify`` must fail there, on an
independent claim. The default run checks ou2_sextic (which every one of them changes) with the
cheapest independent claims; the slow run checks every shipped spec with every claim.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import DERIVATIONS
from mutation_support import apply_in_process, load_mutations
import volterra_sym.model
from volterra_sym import load_spec
from volterra_sym.classes.registry import engine_for
from volterra_sym.verification.runner import verify_spec

ROOT = Path(__file__).resolve().parent.parent
SEXTIC = ROOT / "derivations" / "ou2_sextic.toml"
NONLINEAR = [ROOT / "derivations" / "nonlinear" / f"{name}.toml" for name in ("tanh1_scalar", "tanh2_reversible")]
MUTATIONS = load_mutations()
NAMED = sorted(k for k, m in MUTATIONS.items() if m.get("named"))
FAST_CLAIMS = ["stationary_law", "backward_vs_correlation", "series_vs_resummation", "float64_vs_correlation"]
_BASELINE: dict[Path, np.ndarray] = {}


def answers(path: Path, *, series: bool = True) -> np.ndarray:
    """The engine's stationary mean, kernels (orders 1..3 at fixed lags) and series terms, flattened."""
    spec = load_spec(path)
    engine = engine_for(volterra_sym.model.build_model(spec))  # looked up now: the mutated one when patched
    out = [engine.stationary_mean().value.ravel()]
    for n in range(1, min(spec.order, 3) + 1):
        out.append(engine.kernel([np.array([0.3 + 0.2 * j]) for j in range(n)]).value.ravel())
    if series:
        u = lambda t: np.stack([np.sin(1.3 * np.asarray(t) + c) for c in range(spec.n_inputs)], -1)  # noqa: E731
        out.append(engine.series(u, 1.0, 0.5).terms.ravel())
    return np.concatenate(out)


def baseline(path: Path, **kw) -> np.ndarray:
    if path not in _BASELINE:
        _BASELINE[path] = answers(path, **kw)
    return _BASELINE[path]


def changes(path: Path, **kw) -> bool:
    return not np.allclose(answers(path, **kw), baseline(path, **kw), rtol=1e-9, atol=1e-12)


def test_the_named_mutations_are_listed():
    assert NAMED == ["gaussian-repeated-index-halved", "model-sigma-transposed", "propagator-transposed"]


def test_sextic_verifies_without_mutation():
    report = verify_spec(SEXTIC, claims=FAST_CLAIMS, dps=30, samples=1, progress=False)
    assert report.passed, report.format_text()


@pytest.mark.parametrize("name", NAMED)
def test_named_mutation_fails_verify_on_the_sextic_spec(name, monkeypatch):
    baseline(SEXTIC)
    apply_in_process(monkeypatch, MUTATIONS[name])
    assert changes(SEXTIC), f"{name} should change the ou2_sextic answers"
    report = verify_spec(SEXTIC, claims=FAST_CLAIMS, dps=30, samples=1, progress=False)
    failed = [c.name for c in report.claims if c.status == "failed" and c.independent]
    assert failed and not report.passed, report.format_text()


@pytest.mark.slow
@pytest.mark.parametrize("path", DERIVATIONS + NONLINEAR, ids=lambda p: p.stem)
@pytest.mark.parametrize("name", NAMED)
def test_named_mutation_fails_verify_wherever_it_changes_the_answer(name, path, monkeypatch):
    nonlinear = path in NONLINEAR
    baseline(path, series=not nonlinear)
    apply_in_process(monkeypatch, MUTATIONS[name])
    if not changes(path, series=not nonlinear):
        pytest.skip(f"{name} does not change the answers for {path.stem}")
    report = verify_spec(path, samples=1, progress=False, **({"mc_paths": 0} if nonlinear else {}))
    failed = [c.name for c in report.claims if c.status == "failed" and c.independent]
    assert failed and not report.passed, report.format_text()
