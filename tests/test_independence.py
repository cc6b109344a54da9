"""The independent routes share no code with the engines (README, "Architecture"; issue 14).

* the oracles that parse the spec again, the Gaussian-path oracles and the forward Fokker-Planck
  route reach none of model, gaussian, propagator, the engines (classes/) or the simulator, even
  through other modules (the import graph is followed transitively);
* no engine imports the forward Fokker-Planck solver.
"""

from __future__ import annotations

import pytest

from test_architecture import MODULES, _imports, _internal

INDEPENDENT = ["volterra_sym.verification.oracles.spec_parse", "volterra_sym.verification.oracles.gaussian_path",
               "volterra_sym.verification.oracles.forward", "volterra_sym.fokker_planck"]
FORBIDDEN = ("volterra_sym.model", "volterra_sym.gaussian", "volterra_sym.propagator", "volterra_sym.classes",
             "volterra_sym.simulate", "volterra_sym.stepping", "volterra_sym.network")


def _reached(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for target, _, _ in _imports(module, MODULES[module]):
            internal = _internal(target) if target.startswith("volterra_sym") else None
            if internal and internal != "volterra_sym":
                todo.append(internal)
    return seen


@pytest.mark.parametrize("module", INDEPENDENT)
def test_independent_routes_reach_no_engine_code(module):
    bad = sorted(m for m in _reached(module) if m.startswith(FORBIDDEN))
    assert not bad, f"{module} reaches {bad}"


def test_no_engine_uses_the_forward_solver():
    users = sorted(m for m in MODULES if m.startswith("volterra_sym.classes")
                   and "volterra_sym.fokker_planck" in _reached(m))
    assert not users, users
