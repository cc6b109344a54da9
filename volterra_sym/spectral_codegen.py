"""Code generation for gradient-class networks: a numpy module that embeds the spectral representation.

    load_spec -> build_model -> gradient_law -> spectral_kernels -> reduce_representation
              -> print_spectral_module -> render_spectral_module (templates/spectral_module.py.j2)

The generated module has the public contract of the OU modules (``stationary_mean``, ``kernel``,
``series``; constants ORDER, N_HIDDEN, N_INPUTS, N_OUTPUTS, PARAMETERS) and carries the
eigen-representation of the generator (lam, B, fhat; :mod:`volterra_sym.spectral`) as numeric
literals, so it evaluates kernels as products of small matrices and the series by forward filters
in O(T). The representation is numeric: it holds at the spec's default parameter values only, and
the module raises ValueError for any other value (a symbolic closed form, as for the OU class, does
not exist here).

Modes. The engine keeps every mode needed for 1e-9 at zero lag; the module keeps the fewest lowest
modes whose kernels stay within :data:`TOLERANCE` (relative to each order's largest value on the
probe lags) of the full representation, which keeps the file small (the number of modes needed
grows like the eigenvalue cutoff to the power n_hidden). Eigenvector signs are normalised (each
mode's first significant coefficient positive), so the printed numbers do not depend on LAPACK's
sign choices. Numbers are printed with ``repr(float)``: two generations on one machine are
byte-identical; another BLAS may change the last bits, which :func:`volterra_sym.testing` tolerates.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import numpy
import sympy

from . import __version__
from .gradient import GradientLaw, gradient_law
from .model import SymbolicModel
from .printing import API_VERSION, _docstring_text, _float_literal, check_identifier
from .render import TemplateError, environment
from .spec import DerivationSpec
from .spectral import SpectralKernels, _contract, spectral_kernels
from .stamp import MARKER_FORMAT, Stamp, output_sha256

__all__ = ["SPECTRAL_TEMPLATE", "TOLERANCE", "PROBE_LAGS", "ReducedRepresentation", "PrintedSpectralModule",
           "reduce_representation", "print_spectral_module", "render_spectral_module", "generate_spectral_source"]

SPECTRAL_TEMPLATE = "spectral_module.py.j2"
#: largest kernel change allowed by dropping modes, relative to each order's largest probe value
TOLERANCE = 1e-8
#: lags of the probe (every tuple of them, up to order 3)
PROBE_LAGS = (0.0, 0.05, 0.3, 1.0)
_LINE = 100


@dataclass(frozen=True, slots=True)
class ReducedRepresentation:
    """The modes kept for a generated module: ``lam`` (K,), ``B`` (m, K, K), ``fhat`` (K, p)."""

    lam: numpy.ndarray
    B: numpy.ndarray
    fhat: numpy.ndarray
    error: float  # the probe's largest relative change against the full representation
    full_modes: int

    @property
    def modes(self) -> int:
        return len(self.lam)


def _normalise_signs(lam, B, fhat):
    """g_j -> s_j g_j with s_j = sign of the mode's first significant coefficient (fhat, then B[:, 0, j])."""
    K = len(lam)
    signs = numpy.ones(K)
    coefficients = numpy.concatenate([fhat, B[:, 0, :].T], axis=1)  # (K, p + m)
    floor = 1e-9 * float(numpy.abs(coefficients).max(initial=0.0))
    for j in range(1, K):
        row = coefficients[j]
        big = numpy.nonzero(numpy.abs(row) > floor)[0]
        if big.size:
            signs[j] = numpy.sign(row[big[0]])
    return lam, B * signs[None, :, None] * signs[None, None, :], fhat * signs[:, None]


def _probe(lam, B, fhat, order: int) -> list[numpy.ndarray]:
    """Kernels on every tuple of PROBE_LAGS, one array per order."""
    out = []
    for n in range(1, min(order, 3) + 1):
        tuples = numpy.array(list(itertools.product(PROBE_LAGS, repeat=n)))  # (L, n)
        out.append(_contract(lam, B, fhat, [tuples[:, j] for j in range(n)]))
    return out


