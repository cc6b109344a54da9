"""Human and machine readable views of a derivation (``volterra-sym derive``).

Indices shown to people are 1-based (f1, u1, h1) like the spec's names; JSON arrays are 0-based
lists in the same order.
"""

from __future__ import annotations

import json
from typing import Any

import sympy

from ..classes.ou.derive import KernelSet, kernel_expressions
from ..display import SINC_NOTE, display_latex, display_str, has_sinc

__all__ = ["describe", "derivation_dict", "format_text", "format_latex", "format_json", "gradient_dict",
           "format_gradient", "monte_carlo_dict", "format_monte_carlo", "grid_dict", "format_grid"]


def _matrix(m: sympy.MatrixBase, to_str) -> list[list[str]]:
    return [[to_str(m[i, j]) for j in range(m.shape[1])] for i in range(m.shape[0])]


def derivation_dict(kset: KernelSet, to_str=sympy.sstr) -> dict[str, Any]:
    """Plain data of a derivation; expressions rendered with ``to_str``."""
    model = kset.model
    spec = model.spec
    kernels = []
    for n in range(1, kset.order + 1):
        if kset.vanishes(n):
            continue
        for k in kernel_expressions(kset, n):
            kernels.append({"order": n, "output": k.output, "indices": list(k.indices),
                            "lags": [str(t) for t in kset.lags[:n]], "expr": to_str(k.expr)})
    return {
        "name": spec.name,
        "description": spec.description,
        "n_hidden": model.n_hidden,
        "n_inputs": model.n_inputs,
        "n_outputs": model.n_outputs,
        "n_noise": spec.sigma.shape[1],
        "activation": spec.activation,
        "input_placement": spec.input_placement,
        "parameters": dict(spec.defaults),
        "order": kset.order,
        "readout": [to_str(f) for f in model.readout],
        "A": _matrix(model.A, to_str),
        "Sigma": _matrix(model.Sigma, to_str),
        "mu": [to_str(x) for x in kset.law.mean],
        "S": _matrix(kset.law.covariance, to_str),
        "conjugates": [to_str(a) for a in kset.law.conjugates],
        "propagator": {"method": kset.propagator.method, "tau": str(kset.propagator.tau),
                       "matrix": _matrix(kset.propagator.matrix, to_str)},
        "stationary_mean": [to_str(m) for m in kset.stationary_mean],
        "degree": kset.degree,
        "finite_series": kset.degree is not None,
        "kernels": kernels,
    }


def format_json(kset: KernelSet) -> str:
    return json.dumps(derivation_dict(kset), indent=2)


def format_text(kset: KernelSet) -> str:
    """The derivation for people; ``sinc(x)`` shown as sin(x)/x (JSON keeps ``sinc``)."""
    d = derivation_dict(kset, to_str=display_str)
    out = [(f"{d['name']}: {d['description']}" if d["description"] else d["name"]),
           f"  n = {d['n_hidden']} hidden units, m = {d['n_inputs']} inputs, p = {d['n_outputs']} outputs, "
           f"r = {d['n_noise']} noise channels, activation {d['activation']}, order {d['order']}"
           + (", input inside the activation (identical to additive for a linear activation)"
              if d["input_placement"] == "activation" else "")]
    if d["parameters"]:
        out.append("  parameters (defaults): " + ", ".join(f"{k} = {v:g}" for k, v in d["parameters"].items()))
    out.append("")
    out.append(f"A = W - Gamma = {_rows(d['A'])}")
    out.append(f"Sigma = sigma sigma^T = {_rows(d['Sigma'])}")
    out.append("Stationary law N(mu, S):")
    out.append(f"  mu = {_rows([[x] for x in d['mu']])}")
    out.append(f"  S  = {_rows(d['S'])}")
    out.append("Conjugate variables A_k(h) = C_k^T S^-1 (h - mu):")
    out.extend(f"  A_{k + 1}(h) = {a}" for k, a in enumerate(d["conjugates"]))
    prop = d["propagator"]
    out.append(f"Propagator e^(A tau) [{prop['method']}]:")
    for i, row in enumerate(prop["matrix"]):
        for j, entry in enumerate(row):
            out.append(f"  [{i + 1},{j + 1}] = {entry}")
    out.append("Stationary mean <f>_inf:")
    out.extend(f"  f{q + 1} = {f}  ->  {m}" for q, (f, m) in enumerate(zip(d["readout"], d["stationary_mean"])))
    out.append("Kernels R^(n)_{f;k1..kn}(tau1..taun), lags tau1 = t - s1, tauj = s(j-1) - sj:")
    for k in d["kernels"]:
        idx = ",".join(str(i + 1) for i in k["indices"])
        out.append(f"  R^({k['order']})_{{f{k['output'] + 1};{idx}}}({', '.join(k['lags'])}) = {k['expr']}")
    if d["degree"] is not None:
        out.append(f"Finite series: polynomial readout of degree {d['degree']}, so R^(n) = 0 for n > {d['degree']}.")
    else:
        out.append("Infinite series: the readout is not polynomial; every order contributes "
                   "(E[...] are Gaussian expectations under N(mu, S), evaluated numerically).")
    if has_sinc(*kset.propagator.matrix):
        out.append(f"Note: {SINC_NOTE}.")
    return "\n".join(out)


