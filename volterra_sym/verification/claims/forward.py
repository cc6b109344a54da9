"""The forward Fokker-Planck claim: an engine of a nonlinear class against another discretisation.

``forward_fokker_planck`` compares the engine's stationary mean, kernels (order 1 at every sample lag,
higher orders at the first sample), series terms and all-order driven mean at the run's input with
the forward equation solved on a grid (:mod:`volterra_sym.verification.oracles.forward`), built
from the spec parsed again: no symbolic law, no eigen-decomposition, no model builder.

It asks nothing of the engine beyond its answers, so any engine of a nonlinear class can use it:
the run passed in provides

* ``model.spec``, ``values``, ``order``, ``lags``, ``indices``, ``t``, ``eps``, ``u`` (a TrigInput),
  ``memo(key, compute)``;
* ``engine(n, lags)`` -> array (p,) + (m,) * n; optionally ``engine_contact(composition, lags)`` -> the
  same layout, the contact kernels of an input inside the activation (theory.md 7.1); ``engine_series()`` -> (order + 1, p) at (t, eps, u);
  ``engine_driven_mean()`` -> (p,) at (t, eps, u), or None when the engine has no driven mean.

For an input inside the activation the route's operators are -div(a^(j)(z)/j! o C_{k_1} o ... rho)
(:mod:`volterra_sym.fokker_planck`), so the time-ordered kernels, the contact kernels (every
composition of each order n >= 2 at the first sample's lags) and the series with its contact terms
are all compared.

(The gradient engine's run is :class:`.gradient_run.GradientRun`; a grid engine adds this claim to
its claim set in the same way, see :data:`volterra_sym.verification.runner.CLAIM_SETS`.)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy

from ..oracles.forward import ForwardRoute, forward_route
from ..oracles.gaussian_path import NoOracle
from ..results import ClaimResult, Tally, skipped_claim

__all__ = ["forward_fokker_planck", "FORWARD_DIGITS"]

#: the claim's tolerance: the engines are converged to ~1e-9, the grid route to ~1e-10
FORWARD_DIGITS = 8.0


def route(run: Any) -> ForwardRoute | NoOracle:
    """The run's forward route, refined once if its own grid or step changes exceed a tenth of the tolerance."""

    def build():
        r = forward_route(run.model.spec, run.values, order=max(run.order, 1))
        if run.order >= 1:
            probe = (run.lags[0][0], run.indices[0][0])
            changes = r.changes(*probe)
            if max(changes) > 0.1 * 10**-FORWARD_DIGITS:
                nodes = int(1.5 * r.nodes) // 2 * 2
                r = replace(r, solver=r.variant(nodes=nodes, step=r.solver.step / 2), nodes=nodes)
                changes = r.changes(*probe)
                if max(changes) > 0.1 * 10**-FORWARD_DIGITS:
                    raise NoOracle(f"the forward route did not converge (grid change {changes[0]:.1e}, "
                                   f"step change {changes[1]:.1e})")
            r = replace(r, checked=changes)
        return r

    return run.memo(("forward route",), build)


def compositions(n: int) -> list[tuple[int, ...]]:
    """The compositions of n (ordered tuples of positive parts summing to n), all-ones last.

    >>> compositions(3)
    [(3,), (2, 1), (1, 2), (1, 1, 1)]
    """
    if n == 0:
        return [()]
    out = [(j,) + rest for j in range(n, 0, -1) for rest in compositions(n - j)]
    return out