def reduce_representation(sk: SpectralKernels, tolerance: float = TOLERANCE) -> ReducedRepresentation:
    """Keep few lowest modes (a multiple of 8, or all) within ``tolerance`` of the full representation."""
    lam, B, fhat = _normalise_signs(sk.lam, sk.B, sk.fhat)
    order = sk.order
    K = len(lam)
    if order == 0:
        return ReducedRepresentation(lam[:1].copy(), B[:, :1, :1].copy(), fhat[:1].copy(), 0.0, K)
    full = _probe(lam, B, fhat, order)
    scales = [max(float(numpy.abs(f).max()), 1e-300) for f in full]

    def change(size: int) -> float:
        probe = _probe(lam[:size], B[:, :size, :size], fhat[:size], order)
        return max(float(numpy.abs(a - b).max()) / s for a, b, s in zip(probe, full, scales))

    # doubling, then bisection over multiples of 8 (the change falls with the size, not strictly:
    # the result is a size that passes, found deterministically, not necessarily the least one)
    low, high = 0, 8
    while high < K and change(high) > tolerance:
        low, high = high, 2 * high
    high = min(high, K)
    while high - low > 8:
        mid = (low + high) // 16 * 8
        if mid <= low:
            break
        if change(mid) <= tolerance:
            high = mid
        else:
            low = mid
    keep = high
    return ReducedRepresentation(lam[:keep].copy(), B[:, :keep, :keep].copy(), fhat[:keep].copy(), change(keep), K)


@dataclass(frozen=True, slots=True)
class PrintedSpectralModule:
    """Strings and numbers for ``templates/spectral_module.py.j2``; nothing here is SymPy or numpy."""

    api_version: int
    name: str
    name_literal: str
    order: int
    n_hidden: int
    n_inputs: int
    n_outputs: int
    modes: int
    parameters_literal: str
    names_literal: str
    defaults_literal: str
    parameters_doc: str
    tolerance_literal: str
    docstring: str
    lam_lines: str
    fhat_lines: str
    b_lines: str


def _number_lines(values: numpy.ndarray) -> str:
    """``repr`` of every float, packed into indented lines of at most _LINE characters, each ending in a comma."""
    lines, current = [], "   "
    for x in numpy.asarray(values, dtype=numpy.float64).ravel():
        if not numpy.isfinite(x):
            raise TemplateError(f"the spectral representation holds a non-finite number ({x!r})")
        item = " " + _float_literal(float(x)) + ","
        if len(current) + len(item) > _LINE and current.strip():
            lines.append(current)
            current = "   "
        current += item
    if current.strip():
        lines.append(current)
    return "\n".join(lines)


def _docstring(spec: DerivationSpec, law: GradientLaw, sk: SpectralKernels, reduced: ReducedRepresentation,
               names: tuple[str, ...]) -> str:
    params = ", ".join(f"{k} = {_float_literal(v)}" for k, v in zip(names, spec.defaults.values()))
    readout = "\n".join(f"        f{q + 1} = {_docstring_text(sympy.sstr(f))}" for q, f in enumerate(law.model.readout))
    box = " x ".join(f"[{lo:.4g}, {hi:.4g}]" for lo, hi in sk.box)
    lines = [
        f'"""{spec.name}: Volterra response kernels of a gradient-class (reversible) nonlinear stochastic RNN,',
        "generated by volterra_sym.",
        "",
    ]
    if spec.description.strip():
        lines += [_docstring_text(spec.description.strip()), ""]
    lines += [
        "The network (theory.md, sections 1 and 5)::",
        "",
        "    dh = (-Gamma h + a(W h + b) + eps C u_t) dt + s dB_t = (-grad U(h) + eps C u_t) dt + s dB_t",
        f"    activation {_docstring_text(spec.activation)}; n_hidden = {spec.n_hidden}, n_inputs = {spec.n_inputs}, "
        f"n_outputs = {spec.n_outputs}, order = {spec.order}",
        f"    U(h) = {_docstring_text(sympy.sstr(law.potential))}",
        f"    rho_inf ~ exp(-2 U / s^2), s^2 = {_docstring_text(sympy.sstr(law.noise_variance))}",
        "    readout:",
        readout,
        f"    parameters (fixed at): {params or 'none'}",
        "",
        "Representation",
        "--------------",
        "The generator L0 in its eigenbasis (L0 g_j = -lam_j g_j, g_0 = 1, orthonormal in L^2(rho_inf)):",
        "",
        "    R^(n)_{q; k_1..k_n}(tau) = e_0^T B_kn e^(-lam tau_n) ... B_k1 e^(-lam tau_1) fhat[:, q]",
        "",
        f"from a Fourier collocation of the Schroedinger form on {sk.nodes} nodes per axis over {box}",
        f"(converged to {sk.error_estimate:.1e}). Of its {reduced.full_modes} modes the {reduced.modes} lowest are kept:",
        f"kernels differ from the full representation by at most {reduced.error:.1e} of each order's largest",
        f"value on the lags {', '.join(f'{t:g}' for t in PROBE_LAGS)} (TOLERANCE). The numbers are those of the",
        "default parameter values; any other value raises ValueError (regenerate instead).",
        "",
        "Public API",
        "----------",
        "stationary_mean(**params) -> (p,)",
        "kernel(n, *lags, **params) -> broadcast(lags) + (p,) + (m,) * n",
        "    tau_1 = t - s_1 is the lag from the latest perturbation; axis j of the result is k_j.",
        "series(u, dt, *, eps=1.0, order=ORDER, **params) -> (order + 1, T, p)",
        "    term n of E f(h_t) = sum_n eps^n int_simplex R^(n) u ... u at t_i = i dt, by forward filters in",
        "    the eigenbasis: O(T) work, O(dt^2) error for smooth inputs (piecewise-linear reading of the samples).",
        "",
        "This file is generated and stamped (lines 1-2): do not edit it. Regenerate it from its spec with",
        "``volterra-sym generate SPEC`` and verify it with ``volterra-sym check SPEC``. It imports numpy only.",
        '"""',
    ]
    return "\n".join(lines)