def format_latex(kset: KernelSet) -> str:
    """One LaTeX line per object; ``sinc(x)`` shown as sin(x)/x (JSON keeps ``sinc``)."""
    d = derivation_dict(kset, to_str=display_latex)
    lines = [f"% {d['name']}: {d['description']}",
             r"A = " + display_latex(kset.model.A),
             r"\mu = " + display_latex(kset.law.mean),
             r"S = " + display_latex(kset.law.covariance),
             r"e^{A\tau} = " + display_latex(kset.propagator.matrix)]
    if has_sinc(*kset.propagator.matrix):
        lines.insert(1, f"% {SINC_NOTE}")
    for q, m in enumerate(d["stationary_mean"]):
        lines.append(rf"\langle f_{{{q + 1}}} \rangle_\infty = {m}")
    for k in d["kernels"]:
        idx = "".join(str(i + 1) for i in k["indices"])
        lags = ", ".join(rf"\tau_{{{j + 1}}}" for j in range(k["order"]))
        lines.append(rf"R^{{({k['order']})}}_{{f_{{{k['output'] + 1}}};{idx}}}({lags}) = {k['expr']}")
    return "\n".join(lines)


def _rows(rows: list[list[str]]) -> str:
    return "[" + "; ".join(", ".join(r) for r in rows) + "]"


def gradient_dict(law, sk, to_str=sympy.sstr, taylor_order: int = 3) -> dict[str, Any]:
    """Plain data of a gradient-class derivation: the symbolic law, Taylor words and spectral summary."""
    from ..classes.gradient.law import taylor_words
    from ..classes.gradient.spectral import density_means

    model = law.model
    spec = model.spec
    words = []
    for q in range(model.n_outputs):
        for k in range(model.n_inputs):
            exprs = taylor_words(law, q, k, taylor_order)
            means = density_means(sk, exprs)
            words.append({"output": q, "input": k,
                          "words": [{"p": p, "integrand": to_str(e), "mean": float(v)}
                                    for p, (e, v) in enumerate(zip(exprs, means))]})
    return {
        "name": spec.name,
        "description": spec.description,
        "class": "gradient (reversible)",
        "n_hidden": model.n_hidden,
        "n_inputs": model.n_inputs,
        "n_outputs": model.n_outputs,
        "activation": spec.activation,
        "input_placement": spec.input_placement,
        "parameters": dict(sk.values),
        "order": sk.order,
        "readout": [to_str(f) for f in model.readout],
        "drift": [to_str(F) for F in model.drift],
        "noise_variance": to_str(law.noise_variance),
        "potential": to_str(law.potential),
        "log_density": to_str(law.log_density),
        "score": [to_str(x) for x in law.score],
        "conjugates": [to_str(a) for a in law.conjugates],
        "stationary_mean": [float(x) for x in sk.stationary_mean],
        "taylor": words,
        "spectral": {"nodes_per_axis": sk.nodes, "modes": int(len(sk.lam)), "box": [list(b) for b in sk.box],
                     "relaxation_rates": [float(x) for x in sk.lam[1:4]], "error_estimate": sk.error_estimate},
    }


