from __future__ import annotations

import sys
from pathlib import Path

import numpy
import pytest
from hypothesis import settings

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
