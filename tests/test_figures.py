"""The report's figures read without the code: labelled axes and colourbars (mathtext for symbols),
every curve explained by a legend, legends off the data, and no curve hidden under another.

"Hidden" is checked on the drawn figure: two curves of one axes that coincide to within a pixel
must differ so that the lower one shows (the upper one drawn as markers only or non-solid over a
solid one, or the lower one wider), and the legend entries of one legend must differ in style.
"""

from __future__ import annotations

import numpy
import pytest

from conftest import ROOT
from volterra_sym.report.build import build_report

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

from volterra_sym.report.figures import build_figures  # noqa: E402

DERIV = ROOT / "derivations"
CHEAP = {"ou2_quadratic": (DERIV / "ou2_quadratic.toml", [0.3, 1.0])}  # finite series: N=2, N=3, exact coincide
SLOW = {"tanh1_scalar": (DERIV / "nonlinear" / "tanh1_scalar.toml", [0.3, 1.5]),  # exact + linearized
        "tanh3": (DERIV / "nonlinear" / "tanh3.toml", [0.3, 3.0])}  # linearized only, Monte-Carlo reference


def _report(path, eps):
    return build_report(path, ["sin(t)"], eps_list=eps, t=2.0, paths=500, seed=1, n_times=7)


def _drawn(report):
    figures = build_figures(report)
    for fig in figures.values():
        FigureCanvasAgg(fig).draw()
    return figures


def _style(line):
    ls = line.get_linestyle() if line.get_linewidth() > 0 else "None"
    return (to_rgba(line.get_color()), "None" if ls in ("None", "none", " ", "") else ls, line.get_marker())


def _data_lines(ax):
    return [ln for ln in ax.get_lines() if ln.get_gid() != "guide" and len(ln.get_xdata())]


def _legends(fig):
    return [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)


def _pixels(line):
    xy = numpy.column_stack([line.get_xdata(), line.get_ydata()]).astype(float)
    return line.axes.transData.transform(xy)


def _solid(line) -> bool:
    return line.get_linestyle() in ("-", "solid") and line.get_linewidth() > 0


def _dashes(line):
    return line.get_linestyle(), line._unscaled_dash_pattern  # e.g. ("--", (0, (1, 1.5)))


def _shows_through(lower, upper) -> bool:
    """Whether ``lower`` stays visible where ``upper`` is drawn over it."""
    if not _solid(upper):  # markers only, or gaps in a dashed/dotted line
        return _solid(lower) or _dashes(lower) != _dashes(upper) or lower.get_marker() not in ("None", "")
    if lower.get_linewidth() >= upper.get_linewidth() + 1.5:
        return True
    return lower.get_marker() not in ("None", "") and lower.get_markersize() > upper.get_linewidth() + 1


def check_figure(name, fig) -> None:
    legends = _legends(fig)
    assert legends, f"{name}: no legend"
    entries = [(text.get_text(), handle) for lg in legends for text, handle in zip(lg.get_texts(), lg.legend_handles)]
    labels = {text for text, _ in entries}
    colours = {to_rgba(h.get_color()) for _, h in entries if hasattr(h, "get_color") and h.get_marker}
    markers_or_styles = {s for _, h in entries if hasattr(h, "get_marker") for s in (h.get_marker(), h.get_linestyle())}
    axes_boxes = [ax.get_window_extent() for ax in fig.axes]
    for legend in legends:
        box = legend.get_window_extent()
        assert not any(box.overlaps(a) for a in axes_boxes), f"{name}: a legend covers an axes"
        styles = [(_style(h) if hasattr(h, "get_marker") else repr(h.get_facecolor())) for h in legend.legend_handles]
        assert len(set(map(str, styles))) == len(styles), f"{name}: two legend entries look alike: {styles}"
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            assert ax.get_ylabel() or ax.get_xlabel(), f"{name}: unlabelled colourbar"
            continue
        assert ax.get_xlabel() or ax.get_shared_x_axes().get_siblings(ax) != [ax], f"{name}: no x label"
        assert ax.get_ylabel(), f"{name}: no y label"
        for text in (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()):
            if any(symbol in text for symbol in ("tau", "eps", "R^", "E f")):
                assert "$" in text, f"{name}: {text!r} is not mathtext"
        for image in [a for a in ax.get_children() if isinstance(a, AxesImage)]:
            assert image.colorbar is not None and image.colorbar.ax.get_ylabel(), f"{name}: image without labelled colourbar"
        lines = _data_lines(ax)
        for line in lines:  # every curve is in a legend, or has the colour and the mark of legend entries
            label = line.get_label()
            if label in labels:
                continue
            assert to_rgba(line.get_color()) in colours, f"{name}: unexplained curve colour {line.get_color()}"
            assert line.get_marker() in markers_or_styles or line.get_linestyle() in markers_or_styles, \
                f"{name}: unexplained curve style {_style(line)}"
        order = sorted(range(len(lines)), key=lambda i: (lines[i].get_zorder(), i))
        for a_pos, i in enumerate(order):
            for j in order[a_pos + 1:]:
                lower, upper = lines[i], lines[j]
                if len(lower.get_xdata()) != len(upper.get_xdata()):
                    continue
                pa, pb = _pixels(lower), _pixels(upper)
                finite = numpy.isfinite(pa).all(1) & numpy.isfinite(pb).all(1)
                if finite.any() and numpy.abs(pa[finite] - pb[finite]).max() < 1.0:
                    assert _shows_through(lower, upper), \
                        f"{name}: {lower.get_label()!r} is hidden under {upper.get_label()!r}"


@pytest.mark.parametrize("case", sorted(CHEAP))
def test_report_figures_read_without_the_code(case):
    figures = _drawn(_report(*CHEAP[case]))
    for name, fig in figures.items():
        check_figure(f"{case}/{name}", fig)
    legend_text = " ".join(t.get_text() for fig in figures.values() for lg in _legends(fig) for t in lg.get_texts())
    assert "coincides with" in legend_text  # a quadratic readout: the N = 2 and N = 3 series are equal


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(SLOW))
def test_report_figures_of_nonlinear_networks_read_without_the_code(case):
    for name, fig in _drawn(_report(*SLOW[case])).items():
        check_figure(f"{case}/{name}", fig)


def test_the_check_catches_a_hidden_curve_and_a_legend_on_the_data():
    from matplotlib.figure import Figure

    fig = Figure(layout="constrained")
    ax = fig.subplots()
    t = numpy.linspace(0, 1, 20)
    ax.plot(t, t**2, color="tab:blue", label="series N=2")
    ax.plot(t, t**2, color="tab:green", label="series N=3")  # drawn over N=2, solid, same width
    ax.set(xlabel="$t$", ylabel="value")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
    FigureCanvasAgg(fig).draw()
    with pytest.raises(AssertionError, match="hidden under"):
        check_figure("synthetic", fig)
    ax.get_lines()[1].set(linestyle="none", marker="s", fillstyle="none")
    check_figure("synthetic", fig)
    ax.legend(loc="upper left")  # on the data
    FigureCanvasAgg(fig).draw()
    with pytest.raises(AssertionError, match="covers an axes"):
        check_figure("synthetic", fig)
