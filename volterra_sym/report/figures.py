"""The report's figures (matplotlib's object API on the Agg canvas: no pyplot, no global state).

Conventions every figure keeps (tests/test_figures.py checks them on the drawn figures):

- every axis and colourbar is labelled, in mathtext where there is a symbol;
- every plotted curve is in a legend, or has the style of a legend entry (the residual panels);
  lines with ``gid="guide"`` (the zero line) are guides, not data;
- legends sit outside the axes, never on the data;
- curves that coincide to within a pixel stay visible: the later one is drawn as markers only and
  its legend entry says which curve it coincides with (e.g. the N = 2 and N = 3 series of a
  quadratic readout, which are equal).
"""

from __future__ import annotations

import io

import numpy

from .build import ResponseReport
from .tables import fmt as _f

__all__ = ["build_figures", "render_figures", "MAX_HEATMAPS", "COINCIDE"]

MAX_HEATMAPS = 4
#: two curves coincide when they differ by less than this fraction of the axis' range (> 1 pixel)
COINCIDE = 6e-3
_MARKERS = ("o", "s", "^", "D", "v", "P")
_DOTTED = ((0, (1, 1.5)), (0, (3, 1.5, 1, 1.5)), (0, (1, 3)))  # curves that coincide in some panels only
_COLORS = ["tab:gray", "tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink"]


def _names(report: ResponseReport) -> tuple[list[str], list[str]]:
    """Mathtext names of the outputs and inputs: ``$f_1$``, ``$u_1$``."""
    p, m = report.spec.n_outputs, report.spec.n_inputs
    return [f"$f_{{{q + 1}}}$" for q in range(p)], [f"$u_{{{k + 1}}}$" for k in range(m)]


def _legend_outside(ax, **kwargs) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small", **kwargs)


def _coincide(a, b) -> bool:
    """The two lines agree to ``COINCIDE`` of the axis' y range (in log10 on a log axis); call it
    once everything is plotted, so that the range is the drawn one."""
    scale = numpy.log10 if a.axes.get_yscale() == "log" else (lambda v: v)
    with numpy.errstate(divide="ignore", invalid="ignore"):
        y_a, y_b = scale(numpy.asarray(a.get_ydata(), float)), scale(numpy.asarray(b.get_ydata(), float))
        low, high = scale(numpy.asarray(a.axes.get_ylim(), float))
    if y_a.shape != y_b.shape or not numpy.array_equal(numpy.isfinite(y_a), numpy.isfinite(y_b)):
        return False
    finite = numpy.isfinite(y_a)
    span = abs(high - low) or 1.0
    return bool(finite.any() and numpy.all(numpy.abs(y_a[finite] - y_b[finite]) <= COINCIDE * span))


