"""Accuracy-cost frontiers: Pareto points, the area under a frontier, and plots.

Definitions (also in ``docs/reports.md``):

* A *point* is ``(cost, accuracy)``: mean tokens per question and accuracy in percent.
* :func:`pareto` keeps the points no other point dominates (another point with cost <= and
  accuracy >= , one of them strict). Duplicates keep one copy. The result is sorted by cost
  and its accuracies increase strictly.
* The *budget envelope* of a set of points is the step function
  ``A(c) = max{acc_i : cost_i <= c}`` (0 when no point fits in budget ``c``): the best
  accuracy a configuration within budget ``c`` reaches. It only changes at Pareto points.
* :func:`frontier_area` is the mean of ``A`` over ``[lo, hi]`` on a log-cost axis::

      area = 1 / ln(hi / lo) * integral_{ln lo}^{ln hi} A(e^u) du

  It is in accuracy units (percent): a program whose cheapest point already reaches 40%
  at ``lo`` and never improves scores 40. It is computed exactly (a finite sum over the
  steps), is monotone in every point's accuracy, and is never above the best accuracy.
  With ``interpolate="mix"`` the envelope is instead the upper concave hull of the points
  in linear (cost, accuracy) (:func:`mixture_hull`): what running one of two configurations
  at random per question reaches; still 0 before the cheapest point and flat after the
  dearest. Its integral on a log axis is also exact (``alpha*ln(c1/c0) + beta*(c1-c0)`` on
  a piece ``alpha + beta*c``). The default is ``"step"``. Both are monotone: raising a
  point's accuracy or adding a point never lowers the area.
* :func:`common_range` gives the cost range shared by several curves: from the largest of
  their cheapest costs to the smallest of their most expensive ones, so each curve is
  compared only where it has points.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

Point = tuple  # (cost, accuracy)


def _clean(points: Iterable[Sequence[float]]) -> list[tuple[float, float]]:
    out = []
    for p in points:
        c, a = float(p[0]), float(p[1])
        if math.isfinite(c) and math.isfinite(a) and c > 0:
            out.append((c, a))
    return out


def pareto(points: Iterable[Sequence[float]]) -> list[tuple[float, float]]:
    """The non-dominated points, sorted by cost (accuracy strictly increasing).

    Points with a non-finite or non-positive cost, or a non-finite accuracy, are ignored."""
    pts = sorted(set(_clean(points)), key=lambda p: (p[0], -p[1]))
    out: list[tuple[float, float]] = []
    best = -math.inf
    for c, a in pts:
        if a > best:
            out.append((c, a))
            best = a
    return out


def pareto_mask(points: Sequence[Sequence[float]]) -> list[bool]:
    """For each input point, whether it is on the Pareto front (a duplicate counts too)."""
    front = set(pareto(points))
    return [(float(p[0]), float(p[1])) in front for p in points]


def envelope(points: Iterable[Sequence[float]], c: float) -> float:
    """The budget envelope ``A(c)``: best accuracy among points with cost <= c (0 if none)."""
    best = 0.0
    found = False
    for pc, pa in _clean(points):
        if pc <= c and (not found or pa > best):
            best, found = pa, True
    return best if found else 0.0


def mixture_hull(points: Iterable[Sequence[float]]) -> list[tuple[float, float]]:
    """The upper concave hull, in linear (cost, accuracy), of the Pareto points: the
    accuracy-cost pairs reachable by running one of two configurations at random per
    question (cost and accuracy both mix linearly)."""
    h: list[tuple[float, float]] = []
    for p in pareto(points):
        while len(h) >= 2:
            (x0, y0), (x1, y1) = h[-2], h[-1]
            if (x1 - x0) * (p[1] - y0) - (y1 - y0) * (p[0] - x0) >= 0:
                h.pop()
            else:
                break
        h.append(p)
    return h


def frontier_area(points: list[tuple[float, float]], lo: float, hi: float,
                  interpolate: str = "step") -> float:
    """Mean of the budget envelope of ``points`` over costs ``[lo, hi]`` on a log axis.

    See the module docstring for the exact definition. ``lo == hi`` gives the envelope at
    that cost. Raises ``ValueError`` for ``lo <= 0`` or ``hi < lo``."""
    lo, hi = float(lo), float(hi)
    if not (lo > 0 and math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise ValueError(f"frontier_area needs 0 < lo <= hi, got lo={lo}, hi={hi}")
    if interpolate not in ("step", "mix"):
        raise ValueError(f"interpolate must be 'step' or 'mix', not {interpolate!r}")
    front = pareto(points) if interpolate == "step" else mixture_hull(points)
    if not front:
        return 0.0
    pieces = _pieces(front, interpolate)
    if hi == lo:
        for a, b, alpha, beta in pieces:
            if a <= lo < b:
                return alpha + beta * lo
        return 0.0
    total = 0.0
    for a, b, alpha, beta in pieces:  # value alpha + beta * c on [a, b)
        x0, x1 = max(a, lo), min(b, hi)
        if x1 > x0:
            total += alpha * math.log(x1 / x0) + beta * (x1 - x0)
    return total / math.log(hi / lo)


def _pieces(front, mode):
    """The envelope as pieces ``(a, b, alpha, beta)``: value ``alpha + beta * c`` on [a, b)."""
    out = [(0.0, front[0][0], 0.0, 0.0)]
    for (c0, a0), (c1, a1) in zip(front, front[1:]):
        if mode == "step":
            out.append((c0, c1, a0, 0.0))
        else:
            slope = (a1 - a0) / (c1 - c0)
            out.append((c0, c1, a0 - slope * c0, slope))
    out.append((front[-1][0], math.inf, front[-1][1], 0.0))
    return out


def common_range(curves: Iterable[Iterable[Sequence[float]]]) -> tuple[float, float] | None:
    """``(lo, hi)`` shared by all curves (max of minimum costs, min of maximum costs), or
    ``None`` if they do not overlap or a curve has no valid point."""
    lo, hi = -math.inf, math.inf
    any_curve = False
    for pts in curves:
        pts = _clean(pts)
        if not pts:
            return None
        any_curve = True
        cs = [c for c, _ in pts]
        lo, hi = max(lo, min(cs)), min(hi, max(cs))
    if not any_curve or lo > hi:
        return None
    return (lo, hi)


# Okabe & Ito's colour-blind-safe palette (black last: it is for emphasis), and markers
# that cycle at a different period, so (colour, marker) pairs stay distinct for 56 series.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X"]


def series_style(i: int) -> dict:
    """Colour and marker of the i-th series."""
    return {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)]}


def _draw_axis(ax, curves: dict, lo=None, hi=None, title=None, areas=None, styles=None, kinds=None):
    """One panel. A point is ``(cost, accuracy[, tag[, acc_lo, acc_hi]])``: the tag is
    written next to it, the interval drawn as a vertical error bar. ``kinds`` (label ->
    ``"seed"`` or ``"candidate"``) draws seeds dashed and thin, candidates solid and bold."""
    for i, (label, pts) in enumerate(curves.items()):
        pts = [p for p in pts if p[0] is not None and p[1] is not None and p[0] > 0]
        if not pts:
            continue
        st = styles[label] if isinstance(styles, dict) and label in styles else series_style(i)
        col, mk = st["color"], st["marker"]
        kind = (kinds or {}).get(label)
        ls, lw = ("--", 1.0) if kind == "seed" else ("-", 2.0) if kind == "candidate" else ("-", 1.4)
        pts = sorted(pts, key=lambda p: p[0])
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        mask = pareto_mask([(p[0], p[1]) for p in pts])
        area = None if not areas else areas.get(label)
        lab = label if area is None else f"{label} (area {area:.2f})"
        ax.plot(xs, ys, ls, color=col, linewidth=lw, alpha=0.85, label=lab, marker=mk, markersize=6,
                markerfacecolor=col, markeredgecolor=col)
        err = [(p[0], p[1], p[3], p[4]) for p in pts if len(p) > 4 and p[3] is not None and p[4] is not None]
        if err:
            ax.errorbar([e[0] for e in err], [e[1] for e in err],
                        yerr=[[e[1] - e[2] for e in err], [e[3] - e[1] for e in err]],
                        fmt="none", ecolor=col, elinewidth=0.9, capsize=2.5, alpha=0.7, zorder=2)
        dominated = [(x, y) for x, y, m in zip(xs, ys, mask) if not m]
        if dominated:  # hollow: another point of the same program is cheaper and as accurate
            ax.scatter([d[0] for d in dominated], [d[1] for d in dominated], marker=mk, s=36,
                       facecolors="white", edgecolors=col, zorder=3, linewidths=1.2)
        for p in pts:
            if len(p) > 2 and p[2] is not None and len(pts) > 1:
                ax.annotate(str(p[2]), (p[0], p[1]), textcoords="offset points", xytext=(4, -9),
                            fontsize=7, color=col)
    if lo is not None and hi is not None and hi > lo:
        ax.axvspan(lo, hi, color="0.93", zorder=0)
    ax.set_xscale("log")
    _token_ticks(ax)
    ax.set_xlabel("tokens per question (log scale)")
    ax.set_ylabel("accuracy (%)")
    ax.grid(True, which="both", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)


def _tokens(x: float) -> str:
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if x >= div:
            return f"{x / div:g}{suffix}"
    return f"{x:g}"


def _token_ticks(ax) -> None:
    """Token counts as 20k, 50k, 100k, 1M (minor ticks labelled at 2 and 5 only)."""
    from matplotlib.ticker import FuncFormatter

    def minor(x, _pos):
        m = x / 10 ** math.floor(math.log10(x) + 1e-9)
        return _tokens(x) if round(m) in (2, 5) and abs(m - round(m)) < 1e-6 else ""

    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: _tokens(x)))
    ax.xaxis.set_minor_formatter(FuncFormatter(minor))


def plot_frontiers(curves: dict, path, lo: float | None = None, hi: float | None = None,
                   title: str | None = None, areas: dict | None = None, **style) -> None:
    """Draw accuracy against tokens (log x axis) for several programs, one curve each.

    ``curves`` maps a label to a list of ``(cost, accuracy)``, ``(cost, accuracy, tag)`` or
    ``(cost, accuracy, tag, acc_lo, acc_hi)`` points (tag, e.g. a beta, is written next to
    the point; the interval is an error bar). Pareto-optimal points are filled, dominated
    ones hollow; the cost range ``[lo, hi]`` is shaded; ``areas`` (label -> frontier area)
    go into the legend. ``style``: see :func:`plot_frontier_panels`."""
    plot_frontier_panels([(title, curves, lo, hi, areas)], path, **style)


def plot_frontier_panels(panels: list, path, ncols: int | None = None, dpi: int = 200,
                         size: tuple | None = None, note: str | None = None, kinds: dict | None = None) -> None:
    """Several frontier plots in one figure: ``panels`` is a list of
    ``(title, curves, lo, hi, areas)``; a program keeps its colour and marker across
    panels (a colour-blind-safe palette, distinct markers). The legend sits outside the
    panels, below them; ``note`` (e.g. what the numbers next to points are) goes under it.
    The format follows the file name (``.png``, ``.svg``, ``.pdf``); ``dpi`` applies to
    PNG; ``size`` is ``(width, height)`` in inches (default: 5.5 x 4 per panel)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(1, len(panels))
    ncols = ncols or (1 if n == 1 else 2 if n <= 4 else 3)
    nrows = math.ceil(n / ncols)
    names: list = []
    for _, curves, *_ in panels:
        for k in curves:
            if k not in names:
                names.append(k)
    styles = {k: series_style(i) for i, k in enumerate(names)}
    legend_cols = 1 if len(names) <= 14 else 2
    w, h = size or (5.5 * ncols + 2.4 * legend_cols, max(4.0 * nrows, 0.22 * len(names) / legend_cols + 1.0))
    fig, axes = plt.subplots(nrows, ncols, figsize=(w, h), squeeze=False, layout="constrained")
    for ax, (title, curves, lo, hi, areas) in zip(axes.flat, panels):
        _draw_axis(ax, curves, lo, hi, title, areas, styles, kinds)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    handles, labels = [], []
    for ax in axes.flat:  # one entry per program (the first panel's label, with its area)
        for hd, lb in zip(*ax.get_legend_handles_labels()):
            base = lb.split(" (area ")[0]
            if base not in [x.split(" (area ")[0] for x in labels]:
                handles.append(hd)
                labels.append(lb if len(panels) == 1 else base)
    if handles:
        fig.legend(handles, labels, loc="outside right upper", ncol=legend_cols, fontsize=8, frameon=False)
    if note:
        fig.get_layout_engine().set(h_pad=0.08)
        fig.supxlabel(note, fontsize=8, color="0.25")
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
