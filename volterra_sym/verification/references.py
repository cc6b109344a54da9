"""Recorded oracle values: ``derivations/<name>.reference.toml`` beside each spec.

:func:`record_references` (``volterra-sym verify --record``) stores values from the independent
routes of :mod:`volterra_sym.oracles` only, never from the closed forms, as decimal strings with
RECORD_DIGITS significant digits and the method that produced each table. :func:`check_references`
re-checks a file against the float64 engine in well under a second, so the test suite does it on
every run.
"""

from __future__ import annotations

import json
import math
import os
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mpmath
import numpy

from .. import __version__
from ..classes.ou.derive import KernelSet
from ..classes.ou.evaluate import numeric_kernels
from ..errors import InputError, SpecError
from ..model import resolve_parameters
from .oracles.gaussian_path import NoOracle, zero_lag_mean
from .oracles.trig_input import TrigInput
from .claims.ou_run import (FLOAT64_KERNEL_TOL, FLOAT64_SERIES_TOL, OURun, engine_kernel, float64_series,
                           sample_points, group_scales, work)
from .results import ClaimResult, KernelCallable, check_options

__all__ = ["RECORD_DPS", "RECORD_DIGITS", "reference_path", "record_references", "check_references"]

RECORD_DPS = 50
RECORD_DIGITS = 45
KERNEL_METHOD = ("correlation form E[g_{n-1}(h_tau_n) A_k(h_0)] over the Gaussian path, Bismut weights, "
                 "conditioned Gauss-Hermite (polynomial terms) / trapezoidal rule (other terms)")
SERIES_METHOD = ("eps-Taylor coefficients of E f(mu + xi + eps delta_t) (Cameron-Martin Hermite weights), "
                 "delta_t by the matrix exponential of the augmented input system")


def reference_path(spec_path: str | Path) -> Path:
    """``derivations/<name>.toml`` -> ``derivations/<name>.reference.toml``."""
    p = Path(spec_path)
    return p.with_name(f"{p.stem}.reference.toml")


def _toml_str(s: str) -> str:
    return json.dumps(s)


def _num(v: Any) -> str:
    return _toml_str(mpmath.nstr(mpmath.mpf(v), RECORD_DIGITS) if v != 0 else "0")


def record_references(kset: KernelSet, *, dps: int = RECORD_DPS, samples: int = 3, seed: int = 0,
                      params: Mapping[str, float] | None = None, path: str | Path | None = None) -> Path:
    """Write oracle values (independent routes only, never the closed forms) beside the spec.

    Values are decimal strings with RECORD_DIGITS significant digits computed at ``dps`` (>= 50)
    plus guard digits; each table names the method that produced it.
    """
    check_options(dps, samples, seed)
    if dps < RECORD_DPS:
        raise InputError(f"recording needs dps >= {RECORD_DPS} (40+ recorded digits)", field="dps")
    model = kset.model
    values = resolve_parameters(model.spec, params or {})
    numeric_kernels(kset, values)
    points = sample_points(kset, samples, seed)
    run = OURun(kset, values, dps, points, None)
    out = Path(path) if path is not None else reference_path(model.spec.source)
    lines = [
        f"# Independent oracle values for {Path(model.spec.source).name}, written by volterra_sym.verification.references.record_references",
        f"# (volterra_sym {__version__}). Never derived from the closed forms; re-checked against the float64",
        "# engine by tests/test_verify.py. Parameters are the binary64 numbers shown.",
        f"spec = {_toml_str(Path(model.spec.source).name)}",
        f"name = {_toml_str(model.spec.name)}",
        f"order = {kset.order}",
        f"dps = {dps}",
        f"seed = {seed}",
        f"digits = {RECORD_DIGITS}",
        "",
        "[parameters]",
    ]
    lines += [f"{k} = {v!r}" for k, v in values.items()]
    with work(dps):
        om = run.oracle()
        lines += ["", "[law]", 'method = "mpmath LU solve of mu = -A^-1 b and of the Kronecker form of A S + S A^T + Sigma = 0"',
                  "mean = [" + ", ".join(_num(om.mu[i]) for i in range(om.n_hidden)) + "]",
                  "covariance = [" + ", ".join("[" + ", ".join(_num(om.S[i, j]) for j in range(om.n_hidden)) + "]"
                                               for i in range(om.n_hidden)) + "]"]
        for key in run.kernel_keys():
            ref = run.oracle_kernel(key)
            if isinstance(ref, NoOracle):
                continue
            n, s, q, idx = key
            lines += ["", "[[kernel]]", f"order = {n}", f"output = {q}", f"indices = {list(idx)}",
                      "lags = [" + ", ".join(_toml_str(repr(x)) for x in points.lags[n - 1][s]) + "]",
                      f"value = {_num(ref)}",
                      f"method = {_toml_str(KERNEL_METHOD)}"]
        for q in range(om.n_outputs):
            for k in range(om.n_inputs if kset.order >= 1 else 0):
                try:
                    ref = zero_lag_mean(om, q, k)
                except NoOracle:
                    continue
                lines += ["", "[[zero_lag]]", f"output = {q}", f"index = {k}", f"value = {_num(ref)}",
                          'method = "<C_k . grad f> by Gaussian quadrature under the mpmath stationary law"']
        terms = run.resummation_terms()
        if not isinstance(terms, NoOracle):
            u = points.u
            lines += ["", "[series]", f"t = {points.t!r}", f"eps = {points.eps!r}",
                      f"offset = {list(u.offset)!r}", f"cos = {list(u.cos)!r}", f"sin = {list(u.sin)!r}",
                      f"freq = {list(u.freq)!r}",
                      "terms = [" + ", ".join("[" + ", ".join(_num(v) for v in row) + "]" for row in terms) + "]",
                      f"method = {_toml_str(SERIES_METHOD)}",
                      'input = "u_c(t) = offset_c + cos_c*cos(freq_c*t) + sin_c*sin(freq_c*t)"']
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return out