def format_gradient(law, sk, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(gradient_dict(law, sk), indent=2)
    if fmt == "latex":
        d = gradient_dict(law, sk, to_str=sympy.latex)
        lines = [f"% {d['name']}: {d['description']}", rf"U(h) = {d['potential']}",
                 rf"\rho_\infty(h) \propto \exp\left({d['log_density']}\right)"]
        lines += [rf"A_{{{k + 1}}}(h) = {a}" for k, a in enumerate(d["conjugates"])]
        return "\n".join(lines)
    d = gradient_dict(law, sk)
    out = [(f"{d['name']}: {d['description']}" if d["description"] else d["name"]),
           f"  n = {d['n_hidden']} hidden units, m = {d['n_inputs']} inputs, p = {d['n_outputs']} outputs, "
           f"activation {d['activation']}, gradient class (F = -grad U, Sigma = s^2 I)"
           + (", input inside the activation: L_j(u) = sum_i a^(j)((W h + b)_i)/j! (C u)_i^j d_i "
              "(theory.md 7)" if d["input_placement"] == "activation" else ""), ""]
    out.append("Drift F(h) = " + _rows([[x] for x in d["drift"]]))
    out.append(f"Noise variance s^2 = {d['noise_variance']}")
    out.append(f"Potential U(h) = {d['potential']}")
    out.append(f"Invariant density rho_inf(h) ~ exp({d['log_density']})")
    out.append("Score grad log rho_inf = 2F/s^2 = " + _rows([[x] for x in d["score"]]))
    out.append("Conjugate variables A_k(h) = -C_k . grad log rho_inf:")
    out.extend(f"  A_{k + 1}(h) = {a}" for k, a in enumerate(d["conjugates"]))
    out.append("Stationary mean <f>_inf (spectral): " + ", ".join(f"{v:.12g}" for v in d["stationary_mean"]))
    out.append("Small-lag expansion R^(1)_{f;k}(tau) = sum_p tau^p/p! <C_k . grad L0^p f>_inf:")
    for w in d["taylor"]:
        for item in w["words"]:
            out.append(f"  f{w['output'] + 1}, k={w['input'] + 1}, p={item['p']}: <{item['integrand']}> = "
                       f"{item['mean']:.12g}")
    sp = d["spectral"]
    out.append(f"Kernels: Fourier spectral method, {sp['nodes_per_axis']} nodes per axis, {sp['modes']} modes, "
               f"relaxation rates {', '.join(f'{x:.6g}' for x in sp['relaxation_rates'])}, "
               f"resolution change {sp['error_estimate']:.1e}; evaluate with `volterra-sym kernel`.")
    return "\n".join(out)


#: degree of the generator words shown per number of hidden units (the words grow fast with the degree)
GRID_TAYLOR_DEGREE = {1: 3, 2: 2, 3: 1}
#: longest generator word printed in the text view
WORD_CHARS = 240


def grid_dict(engine, to_str=sympy.sstr) -> dict[str, Any]:
    """Plain data of a grid-engine derivation: the symbolic generator and words, the box, the grid, the
    leading modes of the discretised generator, the stationary mean and the accuracy reached."""
    from ..classes.grid.operator import density_moments, leading_modes
    from ..classes.grid.symbolic import GENERATOR, generator_words, node_means

    model, rep = engine.model, engine.representation
    op, spec = rep.op, model.spec
    coords = op.coords
    mass = rep.pi * op.weight
    mean_h, cov_h = density_moments(op, rep.pi)
    words = []
    degree = GRID_TAYLOR_DEGREE[model.n_hidden]
    for q in range(model.n_outputs):
        for k in range(model.n_inputs):
            exprs = generator_words(model, q, k, degree)
            means = node_means(model, engine.values, op.nodes, mass, exprs)
            words.append({"output": q, "input": k, "words": [{"p": p, "integrand": to_str(e), "mean": float(v)}
                                                             for p, (e, v) in enumerate(zip(exprs, means))]})
    modes = leading_modes(op)
    d = rep.diagnostics
    return {
        "name": spec.name,
        "description": spec.description,
        "class": "grid (Fokker-Planck operator on a box; no closed-form density)",
        "n_hidden": model.n_hidden,
        "n_inputs": model.n_inputs,
        "n_outputs": model.n_outputs,
        "activation": spec.activation,
        "parameters": dict(engine.values),
        "order": engine.order,
        "readout": [to_str(f) for f in model.readout],
        "drift": [to_str(F) for F in model.drift],
        "Sigma": _matrix(model.Sigma, to_str),
        "generator": GENERATOR,
        "conjugates": "A_k = -C_k . grad log rho_inf has no closed form here; the kernels use the backward "
                      "recursion (theory.md 3b) on the grid",
        "stationary_mean": [float(x) for x in rep.stationary_mean],
        "stationary_mean_error": rep.error(0),
        "density": {"mean": [float(x) for x in mean_h], "covariance": cov_h.tolist()},
        "taylor": words,
        "grid": {"method": engine.method, "reference": coords.reference.source,
                 "centre": [float(x) for x in coords.centre], "to_h": coords.to_h.tolist(),
                 "half_widths_z": [float(x) for x in coords.half], "box_h": [list(b) for b in coords.box_h()],
                 "kappa": coords.kappa, "nodes_per_axis": op.N, "unknowns": op.size,
                 "ladder": [{"nodes_per_axis": N, "relative_change": None if c != c else c} for N, c in rep.ladder],
                 "converged": rep.converged, "relative_error": rep.relative_error,
                 "errors": list(rep.errors), "leading_eigenvalue": rep.lam0,
                 "modes": [{"re": float(x.real), "im": float(x.imag)} for x in modes],
                 "wall_mass": d.wall_mass, "readout_wall_mass": d.readout_wall, "negative_mass": d.negative_mass,
                 "weight_at_walls": d.weight_wall, "seconds": rep.seconds},
    }


def format_grid(engine, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(grid_dict(engine), indent=2)
    if fmt == "latex":
        model = engine.model
        lines = [f"% {model.spec.name}: {model.spec.description}",
                 r"F(h) = " + sympy.latex(model.drift), r"\Sigma = " + sympy.latex(model.Sigma),
                 r"L_0 g = F \cdot \nabla g + \tfrac12 \Sigma : \nabla^2 g"]
        lines += [rf"\langle f_{{{q + 1}}} \rangle_\infty = {v:.12g}"
                  for q, v in enumerate(engine.representation.stationary_mean)]
        return "\n".join(lines)
    d = grid_dict(engine)
    g = d["grid"]
    out = [(f"{d['name']}: {d['description']}" if d["description"] else d["name"]),
           f"  n = {d['n_hidden']} hidden units, m = {d['n_inputs']} inputs, p = {d['n_outputs']} outputs, "
           f"activation {d['activation']}, grid engine (no closed-form invariant density)", ""]
    out.append("Drift F(h) = " + _rows([[x] for x in d["drift"]]))
    out.append(f"Sigma = sigma sigma^T = {_rows(d['Sigma'])}")
    out.append(f"Generator: {d['generator']}; conjugate variables: {d['conjugates']}")
    out.append(f"Coordinates h = c + M z with c = {_floats(g['centre'])}, M = {_float_rows(g['to_h'])} (noise = "
               f"identity in z); reference: {g['reference']}")
    out.append(f"Box |z_i| <= {_floats(g['half_widths_z'])} (weight e^-{g['kappa']:g} at the walls), covering h in "
               + " x ".join(f"[{lo:.3g}, {hi:.3g}]" for lo, hi in g["box_h"]))
    ladder = ", ".join(f"{s['nodes_per_axis']}" + ("" if s["relative_change"] is None else
                                                    f" ({s['relative_change']:.1e})") for s in g["ladder"])
    out.append(f"Grid: Fourier collocation, {g['nodes_per_axis']} nodes per axis ({g['unknowns']} unknowns); "
               f"ladder (relative change of the probes): {ladder}; "
               f"{'converged' if g['converged'] else 'NOT converged'}")
    out.append(f"Walls: probability {g['wall_mass']:.1e}, readout-weighted {g['readout_wall_mass']:.1e}; negative "
               f"probability (discretisation) {g['negative_mass']:.1e}")
    out.append("Leading eigenvalues of the discretised generator: " +
               ", ".join(_complex(m["re"], m["im"]) for m in g["modes"]))
    out.append("Stationary mean <f>_inf: " + ", ".join(f"{v:.12g}" for v in d["stationary_mean"]) +
               f" (+- {d['stationary_mean_error']:.1e}); density mean of h {_floats(d['density']['mean'])}")
    out.append("Small-lag expansion R^(1)_{f;k}(tau) = sum_p tau^p/p! <C_k . grad L0^p f>_inf (means on the grid):")
    for w in d["taylor"]:
        for item in w["words"]:
            word = item["integrand"]
            shown = word if len(word) <= WORD_CHARS else f"(a word of {len(word)} characters; in the JSON view)"
            out.append(f"  f{w['output'] + 1}, k={w['input'] + 1}, p={item['p']}: <{shown}> = {item['mean']:.12g}")
    out.append("Kernel error estimates per order (absolute, last refinement): " +
               ", ".join(f"{e:.1e}" for e in g["errors"]) + "; evaluate with `volterra-sym kernel`.")
    return "\n".join(out)


def _floats(values) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in values) + "]"


def _float_rows(rows) -> str:
    return "[" + "; ".join(", ".join(f"{v:.6g}" for v in r) for r in rows) + "]"


def _complex(re: float, im: float) -> str:
    return f"{re:.6g}" if im == 0 else f"{re:.6g}{im:+.6g}i"


def _ou(engine, fmt: str):
    kset = engine.derivation
    if fmt == "data":
        return {"engine": engine.name, **derivation_dict(kset)}
    return {"text": format_text, "latex": format_latex}[fmt](kset)


def _gradient(engine, fmt: str):
    if fmt == "data":
        return {"engine": engine.name, **gradient_dict(engine.law, engine.representation)}
    return format_gradient(engine.law, engine.representation, fmt)


def monte_carlo_dict(engine) -> dict[str, Any]:
    """What the Monte-Carlo engine computes (no closed forms), its stationary-mean estimate and the
    linearization beside it."""
    import numpy

    model = engine.model
    spec = model.spec
    mean = engine.stationary_mean()
    info = mean.info
    linear = None
    if engine.net.A is not None:
        lin = engine.linearization
        linear = {"fixed_point": [float(x) for x in lin.linear_model.fixed_point],
                  "A": engine.net.A.tolist(),
                  "eigenvalues": [[float(z.real), float(z.imag)] for z in numpy.linalg.eigvals(engine.net.A)],
                  "stationary_mean": lin.stationary_mean().value.tolist()}
    return {
        "engine": engine.name, "name": spec.name, "description": spec.description, "n_hidden": model.n_hidden,
        "n_inputs": model.n_inputs, "n_outputs": model.n_outputs, "activation": spec.activation,
        "parameters": dict(engine.values), "order": engine.order, "readout": [sympy.sstr(f) for f in model.readout],
        "method": engine.method, "closed_forms": False,
        "computes": ["kernels R^(1), R^(2) at given lags: averages of f(h) times likelihood-ratio weights of discretised "
                     "impulses over simulated stationary paths (volterra-sym kernel)",
                     "series terms of any order for an input: f(h_t) times Hermite polynomials of the Girsanov "
                     "martingale (volterra-sym series)",
                     "the driven mean E f(h_t): the forced network simulated from its stationary start"],
        "options": {k: info[k] for k in ("paths", "seed", "dt", "scheme", "burn_in", "window", "control_variate")},
        "stationary_mean": mean.value.tolist(), "stationary_mean_stderr": mean.stderr.tolist(),
        "stationary_mean_plain": info["plain"].tolist(), "stationary_mean_plain_stderr": info["plain_stderr"].tolist(),
        "variance_reduction": [None if not numpy.isfinite(v) else float(v) for v in info["variance_reduction"]],
        "linearization": linear,
    }


def format_monte_carlo(engine, fmt: str) -> str:
    d = monte_carlo_dict(engine)
    if fmt == "latex":
        lines = [f"% {d['name']}: Monte-Carlo estimates (no closed forms), {d['options']['paths']} paths, "
                 f"seed {d['options']['seed']}"]
        lines += [rf"\langle f_{{{q + 1}}} \rangle_\infty \approx {v:.8g} \pm {e:.2g}"
                  for q, (v, e) in enumerate(zip(d["stationary_mean"], d["stationary_mean_stderr"]))]
        return "\n".join(lines)
    o = d["options"]
    out = [(f"{d['name']}: {d['description']}" if d["description"] else d["name"]),
           f"  n = {d['n_hidden']} hidden units, m = {d['n_inputs']} inputs, p = {d['n_outputs']} outputs, "
           f"activation {d['activation']}, order {d['order']}", "",
           "mc engine: no closed forms. " + d["method"] + ":"]
    out += [f"  - {line}" for line in d["computes"]]
    out.append(f"Simulation: {o['paths']} paths, seed {o['seed']}, scheme {o['scheme']}, dt {o['dt']:.4g}, burn-in "
               f"{o['burn_in']:.4g}, window {o['window']:.4g} per path; control variate: "
               + ("the linearized network on the same noise" if o["control_variate"] else "none"))
    out.append("Stationary mean <f>_inf (estimate +- standard error; without control variate; variance reduction):")
    for q, f in enumerate(d["readout"]):
        vr = d["variance_reduction"][q]
        out.append(f"  f{q + 1} = {f}:  {d['stationary_mean'][q]:.8g} +- {d['stationary_mean_stderr'][q]:.2g}  "
                   f"({d['stationary_mean_plain'][q]:.8g} +- {d['stationary_mean_plain_stderr'][q]:.2g}; "
                   + ("exact" if vr is None else f"x{vr:.3g}") + ")")
    lin = d["linearization"]
    if lin is None:
        out.append("Linearization: no stable fixed point (no control variate).")
    else:
        eig = ", ".join(f"{re:.6g}{im:+.6g}i" if im else f"{re:.6g}" for re, im in lin["eigenvalues"])
        out.append(f"Linearization about h* = [{', '.join(f'{x:.8g}' for x in lin['fixed_point'])}]: "
                   f"eigenvalues of A {eig}; <f>_inf of the linearized network "
                   f"[{', '.join(f'{x:.8g}' for x in lin['stationary_mean'])}]")
    return "\n".join(out)


def _monte_carlo(engine, fmt: str):
    return monte_carlo_dict(engine) if fmt == "data" else format_monte_carlo(engine, fmt)



def _grid(engine, fmt: str):
    if fmt == "data":
        return {"engine": engine.name, **grid_dict(engine)}
    return format_grid(engine, fmt)


#: how each engine's derivation is shown (a new engine adds its presenter here)
PRESENTERS = {"ou": _ou, "linearized": _ou, "gradient": _gradient, "grid": _grid, "mc": _monte_carlo}


def describe(engine, fmt: str = "text"):
    """The derivation behind ``engine``: ``fmt`` ``"text"`` or ``"latex"`` (a string) or ``"data"``
    (a JSON-ready dict carrying ``"engine"``)."""
    return PRESENTERS[engine.name](engine, fmt)