def _contact_kernels(run: Any, fp: Any, tally: Tally) -> int:
    """Every contact composition of orders 2..order at the first sample's lags: engine vs the route."""
    engine_contact = getattr(run, "engine_contact", None)
    if engine_contact is None:
        tally.skip("contact kernels: the engine run does not expose them")
        return 0
    p = len(run.model.spec.readout)
    rows, count = [], 0
    for n in range(2, run.order + 1):
        for comp in compositions(n)[:-1]:
            lags = tuple(run.lags[n - 1][0][:len(comp)])
            engine = engine_contact(comp, lags)
            for idx in run.indices[n - 1]:
                groups, start = [], 0
                for j in comp:
                    groups.append(idx[start] if j == 1 else tuple(idx[start:start + j]))
                    start += j
                rows.append((n, comp, idx, lags, tuple(groups), engine[(slice(None),) + tuple(idx)]))
    if not rows:
        return 0
    values = fp.kernels([(lags, groups) for _, _, _, lags, groups, _ in rows])
    scales: dict[int, float] = {}
    for (n, *_), value in zip(rows, values):
        scales[n] = max(scales.get(n, 1e-300), float(numpy.abs(value).max()))
    for (n, comp, idx, _, _, engine), value in zip(rows, values):
        for q in range(p):
            count += 1
            tally.compare(float(engine[q]), float(value[q]), scales[n],
                          f"R^{list(comp)}_{{f{q + 1};{','.join(str(k + 1) for k in idx)}}}(sample 1)")
    return count


def forward_fokker_planck(run: Any) -> ClaimResult:
    """Engine vs the forward Fokker-Planck equation on a grid (module docstring)."""
    r = route(run)
    if isinstance(r, NoOracle):
        return skipped_claim("forward_fokker_planck", FORWARD_DIGITS, str(r))
    fp = r.solver
    tally = Tally(16.0)
    p = len(run.model.spec.readout)
    requests, labels = [], []
    for n in range(1, run.order + 1):
        lag_sets = run.lags[n - 1] if n == 1 else run.lags[n - 1][:1]
        for s, lags in enumerate(lag_sets):
            for idx in run.indices[n - 1]:
                requests.append((tuple(lags), tuple(idx)))
                labels.append((n, s, idx))
    values = fp.kernels(requests)
    groups: dict[int, list[float]] = {}
    for (n, _, _), row in zip(labels, values):
        groups.setdefault(n, []).extend(numpy.abs(row).tolist())
    scales = {n: max(max(v), 1e-300) for n, v in groups.items()}
    for (n, s, idx), (lags, _), row in zip(labels, requests, values):
        engine = run.engine(n, lags)
        for q in range(p):
            tally.compare(float(engine[(q,) + idx]), float(row[q]), scales[n],
                          f"R^({n})_{{f{q + 1};{','.join(str(k + 1) for k in idx)}}}(sample {s + 1})")
    contact = _contact_kernels(run, fp, tally) if fp.inside is not None else 0
    mean = fp.stationary_mean()
    engine_mean = run.engine(0, ())
    for q in range(p):
        tally.compare(float(engine_mean[q]), float(mean[q]), max(float(numpy.abs(mean).max()), 1e-300), f"<f{q + 1}>")
    u = run.u.numpy
    terms, driven = fp.forced(u, run.t, run.eps, run.order)
    engine_terms = run.engine_series()
    for n, row in enumerate(terms):
        # a term's own size, floored at 1e-2 of the largest (the series is computed to ~1e-11 absolute)
        scale = max(float(numpy.abs(row).max()), float(numpy.abs(terms).max()) * 1e-2, 1e-300)
        for q in range(p):
            tally.compare(float(engine_terms[n][q]), float(row[q]), scale, f"series term {n} of f{q + 1}")
    engine_driven = run.engine_driven_mean()
    if engine_driven is not None:
        scale = max(float(numpy.abs(driven).max()), 1e-300)
        for q in range(p):
            tally.compare(float(engine_driven[q]), float(driven[q]), scale, f"driven mean E f{q + 1}(h_t)")
    grid, step = r.checked or (float("nan"), float("nan"))
    inside = "" if fp.inside is None else (
        f"input inside the activation (operators -div(a^(j)(z)/j! o C_k.. rho), {contact} contact kernels); ")
    return tally.result("forward_fokker_planck", FORWARD_DIGITS,
                        f"{inside}engine <f>, kernels (order 1 at every sample lag, higher orders at the first), series terms "
                        f"and driven mean at t={run.t:g}, eps={run.eps:g} vs the forward equation "
                        f"d rho/dt = L0* rho on {r.describe()}, from the spec parsed again; the route moves by "
                        f"{grid:.1e} on a 1.25x finer grid and {step:.1e} with half the step")