def check_references(kset: KernelSet, path: str | Path, *, values: Mapping[str, float] | None = None,
                     kernel: KernelCallable | None = None) -> ClaimResult:
    """Recorded oracle values vs the float64 engine (``kernel_values``, ``series_terms``).

    Kernels and zero-lag values must agree to 1e-12 and series terms to 1e-9 of the largest
    recorded value of their order. Skipped when ``values`` differ from the recorded parameters.
    """
    start = time.perf_counter()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise SpecError(f"cannot read the reference file ({err})", path=str(path)) from err
    recorded = {k: float(v) for k, v in data.get("parameters", {}).items()}
    current = dict(values) if values is not None else dict(resolve_parameters(kset.model.spec, {}))
    name = "recorded_references"
    if recorded != {k: float(v) for k, v in current.items()}:
        return ClaimResult(name, "skipped", None, 12.0, "skipped: references were recorded at other parameter values")
    if data.get("order", 0) > kset.order:
        return ClaimResult(name, "skipped", None, 12.0, f"skipped: references go to order {data['order']}")
    kernel = kernel or engine_kernel(kset)
    errors: list[tuple[float, str]] = []
    with mpmath.workdps(60):
        groups: dict[int, list] = {}
        for entry in data.get("kernel", []):
            groups.setdefault(entry["order"], []).append(mpmath.mpf(entry["value"]))
        scales = group_scales(groups)
        for entry in data.get("kernel", []):
            n, lags = entry["order"], [float(x) for x in entry["lags"]]
            got = float(numpy.asarray(kernel(n, *lags, **recorded))[(entry["output"],) + tuple(entry["indices"])])
            err = abs(mpmath.mpf(got) - mpmath.mpf(entry["value"])) / scales[n] / FLOAT64_KERNEL_TOL
            errors.append((float(err), f"R^({n})_{{f{entry['output'] + 1};{entry['indices']}}}({lags})"))
        zl = [mpmath.mpf(e["value"]) for e in data.get("zero_lag", [])]
        zscale = max((abs(v) for v in zl), default=mpmath.mpf(1)) or mpmath.mpf(1)
        for entry in data.get("zero_lag", []):
            got = float(numpy.asarray(kernel(1, 0.0, **recorded))[entry["output"], entry["index"]])
            err = abs(mpmath.mpf(got) - mpmath.mpf(entry["value"])) / zscale / FLOAT64_KERNEL_TOL
            errors.append((float(err), f"R^(1)_{{f{entry['output'] + 1};{entry['index'] + 1}}}(0)"))
        series = data.get("series")
        if series is not None:
            u = TrigInput(tuple(series["offset"]), tuple(series["cos"]), tuple(series["sin"]), tuple(series["freq"]))
            nk = numeric_kernels(kset, recorded)
            result, _ = float64_series(nk, u, float(series["t"]), float(series["eps"]), len(series["terms"]) - 1)
            terms = [[mpmath.mpf(v) for v in row] for row in series["terms"]]
            sscales = group_scales(dict(enumerate(terms)))
            for n, row in enumerate(terms):
                for q, ref in enumerate(row):
                    err = abs(mpmath.mpf(float(result.terms[n, q])) - ref) / sscales[n] / FLOAT64_SERIES_TOL
                    errors.append((float(err), f"series term {n} of f{q + 1}"))
    if not errors:
        return ClaimResult(name, "skipped", None, 12.0, "skipped: the reference file holds no values")
    worst, label = max(errors)
    digits = 12.0 - math.log10(worst) if worst > 0 else 16.0
    status = "passed" if worst <= 1 else "failed"
    return ClaimResult(name, status, min(digits, 16.0), 12.0,
                       f"{len(errors)} recorded oracle values from {Path(path).name} vs the float64 engine "
                       f"(kernels {FLOAT64_KERNEL_TOL:g}, series {FLOAT64_SERIES_TOL:g}; digits on the kernel scale)",
                       label, len(errors), 0, time.perf_counter() - start)
