"""``feature`` and ``represent`` (theory.md, section 6).

``feature`` prints the response feature ``Phi(u) = S(X)_[0,T]`` of inputs given as expressions
in ``t``; ``represent`` prints the mean output of a linear-class derivation computed as
``<l, Phi(u)>`` from the readout coefficients (:mod:`volterra_sym.represent`).

Bases (``--basis``): ``monomial`` and ``legendre`` (``--degree d``: ``d + 1`` functions; Legendre
on ``[0, T]``), ``exponential`` (``--rates r1,r2,...``: ``psi_j(s) = exp(r_j s)``) and ``spectral``
(from the eigenvalues of the derived ``A``, shifted to ``z = s - T`` so that every function is
bounded by 1 on ``[0, T]``; ``feature`` needs SPEC for it).
"""

from __future__ import annotations

import argparse

from ..errors import InputError
from .args import (add_command, add_engine, add_json, add_params, add_spec, emit_json, engine_from, input_from,
                   load_model, require_finite)

__all__ = ["LAYOUT", "add_parsers", "run_feature", "run_represent"]

BASES = ("monomial", "legendre", "exponential", "spectral")
DEFAULT_DEGREE = 4

#: the flat layout of the printed feature (also in the JSON output)
LAYOUT = (
    "levels 1..N concatenated; inside level n the word (a_1, ..., a_n), earliest time first, sits at "
    "offset a_1 D^(n-1) + ... + a_n; channel a = k*d + j holds int u^k psi_j (input k, basis function j), "
    "D = m*d"
)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add the ``feature`` and ``represent`` subcommands to the CLI's subparsers."""
    p = add_command(sub, "feature", help="response feature: truncated signature of X = int u (x) psi",
                    description="Print the response feature Phi(u) = S(X)_[0,T], the signature truncated at a level "
                                "of the path X_t = int_0^t u_s (x) psi(s) ds, for inputs given as expressions in t and "
                                "a support basis psi. It depends on the input and the basis only; a spec is needed for "
                                "the spectral basis (the eigenvalues of its drift matrix) or for parameters in the "
                                "inputs.",
                    examples=['feature --input "sin(t)" --t 2 --basis legendre --degree 3 --level 3 --json',
                              'feature derivations/ou3_cubic.toml --input "sin(t)" --input "1" --t 2 --basis spectral '
                              '--level 2'])
    _add_input_options(p, spec_required=False)
    p.add_argument("--method", choices=("spectral", "pwlinear"), default="spectral",
                   help="spectral: Chebyshev integration of the smooth input, panels doubled to ~1e-12 "
                        "(default); pwlinear: --samples uniform samples, piecewise linear (pysiglib when the [signature] "
                        "extra is installed, else NumPy)")
    p.add_argument("--samples", type=int, default=1001, help="uniform samples for --method pwlinear (default 1001)")
    p.set_defaults(run=run_feature)

    p = add_command(sub, "represent", help="mean output E y_T as <readout coefficients, response feature>",
                    description="Compute the mean output E y_T of a network with closed-form kernels (OU, or a "
                                "linearized network) as the linear functional <l, Phi(u)> of the response feature: "
                                "the readout coefficients l come from the kernels expanded in the support basis.",
                    examples=['represent derivations/ou3_cubic.toml --input "sin(t)" --input "cos(2*t)" --t 3 '
                              '--eps 0.5 --basis spectral --level 3 --json'])
    _add_input_options(p, spec_required=True)
    p.add_argument("--eps", type=float, required=True, help="input amplitude")
    p.add_argument("--projection", choices=("lsq", "taylor"), default="lsq",
                   help="expansion of e^(A(T-s)) C in the basis: L2 projection (default) or Taylor (monomials)")
    p.set_defaults(run=run_represent)