def _mark_coincident(panels: list[list]) -> None:
    """Restyle curves that coincide with an earlier one, alike in every panel of ``panels`` (one
    list of lines per axes: the same curves in the same order, ``None`` where a panel lacks one).

    A curve equal to the same earlier one in every panel is drawn as markers only, labelled
    "coincides with ...". A curve equal to an earlier one in some panels only keeps a line, dotted
    finely, so that the earlier curve shows through it. A panel may end early (a curve drawn only in
    some panels comes last, e.g. an exact driven mean refused at one amplitude). Call it once
    everything is plotted."""
    panels = [list(lines) + [None] * (max(map(len, panels)) - len(lines)) for lines in panels]
    repeats = 0
    for j in range(len(panels[0])):
        present = [lines for lines in panels if lines[j] is not None]

        def equal(i: int, lines: list) -> bool:
            return lines[i] is not None and _coincide(lines[i], lines[j])

        everywhere = [i for i in range(j) if all(equal(i, lines) for lines in present)]
        somewhere = any(equal(i, lines) for i in range(j) for lines in present)
        if not somewhere:
            continue
        for lines in present:
            later = lines[j]
            if everywhere:
                n = len(later.get_ydata())
                step = max(4, n // 8)
                later.set(linestyle="none", marker=_MARKERS[(repeats + 1) % len(_MARKERS)], markersize=6,
                          fillstyle="none", markevery=None if n <= 12 else (repeats % step, step),
                          zorder=lines[everywhere[0]].get_zorder() + 1)
            else:
                later.set(linestyle=_DOTTED[repeats % len(_DOTTED)], linewidth=1.6)
        if everywhere:
            first = next(lines for lines in present if lines[j].get_label()[:1] != "_")
            earlier = first[everywhere[0]].get_label().split(":")[0]
            for lines in present:
                if lines[j].get_label()[:1] != "_":
                    lines[j].set_label(f"{lines[j].get_label()} (coincides with {earlier})")
        repeats += 1


def _copy_style(line) -> dict:
    """The style of a main-panel line, for its residual in the panel below."""
    return {"color": line.get_color(), "linestyle": line.get_linestyle(), "linewidth": line.get_linewidth(),
            "marker": line.get_marker(), "markersize": line.get_markersize(), "fillstyle": line.get_fillstyle(),
            "markevery": line.get_markevery(), "zorder": line.get_zorder()}


def build_figures(report: ResponseReport) -> dict[str, object]:
    """The report's matplotlib ``Figure`` objects, by file name (``kernels.png``, ``mean_output.png``,
    ``truncation_error.png``). Raises :class:`ModuleNotFoundError` without matplotlib."""
    from matplotlib.figure import Figure

    return {"kernels.png": _kernels(report, Figure), "mean_output.png": _mean_output(report, Figure),
            "truncation_error.png": _truncation(report, Figure)}


def render_figures(report: ResponseReport, *, dpi: int = 100) -> dict[str, bytes]:
    """PNG bytes of the figures of :func:`build_figures`.

    Uses matplotlib's object API with the Agg canvas (no pyplot, no global state). Raises
    :class:`ModuleNotFoundError` when matplotlib is not installed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = {}
    for name, fig in build_figures(report).items():
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        out[name] = buf.getvalue()
    return out


def _suffix(report: ResponseReport) -> str:
    return "" if (report.exact_only or report.exact_and_linearized) else " (linearized)"


def _kernels(report: ResponseReport, Figure):
    outs, ins = _names(report)
    name, lin = report.spec.name, _suffix(report)
    K = report.kernels
    comps = [(q, a, b) for q in range(len(outs)) for a in range(len(ins)) for b in range(len(ins))]
    heat = comps[:MAX_HEATMAPS] if K.r2 is not None else []
    fig = Figure(figsize=(5.6 + 4.4 * len(heat), 3.6), layout="constrained")
    axes = fig.subplots(1, 1 + len(heat), squeeze=False)[0]
    ax = axes[0]
    lines = []
    for q in range(len(outs)):
        for k in range(len(ins)):
            exact = " exact" if report.exact_and_linearized else ""
            line, = ax.plot(K.lags, K.r1[:, q, k], label=f"{outs[q]}, {ins[k]}{exact}")
            lines.append(line)
            if K.r1_linearized is not None:
                lines += ax.plot(K.lags, K.r1_linearized[:, q, k], ls="--", color=line.get_color(),
                                 label=f"{outs[q]}, {ins[k]} linearized")
            if K.mc_r1 is not None:
                ax.errorbar(K.mc_lags, K.mc_r1[:, q, k], yerr=2 * K.mc_r1_stderr[:, q, k], fmt="o", ms=3,
                            color=line.get_color(), label=rf"{outs[q]}, {ins[k]} Monte Carlo ($\pm 2$ s.e.)")
    _mark_coincident([lines])
    ax.axhline(0, color="0.7", lw=0.8, gid="guide")
    ax.set(xlabel=r"lag $\tau$", ylabel=r"$R^{(1)}_{f;k}(\tau)$", title=f"{name}: first-order kernel{lin}")
    _legend_outside(ax)
    extent = (K.lags2[0], K.lags2[-1], K.lags2[0], K.lags2[-1])
    for ax, (q, a, b) in zip(axes[1:], heat):
        data = K.r2[:, :, q, a, b]
        vmax = float(numpy.abs(data).max())
        im = ax.imshow(data.T, origin="lower", extent=extent, aspect="auto", cmap="RdBu_r", vmin=-(vmax or 1.0),
                       vmax=vmax or 1.0)
        index = f"{outs[q].strip('$')};\\,{ins[a].strip('$')}{ins[b].strip('$')}"
        zero = " (identically 0)" if vmax == 0.0 else ""
        ax.set(xlabel=r"$\tau_1$ (latest kick to $t$)", ylabel=r"$\tau_2$",
               title=f"second-order kernel $R^{{(2)}}_{{{index}}}$" + zero + lin)
        fig.colorbar(im, ax=ax, shrink=0.85, label=rf"$R^{{(2)}}_{{{index}}}(\tau_1, \tau_2)$")
    return fig


def _mean_output(report: ResponseReport, Figure):
    outs, _ = _names(report)
    name = report.spec.name
    M = report.mean_output
    E, p = len(M.eps), len(outs)
    fig = Figure(figsize=(4.4 * E + 3.2, 4.4 * p), layout="constrained")
    axes = fig.subplots(2 * p, E, squeeze=False, sharex=True, gridspec_kw={"height_ratios": [2, 1] * p})
    series_label = "series" if report.exact_only else "linearized series"
    for q in range(p):
        row = [_mean_panel(report, axes[2 * q, e], e, q, series_label) for e in range(E)]
        residuals = []
        for e in range(E):
            ax, res = axes[2 * q, e], axes[2 * q + 1, e]
            mc, se = M.mc_mean[e, :, q], M.mc_stderr[e, :, q]
            # residuals against the exact driven mean, or the simulation when there is none (or it was refused)
            exact_here = _exact_here(M, e, q)
            ref = M.exact[e, :, q] if exact_here else mc
            # the order-0 series is the stationary mean: no residual
            residuals.append([None] + [res.plot(M.times, numpy.asarray(line.get_ydata()) - ref, **_copy_style(line),
                                                label="_residual")[0] for line in row[e][1:]])
            ax.fill_between(M.times, mc - 2 * se, mc + 2 * se, color="tab:red", alpha=0.25, lw=0, zorder=3,
                            label=r"Monte Carlo $\pm 2$ s.e.")
            ax.plot(M.times, mc, color="tab:red", ls="none", marker=".", markersize=5, zorder=5, label="Monte Carlo")
            res.fill_between(M.times, mc - ref - 2 * se, mc - ref + 2 * se, color="tab:red", alpha=0.25, lw=0,
                             zorder=3)
            if exact_here:
                res.plot(M.times, mc - ref, color="tab:red", ls="none", marker=".", markersize=5, zorder=5)
        _mark_coincident(row + residuals)
        for e, eps in enumerate(M.eps):
            ax, res = axes[2 * q, e], axes[2 * q + 1, e]
            res.axhline(0, color="0.4", lw=0.8, gid="guide")
            ax.set(ylabel=rf"$\mathbb{{E}}\,{outs[q].strip('$')}(h_t)$", title=rf"{name}: $\varepsilon = {_f(eps)}$")
            res.set(ylabel="minus exact" if _exact_here(M, e, q) else "minus Monte Carlo")
            if q == p - 1:
                res.set(xlabel="$t$")
        # one legend for the row, beside its last panel, with every curve any panel of the row draws
        entries: dict[str, object] = {}
        for e in range(E):
            for handle, label in zip(*axes[2 * q, e].get_legend_handles_labels()):
                entries.setdefault(label, handle)
        _legend_outside(axes[2 * q, E - 1], handles=list(entries.values()), labels=list(entries))
    return fig


def _exact_here(M, e: int, q: int) -> bool:
    """Whether the exact driven mean was computed for amplitude e (an engine may refuse one: NaN row)."""
    return M.exact is not None and bool(numpy.all(numpy.isfinite(M.exact[e, :, q])))


def _mean_panel(report: ResponseReport, ax, e: int, q: int, series_label: str) -> list:
    """The series and exact curves of one panel, in drawing order (Monte Carlo is added after)."""
    M = report.mean_output
    sums, exact_sums = M.partial_sums, M.exact_partial_sums
    order = M.terms.shape[1] - 1
    curves = []
    source = exact_sums if exact_sums is not None else sums
    label = "exact series" if exact_sums is not None else series_label
    for N in range(order + 1):
        style = {"color": _COLORS[N % len(_COLORS)], "lw": 1.2, "ls": ":" if N == 0 else "-"}
        curves += ax.plot(M.times, source[e, N, :, q], label=f"{label} $N={N}$", **style)
    if exact_sums is not None:  # the linearized series at the top order beside the exact ones
        curves += ax.plot(M.times, sums[e, order, :, q], label=f"linearized series $N={order}$",
                          color="tab:olive", lw=1.3, ls="-.")
    if _exact_here(M, e, q):
        curves += ax.plot(M.times, M.exact[e, :, q], color="black", ls="--", lw=1.2, label="exact, all orders")
    return curves


def _truncation(report: ResponseReport, Figure):
    outs, _ = _names(report)
    name, lin = report.spec.name, _suffix(report)
    T = report.truncation
    p = len(outs)
    fig = Figure(figsize=(4.4 * p + 2.8, 3.8), layout="constrained")
    axes = fig.subplots(1, p, squeeze=False)[0]
    below_label = ("below 3 s.e. (not fitted)" if T.kind == "monte-carlo" else "at rounding level (not fitted)")
    for q, ax in enumerate(axes):
        ok_all = T.resolved[:, :, q]
        # unresolved points sit just below their floor, one row per order
        below = T.floor[:, :, q] * 0.6 / 1.5 ** numpy.arange(len(T.orders))[:, None]
        bottom = float(below.min()) / 2
        top = float(max(T.error[:, :, q][ok_all].max() if ok_all.any() else 0.0, T.floor[:, :, q].max()))
        lines = []
        for a, N in enumerate(T.orders):
            err, ok = T.error[a, :, q], ok_all[a]
            color = _COLORS[N % len(_COLORS)]
            slope = T.slopes[a, q]
            if numpy.isfinite(slope):  # eps^(N+1) holds for the network's own series, not a linearization's
                theory = f" (theory {N + 1})" if T.kind == "exact" or report.exact_only else ""
                label = f"$N={N}$: slope {_f(slope, 3)}{theory}"
            elif not ok.any():
                label = f"$N={N}$: " + ("exact to rounding" if T.kind == "exact" else "within Monte Carlo noise")
            else:
                label = f"$N={N}$: not fitted ({int(ok.sum())} point resolved)"
            lines += ax.loglog(T.eps, numpy.where(ok, err, numpy.nan), "o-", color=color, label=label)
            if (~ok).any():
                ax.loglog(T.eps[~ok], below[a, ~ok], "x", color=color)
        _mark_coincident([lines])
        if not ok_all.all():
            ax.loglog([], [], "x", color="0.3", label=below_label + ", colour = order")
        if T.reference_stderr is not None:
            ax.loglog(T.eps, 3 * T.reference_stderr[:, q], color="0.5", ls="--", label="3 s.e. (Monte Carlo noise)")
        else:
            ax.axhline(float(T.floor[:, :, q].max()), color="0.5", ls="--", lw=0.8,
                       label="rounding floor (not fitted below)")
        if not ok_all.any():
            ax.text(0.5, 0.6, "every truncation agrees with the reference\n"
                    + ("to rounding" if T.kind == "exact" else "within the Monte Carlo noise") + ": nothing to fit",
                    transform=ax.transAxes, ha="center", va="center", fontsize="small")
        ax.set_ylim(bottom, top * 10)
        ax.set_xticks(T.eps, [_f(e, 2) for e in T.eps], minor=False)
        ax.xaxis.set_minor_locator(_null_locator())
        ref = "exact mean output" if T.kind == "exact" else "simulated response"
        ax.set(xlabel=r"$\varepsilon$", ylabel=f"|series $-$ {ref}|",
               title=f"{name}: {outs[q]} at $t = {_f(T.t)}${lin}")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize="small", ncols=1)
    return fig


def _null_locator():
    from matplotlib.ticker import NullLocator

    return NullLocator()
