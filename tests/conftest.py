from __future__ import annotations

import os
import sys
from pathlib import Path

# one BLAS/OpenMP thread: the tests use small arrays, where a threaded BLAS on 2 shared cores spends
# more time spinning than computing (measured: one forward-solver test 47 s with threads, 3-8 s without).
# Set before NumPy loads its BLAS; child processes (CLI tests) inherit it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

try:  # NumPy may already be loaded (by a plugin): limit its pools in place
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
except ImportError:  # pragma: no cover - scikit-learn (in the [test] extra) brings threadpoolctl
    pass

# same examples on every run: CI failures must be reproducible
settings.register_profile("volterra", derandomize=True, deadline=None)
settings.load_profile("volterra")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

#: every linear derivation shipped with the project (conformance suites run over all of them)
DERIVATIONS = sorted(p for p in (ROOT / "derivations").glob("*.toml") if p.name.count(".") == 1)


@pytest.fixture
def rng() -> numpy.random.Generator:
    return numpy.random.default_rng(20240611)


@pytest.fixture(params=DERIVATIONS, ids=lambda p: p.stem)
def derivation(request) -> Path:
    return request.param


#: what a test run may leave in the checkout (caches); anything else new is a test writing outside tmp_path
_RUN_LEFTOVERS = {".pytest_cache", ".hypothesis", "__pycache__"}


def _checkout_entries() -> set[str]:
    entries = {p.name for p in ROOT.iterdir()}
    for folder in ("derivations", "docs", "tests", "examples"):
        entries |= {f"{folder}/{p.relative_to(ROOT / folder)}" for p in (ROOT / folder).rglob("*")
                    if "__pycache__" not in p.parts}
    return entries


@pytest.fixture(scope="session", autouse=True)
def checkout_stays_clean():
    """No test leaves a file in the checkout (a report/ folder, a generated module, a build/ folder)."""
    before = _checkout_entries()
    yield
    new = sorted(e for e in _checkout_entries() - before if e.split("/")[-1] not in _RUN_LEFTOVERS)
    assert not new, f"tests left these in the checkout: {new}"