def _add_input_options(p: argparse.ArgumentParser, *, spec_required: bool) -> None:
    add_spec(p, optional=not spec_required,
             what="spec file (TOML)" + ("" if spec_required else ": its drift matrix gives the spectral basis and "
                                                                 "its parameters may appear in the inputs"))
    add_engine(p)
    p.add_argument("--input", action="append", required=True, metavar="EXPR",
                   help="input channel as an expression in t (one per channel, in order)")
    p.add_argument("--t", type=float, required=True, help="horizon T")
    p.add_argument("--basis", choices=BASES, required=True, help="support basis")
    p.add_argument("--degree", type=int, default=None,
                   help=f"highest degree of a monomial / legendre basis (default {DEFAULT_DEGREE})")
    p.add_argument("--rates", default=None, metavar="R1,R2,...",
                   help="rates of an exponential basis, psi_j(s) = exp(r_j s) (write --rates=-1,-0.5 for negative rates)")
    p.add_argument("--level", type=int, required=True, help="truncation level N")
    add_params(p)
    add_json(p)


def _check_horizon(t: float) -> float:
    import math

    if not math.isfinite(t) or t <= 0:
        raise InputError(f"must be a finite number > 0, got {t}", field="t")
    return float(t)


def _check_level(level: int) -> int:
    if level < 1:
        raise InputError(f"must be >= 1, got {level}", field="level")
    return level


def _basis(args: argparse.Namespace, horizon: float, A):
    from ..features.basis import Basis

    if args.degree is not None and args.basis not in ("monomial", "legendre"):
        raise InputError(f"applies to monomial and legendre bases, not {args.basis}", field="degree")
    if args.rates is not None and args.basis != "exponential":
        raise InputError(f"applies to the exponential basis, not {args.basis}", field="rates")
    if args.basis in ("monomial", "legendre"):
        degree = DEFAULT_DEGREE if args.degree is None else args.degree
        if degree < 0:
            raise InputError(f"must be >= 0, got {degree}", field="degree")
        return Basis.monomial(degree) if args.basis == "monomial" else Basis.legendre(degree, horizon)
    if args.basis == "exponential":
        if args.rates is None:
            raise InputError("the exponential basis needs --rates r1,r2,...", field="rates")
        try:
            rates = [float(x) for x in args.rates.split(",")]
        except ValueError as err:
            raise InputError(f"{args.rates!r} is not a comma-separated list of numbers", field="rates") from err
        return Basis.exponential(rates)
    if A is None:
        raise InputError("the spectral basis takes the eigenvalues of a drift matrix: give SPEC", field="basis")
    return Basis.from_matrix(A, shift=horizon)


def _closed_forms(args: argparse.Namespace, order: int | None = None):
    """The engine for SPEC and its closed-form kernels (OU or linearized engines), refused otherwise."""
    engine = engine_from(args, order=order)
    nk = engine.affine_kernels()
    if nk is None and engine.kind == "statistical":
        raise InputError(f"the {engine.name} engine gives Monte-Carlo estimates, not the closed-form kernels the "
                         "response feature is built from: use an exact engine or --linearize", field="engine")
    if nk is None:
        raise InputError(f"the {engine.name} engine has no drift matrix: add --linearize for the linearized "
                         "network's", field="engine")
    return engine, nk


def _basis_json(basis) -> dict:
    return {"kind": basis.kind, "size": basis.size, "degree": basis.degree, "repr": repr(basis),
            "labels": list(basis.labels)}


