"""The report's tables: CSV files with the numbers behind every figure, and ``report.md``."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy

from .build import ERROR_FLOOR, ResponseReport

__all__ = ["render_tables", "PLOT_HINT", "fmt", "index_names"]

PLOT_HINT = "pip install 'volterra-sym[plot]'"


def _g(x: float) -> str:
    return "nan" if not numpy.isfinite(x) else f"{x:.10g}"


def _csv(header: Sequence[str], rows: Sequence[Sequence[float]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_g(float(v)) for v in row])
    return buf.getvalue()


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(x: float, digits: int = 4) -> str:
    """A number for the tables; ``n/a`` where it is undefined (a slope of too few points)."""
    return "n/a" if not numpy.isfinite(x) else f"{x:.{digits}g}"


def index_names(report: ResponseReport) -> tuple[list[str], list[str]]:
    p, m = report.spec.n_outputs, report.spec.n_inputs
    return [f"f{q + 1}" for q in range(p)], [f"u{k + 1}" for k in range(m)]


def render_tables(report: ResponseReport, *, figures: bool = True) -> dict[str, str]:
    """CSV files with the numbers behind every figure, and ``report.md``.

    ``figures`` says whether the PNGs are written beside it (report.md links them or says how to
    get them).
    """
    outs, ins = index_names(report)
    K = report.kernels
    files: dict[str, str] = {}
    r1_cols = [(q, k) for q in range(len(outs)) for k in range(len(ins))]
    lin_cols = r1_cols if K.r1_linearized is not None else []
    files["kernels_r1.csv"] = _csv(["tau"] + [f"R1[{outs[q]},{ins[k]}]" for q, k in r1_cols]
                                   + [f"R1_linearized[{outs[q]},{ins[k]}]" for q, k in lin_cols],
                                   [[tau] + [K.r1[i, q, k] for q, k in r1_cols]
                                    + [K.r1_linearized[i, q, k] for q, k in lin_cols] for i, tau in enumerate(K.lags)])
    if K.mc_r1 is not None:
        files["kernels_r1_mc.csv"] = _csv(
            ["tau"] + [f"{name}[{outs[q]},{ins[k]}]" for q, k in r1_cols for name in ("R1_mc", "stderr")],
            [[tau] + [x for q, k in r1_cols for x in (K.mc_r1[i, q, k], K.mc_r1_stderr[i, q, k])]
             for i, tau in enumerate(K.mc_lags)])
    r2_cols = [(q, a, b) for q in range(len(outs)) for a in range(len(ins)) for b in range(len(ins))]
    if K.r2 is not None:
        files["kernels_r2.csv"] = _csv(
            ["tau1", "tau2"] + [f"R2[{outs[q]},{ins[a]},{ins[b]}]" for q, a, b in r2_cols],
            [[t1, t2] + [K.r2[i, j, q, a, b] for q, a, b in r2_cols]
             for i, t1 in enumerate(K.lags2) for j, t2 in enumerate(K.lags2)])

    M = report.mean_output
    sums = M.partial_sums
    exact_sums = M.exact_partial_sums
    order = M.terms.shape[1] - 1
    prefix = "linearized_series" if report.exact_and_linearized else "series"
    header = ["eps", "t"]
    for name in outs:
        header += [f"mc_mean[{name}]", f"mc_stderr[{name}]"] + [f"{prefix}_N{N}[{name}]" for N in range(order + 1)]
        if exact_sums is not None:
            header += [f"exact_series_N{N}[{name}]" for N in range(order + 1)]
        if M.exact is not None:
            header += [f"exact[{name}]", f"z[{name}]"]
    rows = []
    z = M.z_scores
    for e, eps in enumerate(M.eps):
        for i, t in enumerate(M.times):
            row = [eps, t]
            for q in range(len(outs)):
                row += [M.mc_mean[e, i, q], M.mc_stderr[e, i, q]] + [sums[e, N, i, q] for N in range(order + 1)]
                if exact_sums is not None:
                    row += [exact_sums[e, N, i, q] for N in range(order + 1)]
                if M.exact is not None:
                    row += [M.exact[e, i, q], z[e, i, q]]
            rows.append(row)
    files["mean_output.csv"] = _csv(header, rows)

    T = report.truncation
    header = ["eps"]
    for name in outs:
        header += [f"reference[{name}]"] + ([f"reference_stderr[{name}]"] if T.reference_stderr is not None else [])
        header += [c for N in T.orders for c in (f"series_N{N}[{name}]", f"error_N{N}[{name}]")]
    rows = []
    for j, eps in enumerate(T.eps):
        row = [eps]
        for q in range(len(outs)):
            row += [T.reference[j, q]] + ([T.reference_stderr[j, q]] if T.reference_stderr is not None else [])
            row += [v for a in range(len(T.orders)) for v in (T.series[a, j, q], T.error[a, j, q])]
        rows.append(row)
    files["truncation_error.csv"] = _csv(header, rows)
    files["report.md"] = _markdown(report, figures)
    return files


def _markdown(report: ResponseReport, figures: bool) -> str:
    spec = report.spec
    outs, ins = index_names(report)
    M, T, K = report.mean_output, report.truncation, report.kernels
    order = M.terms.shape[1] - 1
    L: list[str] = []
    add = L.append
    add(f"# Verification report: {spec.name}\n")
    if spec.description:
        add(f"{spec.description}\n")
    add(f"- spec: `{Path(spec.source).name}`; activation `{spec.activation}`; {spec.n_hidden} hidden units, "
        f"{spec.n_inputs} input(s), {spec.n_outputs} output(s): "
        + ", ".join(f"{outs[q]} = `{text}`" for q, text in enumerate(spec.readout_text)))
    if report.values:
        add("- parameters: " + ", ".join(f"{k} = {fmt(v, 10)}" for k, v in report.values.items()))
    add("- inputs: " + ", ".join(f"{ins[k]}(t) = `{text}`" for k, text in enumerate(report.inputs)))
    add(f"- horizon T = {fmt(report.t)}, series orders 0..{report.order}")
    burn = f", burn-in {fmt(report.burn_in)} (unforced, before t = 0)" if report.burn_in else ""
    add(f"- Monte Carlo: {report.paths} paths, seed {report.seed}, scheme `{report.scheme}`, "
        f"dt = {fmt(report.dt, 6)}{burn}; all eps on common random numbers")
    eig = ", ".join(fmt(complex(v).real, 5) + (f"{complex(v).imag:+.4g}i" if abs(complex(v).imag) > 1e-12 else "")
                    for v in report.linear_eigenvalues)
    if report.exact_only:
        add(f"- kernels, series and the all-order mean output: the **{report.engine}** engine "
            f"({report.engine_method}); the network is its own linearization (eigenvalues of A: {eig}); the "
            f"simulation starts in the exact stationary law.")
    elif report.exact_and_linearized:
        hstar = ", ".join(fmt(v, 6) for v in report.fixed_point)
        add(f"- exact kernels, series and all-order mean output: the **{report.engine}** engine "
            f"({report.engine_method}); the network **linearized** about h* = ({hstar}) (eigenvalues "
            f"of the Jacobian: {eig}) is shown beside them, and the simulation is of the nonlinear network itself.")
    else:
        hstar = ", ".join(fmt(v, 6) for v in report.fixed_point)
        add(f"- no exact engine applies to this network: kernels and series are those of the network "
            f"**linearized** about h* = ({hstar}) (eigenvalues of the Jacobian: {eig}); the simulation is of "
            "the nonlinear network itself.")
    add("")

    def figure(name: str, caption: str) -> None:
        if figures:
            add(f"![{caption}]({name})\n")
        else:
            add(f"*Figure `{name}` not drawn: matplotlib is not installed ({PLOT_HINT}).*\n")

    add("## 1. Kernels\n")
    which = "" if (report.exact_only or report.exact_and_linearized) else " of the linearized network"
    figure("kernels.png", "kernels")
    add(f"R^(1)(tau){which} at selected lags (all {len(K.lags)} lags: `kernels_r1.csv`):\n")
    pick = numpy.unique(numpy.linspace(0, len(K.lags) - 1, 6).round().astype(int))
    cols = [(q, k) for q in range(len(outs)) for k in range(len(ins))]
    lin_cols = cols if K.r1_linearized is not None else []
    add(_md_table(["tau"] + [f"R1[{outs[q]},{ins[k]}]" for q, k in cols]
                  + [f"linearized R1[{outs[q]},{ins[k]}]" for q, k in lin_cols],
                  [[fmt(K.lags[i])] + [fmt(K.r1[i, q, k], 6) for q, k in cols]
                   + [fmt(K.r1_linearized[i, q, k], 6) for q, k in lin_cols] for i in pick]))
    add("")
    if K.mc_r1 is not None:
        info = K.mc_info
        cv = ("with the linearized network as control variate" if info["control_variate"]
              else "without control variate")
        add(f"The network's own R^(1) by the Monte-Carlo engine (likelihood-ratio weights of discretised impulses, "
            f"theory.md 8; {info['paths']} paths, seed {info['seed']}, dt {fmt(info['dt'], 4)}, {cv}), "
            f"estimate +- standard error (`kernels_r1_mc.csv`):\n")
        z = K.mc_z_scores() if (report.exact_only or report.exact_and_linearized) else None
        add(_md_table(["tau"] + [f"R1[{outs[q]},{ins[k]}]" for q, k in cols] + (["max abs z vs exact"] if z is not None else []),
                      [[fmt(K.mc_lags[i])] + [f"{fmt(K.mc_r1[i, q, k], 5)} +- {fmt(K.mc_r1_stderr[i, q, k], 2)}"
                                               for q, k in cols]
                       + ([fmt(float(numpy.abs(z[i]).max()), 3)] if z is not None else [])
                       for i in range(len(K.mc_lags))]))
        add("")
    if K.r2 is not None:
        pick2 = numpy.unique(numpy.linspace(0, len(K.lags2) - 1, 5).round().astype(int))
        add(f"R^(2)[{outs[0]},{ins[0]},{ins[0]}](tau1, tau2){which}, rows tau1, columns tau2 "
            f"(full {len(K.lags2)} x {len(K.lags2)} grid for every component: `kernels_r2.csv`):\n")
        add(_md_table(["tau1 \\ tau2"] + [fmt(K.lags2[j]) for j in pick2],
                      [[fmt(K.lags2[i])] + [fmt(K.r2[i, j, 0, 0, 0], 5) for j in pick2] for i in pick2]))
        add("")

    add("## 2. Mean output E y_t\n")
    figure("mean_output.png", "mean output")
    series_name = "series" if report.exact_only else "linearized series"
    exact_sums = M.exact_partial_sums
    for e, eps in enumerate(M.eps):
        add(f"eps = {fmt(eps)} (every time point: `mean_output.csv`):\n")
        pick = numpy.unique(numpy.linspace(0, len(M.times) - 1, 6).round().astype(int))
        for q, name in enumerate(outs):
            if exact_sums is not None:  # exact series of every order, the linearized one at the top order
                header = (["t", f"MC {name}", "s.e."] + [f"exact series N={N}" for N in range(order + 1)]
                          + [f"{series_name} N={order}"])
            else:
                header = ["t", f"MC {name}", "s.e."] + [f"{series_name} N={N}" for N in range(order + 1)]
            if M.exact is not None:
                header += ["exact (all orders)" if report.exact_and_linearized else "exact", "(MC - exact)/s.e."]
            rows = []
            for i in pick:
                row = [fmt(M.times[i]), fmt(M.mc_mean[e, i, q], 6), fmt(M.mc_stderr[e, i, q], 2)]
                if exact_sums is not None:
                    row += [fmt(exact_sums[e, N, i, q], 6) for N in range(order + 1)]
                    row += [fmt(M.partial_sums[e, order, i, q], 6)]
                else:
                    row += [fmt(M.partial_sums[e, N, i, q], 6) for N in range(order + 1)]
                if M.exact is not None:
                    z_here = M.z_scores[e, i, q]
                    row += [fmt(M.exact[e, i, q], 6), f"{z_here:+.2f}" if numpy.isfinite(z_here) else "-"]
                rows.append(row)
            add(_md_table(header, rows))
            add("")
    if M.exact is not None:
        z = numpy.abs(M.z_scores)
        what = f"exact all-order mean output ({report.engine} engine)"
        shown = z[numpy.isfinite(z)]
        add(f"Monte Carlo against the {what}: max |MC - exact| / s.e. = {shown.max(initial=0.0):.2f} over "
            f"{shown.size} comparisons (every time, eps and output); a correct simulator stays below ~4.\n")
        for note in M.exact_refused:
            add(f"- no exact all-order mean output at {note}\n")
        if report.exact_and_linearized:
            for q, name in enumerate(outs):
                for e, eps in enumerate(M.eps):
                    if not numpy.isfinite(M.exact[e, -1, q]):
                        continue
                    lin = M.partial_sums[e, order, -1, q] - M.exact[e, -1, q]
                    ex = exact_sums[e, order, -1, q] - M.exact[e, -1, q]
                    add(f"- {name}, eps = {fmt(eps)}, t = T: exact series (N = {order}) misses the exact mean output "
                        f"by {fmt(ex, 3)}, the linearized series by {fmt(lin, 3)}.")
            add("")
    else:
        add("What it shows:\n")
        for q, name in enumerate(outs):
            diff = M.terms[0, 0, q] - M.mc_stationary[q]
            se = M.mc_stationary_stderr[q]
            add(f"- stationary mean of {name}: simulated {fmt(M.mc_stationary[q], 6)} +- {fmt(se, 2)}, "
                f"linearized <f> {fmt(M.terms[0, 0, q], 6)}: the linearization is off by {fmt(diff, 3)} "
                f"({abs(diff) / se:.1f} s.e.) before any input.")
            for e, eps in enumerate(M.eps):
                d = M.partial_sums[e, order, -1, q] - M.mc_mean[e, -1, q]
                se = M.mc_stderr[e, -1, q]
                add(f"- eps = {fmt(eps)}, t = T: simulated {fmt(M.mc_mean[e, -1, q], 6)} +- {fmt(se, 2)}, "
                    f"linearized series (N = {order}) {fmt(M.partial_sums[e, order, -1, q], 6)}: "
                    f"difference {fmt(d, 3)} ({abs(d) / se:.1f} s.e.).")
        add("")

    add("## 3. Truncation error at t = T\n")
    figure("truncation_error.png", "truncation error")
    if T.kind == "exact" and report.exact_and_linearized:
        add(f"Reference: the exact all-order mean output E y_T of the {report.engine} engine, against the "
            "exact nonlinear series of the same engine. Theory: |E y_T - series_N| = "
            f"O(eps^(N+1)), so the log-log slope is N + 1. Points below {ERROR_FLOOR:g} (relative) are at the "
            "numerical floor and are not fitted.\n")
    elif T.kind == "exact":
        add(f"Reference: the exact all-order mean output of the {report.engine} engine. Theory: |E y_T - series_N| = O(eps^(N+1)), so the log-log "
            f"slope is N + 1 (N + 2 where the order-(N+1) term happens to vanish at T). Points below "
            f"{ERROR_FLOOR:g} (relative) are at the numerical floor and are not fitted; a series that terminates "
            "(polynomial readout of degree <= N) has no slope.\n")
    else:
        add("Reference: the simulated response E y^eps_T - E y^0_T (pathwise differences, common random "
            "numbers), against the linearized series without its order-0 term. Points within 3 s.e. of "
            "the Monte-Carlo noise are not fitted. With exact kernels the slope would be N + 1. The "
            "linearized kernels are themselves wrong at every order (R^(1) at O(eps), R^(2) at "
            "O(eps^2), ...), so the error is dominated by the linearization, not the truncation: slopes "
            "between 1 and 2, and higher orders need not reduce it.\n")
        for q, name in enumerate(outs):
            first, last = T.error[0, -1, q], T.error[-1, -1, q]
            verdict = ("adding orders does not reduce the error" if last >= first
                       else f"higher orders reduce the error {first / max(last, 1e-300):.2g}-fold")
            add(f"- {name}, eps = {fmt(T.eps[-1])}: error {fmt(first, 3)} at N = {T.orders[0]} and "
                f"{fmt(last, 3)} at N = {T.orders[-1]}: {verdict}.")
        add("")
    header = ["eps"] + [f"{name}: error N={N}" for name in outs for N in T.orders]
    if T.reference_stderr is not None:
        header += [f"{name}: 3 s.e." for name in outs]
    rows = []
    for j, eps in enumerate(T.eps):
        row = [fmt(eps)] + [fmt(T.error[a, j, q], 3) for q in range(len(outs)) for a in range(len(T.orders))]
        if T.reference_stderr is not None:
            row += [fmt(3 * T.reference_stderr[j, q], 2) for q in range(len(outs))]
        rows.append(row)
    add(_md_table(header, rows))
    add("")
    rows = []
    for q, name in enumerate(outs):
        for a, N in enumerate(T.orders):
            slope = T.slopes[a, q]
            note = ("not fitted (series terminates or error below the floor)" if not numpy.isfinite(slope)
                    else f"fitted on {int(T.resolved[a, :, q].sum())} points")
            rows.append([name, str(N), fmt(slope, 3), str(N + 1), note])
    add(_md_table(["output", "N", "fitted slope", "theory (exact kernels)", ""], rows))
    add("")
    add("## Files\n")
    add("`kernels_r1.csv`, " + ("`kernels_r2.csv`, " if K.r2 is not None else "")
        + "`mean_output.csv`, `truncation_error.csv`: the numbers behind every figure"
        + (" (`kernels.png`, `mean_output.png`, `truncation_error.png`)." if figures else "."))
    return "\n".join(L) + "\n"