def print_spectral_module(spec: DerivationSpec, law: GradientLaw, sk: SpectralKernels,
                          reduced: ReducedRepresentation) -> PrintedSpectralModule:
    """Print the representation and the module's strings (no template logic needed)."""
    name = check_identifier(spec.name, what="module")
    names = tuple(check_identifier(k, what="parameter") for k in spec.defaults)
    defaults = tuple(_float_literal(v) for v in spec.defaults.values())
    return PrintedSpectralModule(
        api_version=API_VERSION,
        name=name,
        name_literal=json.dumps(name),
        order=spec.order,
        n_hidden=spec.n_hidden,
        n_inputs=spec.n_inputs,
        n_outputs=spec.n_outputs,
        modes=reduced.modes,
        parameters_literal="{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in zip(names, defaults)) + "}",
        names_literal="(" + "".join(f"{json.dumps(k)}, " for k in names).rstrip(" ") + ")",
        defaults_literal="(" + "".join(f"{v}, " for v in defaults).rstrip(" ") + ")",
        parameters_doc=(
            "Only the values in PARAMETERS (" + ", ".join(names) + ") are accepted: the spectral representation is "
            "numeric, so any other value is a ValueError." if names
            else "This model has no parameters; any keyword argument is a TypeError."
        ),
        tolerance_literal=_float_literal(TOLERANCE),
        docstring=_docstring(spec, law, sk, reduced, names),
        lam_lines=_number_lines(reduced.lam),
        fhat_lines=_number_lines(reduced.fhat),
        b_lines=_number_lines(reduced.B),
    )


def render_spectral_module(printed: PrintedSpectralModule, *, inputs_sha256: str, generator: str,
                           sympy_version: str, source_label: str) -> str:
    """Marker line, stamp line, then the rendered body (compiled before it is returned)."""
    env = environment()
    try:
        body = env.get_template(SPECTRAL_TEMPLATE).render(module=printed)
    except Exception as err:  # jinja2.TemplateError and StrictUndefined
        raise TemplateError(f"rendering {SPECTRAL_TEMPLATE} failed: {err}") from err
    stamp = Stamp(api=printed.api_version, generator=generator, sympy=sympy_version, template=SPECTRAL_TEMPLATE,
                  inputs_sha256=inputs_sha256, output_sha256=output_sha256(body))
    header = env.get_template("_stamp.py.j2").render(
        marker=MARKER_FORMAT.format(version=generator, source=source_label), stamp=stamp.line())
    source = header + body
    try:
        compile(source, f"{printed.name}.py", "exec", dont_inherit=True)
    except SyntaxError as err:
        raise TemplateError(f"the rendered module {printed.name}.py is not valid Python: {err}") from err
    return source


def generate_spectral_source(spec: DerivationSpec, model: SymbolicModel, *, inputs_sha256: str,
                             source_label: str, spectral: SpectralKernels | None = None) -> str:
    """Module text for a gradient-class spec (raises DerivationError outside the class)."""
    law = gradient_law(model)
    sk = spectral if spectral is not None else spectral_kernels(law, {}, order=spec.order)
    printed = print_spectral_module(spec, law, sk, reduce_representation(sk))
    return render_spectral_module(printed, inputs_sha256=inputs_sha256, generator=__version__,
                                  sympy_version=sympy.__version__, source_label=source_label)