def run_feature(args: argparse.Namespace) -> int:
    """``volterra-sym feature``: print the response feature and its size."""
    import numpy as np

    from ..features.feature import check_horizon, check_samples, response_feature
    from ..features.represent import smooth_feature
    from ..features.signature import sig_length, signature_backend
    from ..inputs import input_signal

    horizon = _check_horizon(args.t)
    level = _check_level(args.level)
    engine = None
    if args.spec is not None:
        engine, nk = _closed_forms(args, order=0)
        basis = _basis(args, horizon, nk.A)
        u = input_from(args, engine.model.spec, engine.values)
    else:
        if args.param or args.linearize or args.engine:
            raise InputError("--param, --engine and --linearize need SPEC", field="spec")
        basis = _basis(args, horizon, None)
        u = input_signal(args.input)
    m = len(args.input)
    dim = m * basis.size
    if args.method == "spectral":
        feature, error = smooth_feature(u, horizon, basis, level)
        detail = {"method": "spectral", "error_estimate": error}
    else:
        if args.samples < 2:
            raise InputError(f"must be >= 2, got {args.samples}", field="samples")
        check_samples(args.samples, dim)
        check_horizon(horizon, basis)
        times = np.linspace(0.0, horizon, args.samples)
        feature = response_feature(u(times), horizon / (args.samples - 1), basis, level, method="pwlinear")
        detail = {"method": "pwlinear", "samples": args.samples, "signature_backend": signature_backend()}
    size = sig_length(dim, level)
    require_finite(feature, what="the response feature")
    if args.json:
        emit_json({**({"engine": engine.name} if engine is not None else {}),
                   "size": size, "dim": dim, "level": level, "n_inputs": m, "horizon": horizon,
                   "basis": _basis_json(basis), "layout": LAYOUT, **detail, "feature": feature.tolist(),
                   "shape": [size], "axes": ["word"]})
        return 0
    print(f"response feature at T = {horizon:g}: {m} input(s) x {basis.size} basis functions = {dim} channels,"
          f" level {level}, size {size}")
    print(f"basis {basis!r}: {', '.join(basis.labels)}")
    print(f"layout: {LAYOUT}")
    start = 0
    for n in range(1, level + 1):
        block = feature[start : start + dim**n]
        print(f"  level {n} ({dim**n} terms): {np.array2string(block, precision=10, threshold=60)}")
        start += dim**n
    if args.method == "spectral":
        print(f"(spectral integration, estimated error {detail['error_estimate']:.1e})")
    return 0


def run_represent(args: argparse.Namespace) -> int:
    """``volterra-sym represent``: E y_T from readout coefficients and the response feature."""
    import math

    from ..features.represent import represent
    from ..spec import check_order

    horizon = _check_horizon(args.t)
    level = _check_level(args.level)
    if not math.isfinite(args.eps):
        raise InputError(f"must be finite, got {args.eps}", field="eps")
    model = load_model(args)
    if len(args.input) != model.n_inputs:
        raise InputError(f"{len(args.input)} input expression(s) for a model with {model.n_inputs} input channel(s)",
                         field="inputs")
    degree = _readout_degree(model)
    order = level if degree is None else min(level, degree)
    check_order(order, n_hidden=model.n_hidden, key="level")
    engine, nk = _closed_forms(args, order=order)
    basis = _basis(args, horizon, nk.A)
    u = input_from(args, model.spec, engine.values)
    rep = represent(nk, u, horizon, args.eps, basis, level, projection=args.projection)
    require_finite(rep.value, rep.terms, what="the mean output")
    if args.json:
        emit_json({"engine": engine.name, "value": rep.value.tolist(), "feature_size": rep.feature_size,
                   "terms": rep.terms.tolist(), "shape": list(rep.terms.shape), "axes": ["order", "output"],
                   "truncation": dict(rep.truncation)})
        return 0
    tr = rep.truncation
    print(f"E y_T at T = {horizon:g}, eps = {args.eps:g} from the response feature (level {level},"
          f" {basis.kind} basis of {basis.size}, {rep.feature_size} terms):")
    for q, v in enumerate(rep.value):
        print(f"  f{q + 1}: {v:.12g}")
    print(f"projection residual {tr['projection_residual']:.2e}, feature error estimate"
          f" {tr['feature_error_estimate']:.1e}")
    print("neglected: " + ("; ".join(tr["neglected"]) or "nothing (exact up to rounding)"))
    return 0


def _readout_degree(model) -> int | None:
    import sympy

    degrees = [sympy.Poly(f, *model.hidden).total_degree() if f.is_polynomial(*model.hidden) else None
               for f in model.readout]
    return None if None in degrees else max(d for d in degrees if d is not None)
