"""The report's figures (matplotlib's object API on the Agg canvas: no pyplot, no global state)."""

from __future__ import annotations

import io

import numpy

from .build import ResponseReport
from .tables import fmt as _f
from .tables import index_names as _index_names

__all__ = ["render_figures", "MAX_HEATMAPS"]

MAX_HEATMAPS = 4


def render_figures(report: ResponseReport, *, dpi: int = 100) -> dict[str, bytes]:
    """PNG bytes of ``kernels.png``, ``mean_output.png`` and ``truncation_error.png``.

    Uses matplotlib's object API with the Agg canvas (no pyplot, no global state). Raises
    :class:`ModuleNotFoundError` when matplotlib is not installed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def png(fig) -> bytes:
        FigureCanvasAgg(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        return buf.getvalue()

    outs, ins = _index_names(report)
    name = report.spec.name
    lin = "" if (report.exact_only or report.exact_and_linearized) else " (linearized)"
    out: dict[str, bytes] = {}

    K = report.kernels
    comps = [(q, a, b) for q in range(len(outs)) for a in range(len(ins)) for b in range(len(ins))]
    heat = comps[:MAX_HEATMAPS] if K.r2 is not None else []
    fig = Figure(figsize=(4.2 * (1 + len(heat)), 3.4), layout="constrained")
    axes = fig.subplots(1, 1 + len(heat), squeeze=False)[0]
    ax = axes[0]
    for q in range(len(outs)):
        for k in range(len(ins)):
            line, = ax.plot(K.lags, K.r1[:, q, k], label=f"{outs[q]}, {ins[k]}" + (" exact" if report.exact_and_linearized else ""))
            if K.r1_linearized is not None:
                ax.plot(K.lags, K.r1_linearized[:, q, k], ls="--", color=line.get_color(),
                        label=f"{outs[q]}, {ins[k]} linearized")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set(xlabel="lag tau", ylabel="R^(1)(tau)", title=f"{name}: first-order kernel{lin}")
    ax.legend(fontsize="small")
    extent = (K.lags2[0], K.lags2[-1], K.lags2[0], K.lags2[-1])
    for ax, (q, a, b) in zip(axes[1:], heat):
        data = K.r2[:, :, q, a, b]
        vmax = float(numpy.abs(data).max()) or 1.0
        im = ax.imshow(data.T, origin="lower", extent=extent, aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set(xlabel="tau1 (latest kick to t)", ylabel="tau2", title=f"R^(2)[{outs[q]}; {ins[a]},{ins[b]}]{lin}")
        fig.colorbar(im, ax=ax, shrink=0.85)
    out["kernels.png"] = png(fig)

    M = report.mean_output
    sums = M.partial_sums
    exact_sums = M.exact_partial_sums
    order = M.terms.shape[1] - 1
    E, p = len(M.eps), len(outs)
    fig = Figure(figsize=(4.6 * E, 4.6 * p), layout="constrained")
    axes = fig.subplots(2 * p, E, squeeze=False, sharex=True, gridspec_kw={"height_ratios": [2, 1] * p})
    colors = ["tab:gray", "tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink"]
    series_label = "series" if report.exact_only else "linearized series"
    for q in range(p):
        for e, eps in enumerate(M.eps):
            ax, res = axes[2 * q, e], axes[2 * q + 1, e]
            mc, se = M.mc_mean[e, :, q], M.mc_stderr[e, :, q]
            # residuals against the exact driven mean, or the simulation when there is none (or it was refused)
            exact_here = M.exact is not None and bool(numpy.all(numpy.isfinite(M.exact[e, :, q])))
            ref = M.exact[e, :, q] if exact_here else mc
            if exact_sums is not None:  # exact series of every order; the linearized one at the top order
                for N in range(order + 1):
                    style = {"color": colors[N % len(colors)], "lw": 1.1, "ls": ":" if N == 0 else "-"}
                    ax.plot(M.times, exact_sums[e, N, :, q], label=f"exact series N={N}", **style)
                    if N:
                        res.plot(M.times, exact_sums[e, N, :, q] - ref, **style)
                style = {"color": "tab:olive", "lw": 1.3, "ls": "-."}
                ax.plot(M.times, sums[e, order, :, q], label=f"linearized series N={order}", **style)
                res.plot(M.times, sums[e, order, :, q] - ref, **style)
            else:
                for N in range(order + 1):
                    style = {"color": colors[N % len(colors)], "lw": 1.1, "ls": ":" if N == 0 else "-"}
                    ax.plot(M.times, sums[e, N, :, q], label=f"{series_label} N={N}", **style)
                    if N:
                        res.plot(M.times, sums[e, N, :, q] - ref, **style)
            if exact_here:
                ax.plot(M.times, M.exact[e, :, q], color="black", ls="--", lw=1.1,
                        label="exact (all orders)")
            ax.fill_between(M.times, mc - 2 * se, mc + 2 * se, color="tab:red", alpha=0.3, lw=0, zorder=3)
            ax.plot(M.times, mc, color="tab:red", lw=1.0, ls="--", zorder=4, label="Monte Carlo (+- 2 s.e.)")
            res.fill_between(M.times, mc - ref - 2 * se, mc - ref + 2 * se, color="tab:red", alpha=0.3, lw=0)
            res.axhline(0, color="black" if exact_here else "tab:red", lw=0.8, ls="--")
            ax.set(ylabel=f"E {outs[q]}(h_t)", title=f"{name}: eps = {_f(eps)}")
            res.set(ylabel="minus exact" if exact_here else "minus MC")
            if q == p - 1:
                res.set(xlabel="t")
            if q == 0 and e == 0:
                ax.legend(fontsize="x-small")
    out["mean_output.png"] = png(fig)

    T = report.truncation
    fig = Figure(figsize=(4.6 * p, 3.6), layout="constrained")
    axes = fig.subplots(1, p, squeeze=False)[0]
    for q, ax in enumerate(axes):
        for a, N in enumerate(T.orders):
            err = T.error[a, :, q]
            ok = T.resolved[a, :, q]
            color = colors[N % len(colors)]
            slope = T.slopes[a, q]
            label = f"N={N}: slope {_f(slope, 3)} (theory {N + 1})" if numpy.isfinite(slope) else f"N={N}: not fitted"
            ax.loglog(T.eps[ok], err[ok], "o-", color=color, label=label)
            if (~ok).any():
                ax.loglog(T.eps[~ok], numpy.maximum(err[~ok], 1e-300), "x", color=color, alpha=0.5)
        if T.reference_stderr is not None:
            ax.loglog(T.eps, 3 * T.reference_stderr[:, q], color="0.5", ls="--", label="3 s.e. (MC noise)")
        ref = "exact mean output" if T.kind == "exact" else "simulated response"
        ax.set(xlabel="eps", ylabel=f"|series - {ref}|", title=f"{name}: {outs[q]} at t = {_f(T.t)}{lin}")
        ax.legend(fontsize="x-small")
    out["truncation_error.png"] = png(fig)
    return out
