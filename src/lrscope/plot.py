"""Pictures of range tests and schedules (matplotlib, an extra: ``pip install 'lrscope[plot]'``).

Every function takes ``ax=`` (a matplotlib Axes to draw into; a new figure when None) and returns the
Axes it drew on, so pictures compose: ``ax = plot_result(r); plot_metric(r, ax=ax.twinx())``.
Nothing here shows or saves a figure by itself except :func:`save_figure`; matplotlib is imported
inside the functions, so ``import lrscope.plot`` costs nothing.

What the loss-vs-LR picture shows (:func:`plot_result`):

* the raw per-step loss, faint; the bias-corrected EMA of it (``beta=0.98``), bold;
* every rule's suggestion as a marker on the smoothed curve, labelled ``method  lr``; the default
  rule's answer is also in the title, so the answer can be read without the table;
* candidate LRs (distinct local minima) as arrows pointing down at the curve;
* where the loss diverged (red dashed line labelled "diverged"): where the sweep stopped when its stop
  rule fired, else where the analysis (:func:`lrscope.analysis.curve.prepare_curve`) cuts the curve
  because the loss blew up — a sweep that ran to its last step can still have diverged near the end;
* a log learning-rate axis for exponential sweeps.

Legends of the loss pictures go below the axes when the figure has a layout engine (:func:`new_figure`
and the figures made here are ``constrained``), so they never cover the curve or the suggestion labels;
on a figure without one they fall back to matplotlib's ``loc="best"``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from lrscope._format import curve_end, format_lr, metric_label, stop_text
from lrscope._io import atomic_write
from lrscope.analysis.smoothing import DEFAULT_BETA, ema
from lrscope.analysis.stop import STOP_DIVERGED, STOP_NONFINITE
from lrscope.analysis.types import Bounds, Suggestion

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from lrscope.result import RangeTestResult
    from lrscope.schedules import Schedule

__all__ = [
    "IMAGE_FORMATS",
    "new_figure",
    "plot_lr_steps",
    "plot_metric",
    "plot_metric_runs",
    "plot_result",
    "plot_runs",
    "plot_schedule",
    "save_figure",
    "to_png",
]

#: File extensions :func:`save_figure` writes, and the matplotlib format of each.
IMAGE_FORMATS = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg", ".svg": "svg", ".pdf": "pdf"}

_INSTALL_HINT = "plotting needs matplotlib: pip install 'lrscope[plot]'"
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_DIVERGED = (STOP_DIVERGED, STOP_NONFINITE)


def _mpl() -> Any:
    """Import matplotlib (with the install hint when missing)."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_INSTALL_HINT) from exc
    return matplotlib


def _headless() -> bool:
    if os.environ.get("MPLBACKEND"):
        return False  # the user chose
    if os.name == "nt" or os.uname().sysname == "Darwin":
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _axes(ax: Any, figsize: tuple[float, float] = (7.5, 4.8)) -> Axes:
    """``ax`` itself, or the Axes of a new pyplot figure (Agg when there is no display)."""
    if ax is not None:
        return ax
    mpl = _mpl()
    if _headless() and "matplotlib.pyplot" not in __import__("sys").modules:
        mpl.use("Agg")
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=figsize, layout="constrained")
    return new_ax


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (7.5, 4.8)) -> tuple[Figure, Any]:
    """A figure outside pyplot (no global state, no backend, nothing to close): ``(fig, axes)``.

    Use it for files and reports; the plotting functions draw into its axes via ``ax=``.
    """
    _mpl()
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True)
    return fig, axes


def _fmt_lr(x: float) -> str:
    """Every LR on a figure: the one format of the terminal and the report (:func:`lrscope._format.format_lr`)."""
    return format_lr(x)


def _no_points(ax: Any, result: RangeTestResult, what: str = "") -> None:
    """Say on the axes that there is nothing to draw, and why (instead of an empty axis)."""
    if len(result) == 0:
        msg = f"no points recorded: the run stopped before its first step\n({stop_text(result)})"
    else:
        msg = f"no points: {what or 'this curve'} was never recorded in this run's {len(result)} steps"
    import textwrap

    msg = "\n".join(textwrap.fill(part, 48) for part in msg.split("\n"))
    ax.text(0.5, 0.5, msg, transform=ax.transAxes, ha="center", va="center", fontsize=10, color="0.25",
            gid="no_points")
    ax.set_xticks([])  # an empty axis has no scale to show
    ax.set_yticks([])
    ax.minorticks_off()


def _log_x(result: RangeTestResult, log_x: bool | None) -> bool:
    return result.sweep == "exp" if log_x is None else bool(log_x)


def _curve_y_at(lrs: np.ndarray, values: np.ndarray, s: Suggestion) -> float:
    """The y of suggestion ``s`` on a curve: the value at its index, else interpolated in log(lr)."""
    if s.index is not None and 0 <= s.index < len(values) and math.isfinite(values[s.index]):
        return float(values[s.index])
    keep = np.isfinite(values)
    if not np.any(keep) or s.lr is None:
        return math.nan
    x, y = np.log(lrs[keep]), values[keep]
    order = np.argsort(x)
    return float(np.interp(math.log(s.lr), x[order], y[order]))


def _y_limits(raw: np.ndarray, smooth: np.ndarray) -> tuple[float, float] | None:
    """Limits that show the dip and clip the blow-up: from the lowest smoothed loss to a little above
    the starting loss (or the highest smoothed loss, when that is lower)."""
    fin = smooth[np.isfinite(smooth)]
    if fin.size == 0:
        fin = raw[np.isfinite(raw)]
    if fin.size == 0:
        return None
    lo, hi, start = float(fin.min()), float(fin.max()), float(fin[0])
    raw_fin = raw[np.isfinite(raw)]
    if raw_fin.size:  # the raw noise under the dip stays visible
        lo = min(lo, float(np.quantile(raw_fin, 0.02)))
    top = min(hi, start + max(start - lo, 0.0) * 0.6) if start > lo else hi
    if raw_fin.size:  # let the raw noise show, but not the divergence
        top = max(top, min(float(np.quantile(raw_fin, 0.9)), start + max(start - lo, 0.0)))
    span = top - lo
    if span <= 0:
        span = abs(lo) * 0.1 or 1.0
    return lo - 0.36 * span, top + 0.22 * span


def _non_negative_axis(ax: Any, losses: np.ndarray, limits: tuple[float, float]) -> None:
    """A loss that is never negative gets an axis that starts at 0: ticks and the left spine stop there.

    The limits reach below the curve to make room for the suggestion labels; below 0 that room is a
    shaded band with no scale, so no tick claims a loss of -0.5.
    """
    fin = losses[np.isfinite(losses)]
    lo, hi = limits
    if fin.size == 0 or float(fin.min()) < 0 or lo >= 0:
        return
    from matplotlib.ticker import AutoLocator

    class _NonNegativeLocator(AutoLocator):
        def tick_values(self, vmin: float, vmax: float) -> Any:
            ticks = np.asarray(super().tick_values(vmin, vmax), dtype=np.float64)
            return ticks[ticks >= 0]

    ax.yaxis.set_major_locator(_NonNegativeLocator())
    ax.spines["left"].set_bounds(0.0, hi)
    ax.axhspan(lo, 0.0, color="0.5", alpha=0.06, lw=0, zorder=0, gid="label_band")


def _mark_clipped(ax: Any, lrs: np.ndarray, losses: np.ndarray, top: float, color: str, ylabel: str) -> None:
    """Raw points above the top of the axis (the blow-up the limits leave out) as small triangles on the
    top edge, with a legend entry that says how many and how high they go."""
    with np.errstate(invalid="ignore"):
        above = np.isfinite(losses) & (losses > top)
    n = int(above.sum())
    if n == 0:
        return
    highest = float(np.max(losses[above]))
    ax.plot(lrs[above], np.full(n, top), linestyle="none", marker="^", markersize=4.5, color=color, alpha=0.7,
            clip_on=False, zorder=4, gid="raw_clipped",
            label=f"{n} raw {ylabel} point{'s' if n > 1 else ''} above the axis (up to {highest:.4g})")


def _prepare(lrs: np.ndarray, losses: np.ndarray, sweep: str) -> Any:
    """The rules' preparation of the curve (:func:`lrscope.analysis.curve.prepare_curve`), or None when
    it is empty or not a curve the rules can read (e.g. LRs not increasing)."""
    if len(losses) == 0:
        return None
    try:
        from lrscope.analysis.curve import prepare_curve

        return prepare_curve(lrs, losses, sweep=sweep)  # type: ignore[arg-type]
    except (ImportError, ValueError):
        return None


def _smooth(lrs: np.ndarray, losses: np.ndarray, sweep: str, smoothing: str, beta: float) -> tuple[np.ndarray, int, Any]:
    """The bold curve, the first index the rules read, and the rules' prepared curve (or None).

    The bold curve is the rules' own symmetric smoothing (:func:`lrscope.analysis.curve.prepare_curve`)
    so markers sit where the rules read them, or the EMA.
    """
    if smoothing not in ("rules", "ema"):
        raise ValueError(f"Argument `smoothing` must be 'rules' or 'ema'. Received: smoothing={smoothing!r}")
    if len(losses) == 0:
        return losses, 0, None
    c = _prepare(lrs, losses, sweep)
    if smoothing == "rules" and c is not None:
        return np.asarray(c.smoothed, dtype=np.float64), int(c.start), c
    return ema(losses, beta), 0, c


def _divergence(result: RangeTestResult, lrs: np.ndarray, losses: np.ndarray, curve: Any,
                source: Any = "auto") -> tuple[float, str, str] | None:
    """Where the loss diverged: ``(lr, short label, legend label)``, or None when it did not.

    The sweep's own stop when its stop rule fired (``stop_reason`` diverged / non-finite); otherwise the
    point where the analysis (:func:`lrscope.analysis.curve.prepare_curve`) cuts the curve because the loss
    blew up — a sweep that ran to its last step can still have diverged before it. The legend uses the
    words of the terminal and the report (:func:`lrscope._format.stop_text`): "sweep completed; the loss
    diverged from lr 0.32 on, where the rules stop reading", "sweep stopped: diverged at lr 0.32".
    """
    end = curve_end(result, source, curve)
    if end is None:
        return None
    if end.by_sweep:
        return end.lr, end.short, f"sweep stopped: {end.phrase}"
    return end.lr, end.short, f"sweep {result.stop_reason}; {end.phrase}"


def _draw_divergence(ax: Any, where: tuple[float, str, str], *, color: str = "red", gid: str = "divergence",
                     legend: bool = True, text: bool = True) -> None:
    """A vertical dashed line at the divergence, with a short rotated label at its top (right of it, where
    the curve has left the picture)."""
    lr, short, long = where
    ax.axvline(lr, color=color, ls="--", lw=1.4, gid=gid, label=long if legend else "_nolegend_", zorder=4)
    if text:
        ax.annotate(short, xy=(lr, 0.98), xycoords=ax.get_xaxis_transform(), xytext=(3, 0),
                    textcoords="offset points", rotation=90, ha="left", va="top", fontsize=8, color=color,
                    gid=f"{gid}_label")


def _legend(ax: Any, *, ncols: int = 2) -> Any:
    """The Axes' legend below it (clear of the curve and every label) when the figure has a layout
    engine to make room for it; else matplotlib's ``loc="best"``, computed when drawn, after the labels."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    import textwrap

    # long entries (the divergence sentence, the clipped points) wrap, so the legend never grows wider
    # than the figure and squeezes the axes
    labels = [textwrap.fill(t, 50, break_on_hyphens=False) if len(t) > 54 else t for t in labels]
    fig = ax.figure
    engine = fig.get_layout_engine() if hasattr(fig, "get_layout_engine") else None
    if engine is None:
        return ax.legend(handles, labels, fontsize=8, loc="best", framealpha=0.9)
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties
    from matplotlib.transforms import ScaledTranslation

    rc = mpl.rcParams
    tick = FontProperties(size=rc["xtick.labelsize"]).get_size_in_points()
    label = FontProperties(size=rc["axes.labelsize"]).get_size_in_points()
    # below the tick labels (x1.5: log-axis labels are superscripted) and the x label
    drop = rc["xtick.major.size"] + rc["xtick.major.pad"] + 1.5 * tick + float(ax.xaxis.labelpad) + 1.3 * label + 3
    anchor = ax.transAxes + ScaledTranslation(0, -drop / 72, fig.dpi_scale_trans)
    return ax.legend(handles, labels, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=anchor,
                     ncols=max(1, min(ncols, len(handles))), framealpha=0.9)


def plot_result(
    result: RangeTestResult,
    ax: Any = None,
    *,
    source: Literal["auto", "loss", "val_loss"] = "auto",
    methods: Sequence[str] | None = None,
    suggestions: Mapping[str, Suggestion] | None = None,
    show_raw: bool = True,
    show_candidates: bool = True,
    show_divergence: bool = True,
    show_bounds: bool = True,
    smoothing: Literal["rules", "ema"] = "rules",
    beta: float = DEFAULT_BETA,
    log_x: bool | None = None,
    color: str | None = None,
    label: str | None = None,
    title: str | bool = True,
) -> Axes:
    """Loss vs learning rate, with every suggestion marked and labelled.

    Args:
        result: the range test to draw.
        ax: Axes to draw into (a new figure when None).
        source: which loss curve (see :meth:`RangeTestResult.curve`).
        methods: rule names to mark (default: every registered rule); ``[]`` marks none.
        suggestions: precomputed suggestions by name (overrides ``methods``).
        show_raw: draw the raw loss faintly behind the smoothed one.
        show_candidates: mark candidate LRs (:meth:`RangeTestResult.candidates`) with arrows.
        show_divergence: mark where the loss diverged: where the sweep stopped when its stop rule
            fired, else where the analysis cuts the curve because the loss blew up.
        show_bounds: shade the loss curve's bounds for cyclical schedules (:meth:`RangeTestResult.bounds`),
            the bounds the terminal and the report print.
        smoothing: the bold curve: ``"rules"`` — the symmetric smoothing the suggestion rules read
            (:func:`lrscope.analysis.curve.prepare_curve`; it ends where they stop reading, and the noisy
            start they skip is shaded) — or ``"ema"``, the causal EMA the stop rule reads (it lags).
        beta: EMA factor when ``smoothing="ema"``.
        log_x: log LR axis (default: True for exponential sweeps).
        color: colour of the loss curves.
        label: legend label of the smoothed curve.
        title: True for a title that states the default suggestion, a string, or False for none.

    Returns:
        The Axes drawn on.

    Raises:
        ImportError: without matplotlib.
        ValueError: for a ``source`` the run did not record.

    Example:
        >>> ax = result.plot()                      # doctest: +SKIP
        >>> ax.figure.savefig("lr_find.png")        # doctest: +SKIP
    """
    ax = _axes(ax)
    lrs, losses = result.curve(source)
    ylabel = "validation loss" if result.loss_source(source) == "val_loss" else "training loss"
    if _log_x(result, log_x):
        ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(ylabel)
    if len(lrs) == 0:  # Ctrl-C before the first step, or a validation loss never evaluated
        _no_points(ax, result, f"the {ylabel}")
        if title is True:
            ax.set_title("LR range test: no points", fontsize=11)
        elif title:
            ax.set_title(str(title), fontsize=11)
        return ax
    smooth, start, prepared = _smooth(lrs, losses, result.sweep, smoothing, beta)
    smooth_label = f"smoothed {ylabel} (EMA β={beta:g})" if smoothing == "ema" else f"smoothed {ylabel} (as the rules read it)"
    base_color = color or "C0"
    if show_raw:
        ax.plot(lrs, np.where(np.isfinite(losses), losses, np.nan), color=base_color, alpha=0.28, lw=0.9,
                label=f"raw {ylabel}", gid="raw_loss")
    ax.plot(lrs, smooth, color=base_color, lw=2.2, label=label or smooth_label,
            gid="smoothed_loss")
    ax.grid(True, which="major", alpha=0.3)
    if 0 < start < len(lrs):
        ax.axvspan(float(lrs[0]), float(lrs[start]), color="0.5", alpha=0.08, lw=0, gid="skipped_start",
                   label="noisy start (not read by the rules)")
    limits = _y_limits(losses, smooth)
    if limits is not None:
        ax.set_ylim(*limits)
        _non_negative_axis(ax, losses, limits)
        if show_raw:
            _mark_clipped(ax, lrs, losses, limits[1], base_color, ylabel)

    # --- the loss-curve bounds the terminal and the report give "for cyclical schedules" ---------------------
    if show_bounds:
        try:
            b = result.bounds(result.loss_source(source))
        except ValueError:
            b = None
        if b is not None and b.found:
            assert b.base_lr is not None and b.max_lr is not None
            ax.axvspan(b.base_lr, b.max_lr, color="C2", alpha=0.10, lw=0, zorder=0, gid="loss_bounds",
                       label=f"bounds for cyclical schedules: {format_lr(b.base_lr)} – {format_lr(b.max_lr)}")

    # --- suggestions: marker on the curve + label in the empty band under it --------------------------
    if suggestions is None:
        suggestions = _suggestions(result, source, methods)
    default = _default_method()
    names = list(suggestions)
    # Rules that give the same LR (as printed) share one marker and one label naming them all, the
    # default rule first: two markers on one spot would hide one of them and its label.
    groups: dict[str, list[Suggestion]] = {}
    for s in sorted((s for s in suggestions.values() if s.found), key=lambda s: s.lr):  # type: ignore[arg-type, return-value]
        groups.setdefault(format_lr(s.lr), []).append(s)  # type: ignore[arg-type]
    found = [sorted(g, key=lambda s: (s.method != default, names.index(next(n for n in names if suggestions[n] is s))))
             for g in groups.values()]
    # Where each LR sits across the axis, in the axis' own scale (log or linear): a label left of the
    # middle extends right, the others extend left, so every box stays inside the axes, clear of the
    # left spine and the y label (each box starts or ends at its LR, which lies within the data).
    log_axis = ax.get_xscale() == "log"

    def _pos(v: float) -> float:
        return math.log(v) if log_axis else v

    lo_x, hi_x = _pos(float(np.min(lrs))), _pos(float(np.max(lrs)))
    # Each label gets its own height in the band under the curve, so none overlap, and the heights are
    # ordered so that the vertical leader lines do not cross other labels.
    fracs = [((_pos(g[0].lr) - lo_x) / (hi_x - lo_x) if hi_x > lo_x else 0.5) for g in found]  # type: ignore[arg-type]
    right = [k for k, f in enumerate(fracs) if f > 0.45]  # ha="right": extend left
    left = [k for k, f in enumerate(fracs) if f <= 0.45]
    level = {k: i for i, k in enumerate(sorted(right, reverse=True))}
    level.update({k: len(right) + i for i, k in enumerate(left)})
    for k, group in enumerate(found):
        s = group[0]
        assert s.lr is not None
        methods_here = [g.method for g in group]
        i = names.index(next(n for n in names if suggestions[n] is s))
        col = f"C{(i % 9) + 1}"
        y = _curve_y_at(lrs, smooth, s)
        is_default = s.method == default
        # the default's marker is larger and on top
        ax.plot([s.lr], [y], linestyle="none", marker=_MARKERS[i % len(_MARKERS)], markersize=11 if is_default else 8,
                color=col, markeredgecolor="black", markeredgewidth=0.9 if is_default else 0.6,
                zorder=5.5 if is_default else 5, gid="suggestion:" + "+".join(methods_here))
        ha = "right" if k in level and k in right else "left"
        ax.annotate(
            f"{', '.join(methods_here)} {_fmt_lr(s.lr)}",
            xy=(s.lr, y),
            xycoords="data",
            xytext=(s.lr, 6 + 15.5 * level[k]),  # a fixed height per level (points): boxes never touch
            textcoords=("data", "axes points"),
            ha=ha,
            va="bottom",
            fontsize=8.5,
            fontweight="bold" if is_default else "normal",
            color="black",
            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec=col, lw=1.6 if is_default else 1.0, alpha=0.9),
            arrowprops=dict(arrowstyle="-", color=col, lw=0.9, shrinkA=0, shrinkB=4,
                            relpos=(1.0, 1.0) if ha == "right" else (0.0, 1.0)),
            zorder=6,
            gid="suggestion_label:" + "+".join(methods_here),
        )


    # --- candidates: arrows pointing down at the curve --------------------------------------------------
    if show_candidates and len(lrs) >= 2:
        try:
            cands = result.candidates(source=source)
        except ValueError:
            cands = []
        for c in cands:
            if c.lr is None:
                continue
            y = _curve_y_at(lrs, smooth, c)
            ax.annotate(
                f"{_fmt_lr(c.lr)}",
                xy=(c.lr, y),
                xytext=(0, 34),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7.5,
                color="0.25",
                arrowprops=dict(arrowstyle="-|>", color="0.35", lw=1.0, shrinkA=1, shrinkB=3),
                gid="candidate",
            )
        if cands:  # one legend entry for all arrows
            ax.plot([], [], marker=r"$\downarrow$", linestyle="none", color="0.35", markersize=9,
                    label="candidate (local minimum)")

    # --- divergence ---------------------------------------------------------------------------------------
    where = _divergence(result, lrs, losses, prepared, source) if show_divergence else None
    if where is not None:
        _draw_divergence(ax, where)

    if title is True:
        ax.set_title(_title(result, suggestions), fontsize=11)
    elif title:
        ax.set_title(str(title), fontsize=11)
    _legend(ax)  # last: below the axes, or "best" around everything drawn
    return ax


def _suggestions(result: RangeTestResult, source: str, methods: Sequence[str] | None) -> dict[str, Suggestion]:
    if len(result) == 0:
        return {}
    if methods is None:
        return result.suggestions(source=source)  # type: ignore[arg-type]
    return {m: result.suggest(m, source=source) for m in methods}  # type: ignore[arg-type]


def _default_method() -> str | None:
    try:
        from lrscope.analysis import rules
    except ImportError:  # pragma: no cover - rules not installed yet
        return None
    return getattr(rules, "DEFAULT_METHOD", None)


def _title(result: RangeTestResult, suggestions: Mapping[str, Suggestion]) -> str:
    default = _default_method()
    s = suggestions.get(default) if default else None
    if s is None and suggestions:
        s = next((v for v in suggestions.values() if v.found), None)
    if s is None:
        return "LR range test"
    if not s.found:
        return f"LR range test: no suggestion from {s.method}"
    return f"LR range test — suggested lr ≈ {s.nice:g}  ({s.method}: {s.lr:.3g})"


def plot_lr_steps(result: RangeTestResult, ax: Any = None, *, log_y: bool | None = None, color: str | None = None,
                  label: str | None = None, mark_suggestion: bool = True) -> Axes:
    """Learning rate vs optimizer step of a sweep (where it stopped is marked when it diverged).

    Args:
        result: the range test.
        ax: Axes to draw into (a new figure when None).
        log_y: log LR axis (default: True for exponential sweeps).
        color: line colour.
        label: legend label.
        mark_suggestion: draw the default rule's suggestion as a horizontal line.

    Returns:
        The Axes drawn on.
    """
    ax = _axes(ax)
    ax.plot(result.steps, result.lrs, color=color or "C0", lw=2, label=label or "learning rate", gid="lr")
    if _log_x(result, log_y):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.grid(True, alpha=0.3)
    if len(result) == 0:
        _no_points(ax, result)
        ax.set_title("LR schedule of the range test: no points", fontsize=11)
        return ax
    if result.stop_reason in _DIVERGED:
        end = curve_end(result)
        assert end is not None
        ax.axvline(float(result.steps[-1]), color="red", ls=":", lw=1.5, gid="divergence",  # type: ignore[index]
                   label=f"sweep stopped: {end.phrase} (step {int(result.steps[-1])})")  # type: ignore[index]
    if mark_suggestion and len(result) >= 2:
        s = result.suggest()
        if s.found:
            assert s.lr is not None
            ax.axhline(s.lr, color="C1", ls="--", lw=1.2, gid="suggestion",
                       label=f"suggested lr {_fmt_lr(s.lr)} ({s.method})")
    # what ran (first → last recorded LR over the recorded steps); the plan, when it differs, apart
    ran = f"{result.sweep} sweep {format_lr(result.lrs[0])} → {format_lr(result.lrs[-1])} over {len(result)} steps"
    cfg = result.config
    p_start, p_end, p_steps = cfg.get("start_lr"), cfg.get("end_lr"), cfg.get("num_steps")
    planned = ""
    if isinstance(p_start, (int, float)) and isinstance(p_end, (int, float)):
        plan = f"{format_lr(p_start)} → {format_lr(p_end)}" + (f" over {p_steps} steps" if isinstance(p_steps, int) else "")
        if format_lr(p_end) != format_lr(result.lrs[-1]) or (isinstance(p_steps, int) and p_steps != len(result)):
            planned = f"\nplanned {plan}; {result.stop_reason}"
    ax.set_title(f"LR schedule of the range test: {ran}{planned}", fontsize=11)
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_metric(
    result: RangeTestResult,
    metric: str | None = None,
    ax: Any = None,
    *,
    bounds: Bounds | bool = True,
    higher_is_better: bool | None = None,
    log_x: bool | None = None,
    color: str | None = None,
    label: str | None = None,
) -> Axes:
    """A recorded metric (e.g. validation accuracy) vs learning rate, with the chosen bounds shaded.

    The bounds are :meth:`RangeTestResult.bounds` with ``source="metric"`` (Smith 2017, §3.3: base_lr where
    the metric starts to improve, max_lr where it stops improving or turns ragged).

    Args:
        result: a run that recorded ``metric``.
        metric: metric name (default: the only one, or ``"accuracy"``).
        ax: Axes to draw into (a new figure when None).
        bounds: True to compute and shade the bounds, a :class:`Bounds` to shade, False for none.
        higher_is_better: direction of the metric (default: True unless its name contains "loss").
        log_x: log LR axis (default: True for exponential sweeps).
        color: line colour.
        label: legend label (default: the metric's name).

    Returns:
        The Axes drawn on.

    The title names where the bounds come from ("accuracy bounds: base_lr 0.00041, max_lr 0.005"), so
    they are not mistaken for the loss-curve bounds reported elsewhere.

    Raises:
        ValueError: when the run recorded no such metric (names the ones it has).
    """
    name = _metric_name(result, metric)
    ax = _axes(ax)
    shown = metric_label(result, name)  # "validation accuracy" when it was measured on held-out data
    values = result.metrics[name]
    keep = np.isfinite(values)
    lrs, vals = result.lrs[keep], values[keep]
    if _log_x(result, log_x):
        ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(shown)
    if len(vals) == 0:
        _no_points(ax, result, f"the {shown}")
        ax.set_title(f"{shown} vs learning rate: no points", fontsize=11)
        return ax
    ax.plot(lrs, vals, color=color or "C2", lw=1.8, marker="o" if len(vals) <= 40 else None, markersize=3.5,
            label=label or shown, gid="metric")
    ax.grid(True, alpha=0.3)
    b = _metric_bounds(result, name, bounds, higher_is_better)
    if b is not None and b.found:
        assert b.base_lr is not None and b.max_lr is not None
        read_from = _bounds_source(b, shown)
        ax.axvspan(b.base_lr, b.max_lr, color="C2", alpha=0.15, gid="bounds",
                   label=f"{read_from} bounds {_fmt_lr(b.base_lr)} – {_fmt_lr(b.max_lr)}")
        for x, what, ha in ((b.base_lr, "base_lr", "right"), (b.max_lr, "max_lr", "left")):
            ax.axvline(x, color="C2", lw=1, ls="--")
            ax.annotate(f"{what} {_fmt_lr(x)}", xy=(x, 0.03), xycoords=ax.get_xaxis_transform(), ha=ha,
                        va="bottom", xytext=(-3 if ha == "right" else 3, 0), textcoords="offset points", fontsize=8.5, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="C2", alpha=0.9),
                        gid=f"bound:{what}")
        ax.set_title(f"{read_from} bounds: base_lr {_fmt_lr(b.base_lr)}, max_lr {_fmt_lr(b.max_lr)}", fontsize=11)
    else:
        ax.set_title(f"{shown} vs learning rate", fontsize=11)
        if b is not None:
            ax.text(0.5, 0.03, f"no bounds: {b.reason}", transform=ax.transAxes, ha="center", va="bottom",
                    fontsize=8, color="0.3", wrap=True, gid="bounds_reason")
    ax.legend(fontsize=8, loc="best")
    return ax


def _metric_name(result: RangeTestResult, metric: str | None) -> str:
    """The metric to draw (default: the only one, or ``"accuracy"``); ValueError naming the ones recorded."""
    if not result.metrics:
        raise ValueError("This run recorded no metric to plot; run the range test with a metric "
                         "(e.g. `lrscope find ... --metric accuracy`). Received: metrics={}")
    name = metric or ("accuracy" if "accuracy" in result.metrics else next(iter(result.metrics)))
    if name not in result.metrics:
        raise ValueError(f"Argument `metric` must be one of {sorted(result.metrics)}. Received: metric={name!r}")
    return name


def _metric_bounds(result: RangeTestResult, name: str, bounds: Bounds | bool, higher_is_better: bool | None) -> Bounds | None:
    """The bounds to shade: the given ones, the metric curve's (an abstention when it cannot tell), or None."""
    if isinstance(bounds, Bounds):
        return bounds
    if not bounds:
        return None
    opts = {} if higher_is_better is None else {"higher_is_better": higher_is_better}
    try:
        return result.bounds("metric", metric=name, **opts)
    except ValueError as exc:
        return Bounds.abstain("metric", str(exc))


def _bounds_source(b: Bounds, name: str) -> str:
    """What the bounds were read from, for titles and labels: the metric's name, or ``"loss"`` etc."""
    return name if b.method == "metric" else b.method


def _run_labels(results: Sequence[RangeTestResult], labels: Sequence[str] | None) -> Sequence[str]:
    """The legend labels of several runs (default "run 1", "run 2", ...), checked against the runs."""
    if not results:
        raise ValueError("Argument `results` must hold at least one run. Received: results=[]")
    if labels is None:
        return [f"run {i + 1}" for i in range(len(results))]
    if len(labels) != len(results):
        raise ValueError(f"Argument `labels` must have one label per run. Received: {len(labels)} labels "
                         f"for {len(results)} runs")
    return labels


def plot_metric_runs(
    results: Sequence[RangeTestResult],
    labels: Sequence[str] | None = None,
    metric: str | None = None,
    ax: Any = None,
    *,
    bounds: bool = True,
    higher_is_better: bool | None = None,
    log_x: bool | None = None,
) -> Axes:
    """Several runs' metric-vs-LR curves overlaid, each run's metric bounds shaded in its colour.

    Each run's bounds (:meth:`RangeTestResult.bounds` with ``source="metric"``) are a light span in the
    run's colour (alpha 0.1, so overlapping spans stay readable) and are stated in its legend entry;
    unlike :func:`plot_metric` there are no base_lr / max_lr boxes, which would pile up across runs.

    Args:
        results: the runs; each must have recorded ``metric``.
        labels: one legend label per run (default ``run 1``, ``run 2`` ...).
        metric: metric name (default: per run, the only one or ``"accuracy"``).
        ax: Axes to draw into (a new figure when None).
        bounds: compute and shade each run's metric bounds.
        higher_is_better: direction of the metric (default: True unless its name contains "loss").
        log_x: log LR axis (default: True when every run is an exponential sweep).

    Returns:
        The Axes drawn on.

    Raises:
        ValueError: for no runs, a label count that does not match, or a run without the metric.
    """
    labels = _run_labels(results, labels)
    names = []
    for r, lab in zip(results, labels):
        try:
            names.append(_metric_name(r, metric))
        except ValueError as exc:
            raise ValueError(f"run {lab!r}: {exc}") from None
    ax = _axes(ax)
    for i, (r, lab, name) in enumerate(zip(results, labels, names)):
        col = f"C{i % 10}"
        values = r.metrics[name]
        keep = np.isfinite(values)
        vals = values[keep]
        line = ax.plot(r.lrs[keep], vals, color=col, lw=1.8, marker="o" if len(vals) <= 40 else None, markersize=3.5,
                       label=lab, gid=f"metric:{lab}")[0]
        b = _metric_bounds(r, name, bounds, higher_is_better)
        if b is None:
            continue
        if b.found:
            assert b.base_lr is not None and b.max_lr is not None
            ax.axvspan(b.base_lr, b.max_lr, color=col, alpha=0.1, lw=0, gid=f"bounds:{lab}")
            line.set_label(f"{lab}  ({metric_label(r, name)} bounds {_fmt_lr(b.base_lr)} – {_fmt_lr(b.max_lr)})")
        else:
            line.set_label(f"{lab}  (no {metric_label(r, name)} bounds)")
    if log_x if log_x is not None else all(r.sweep == "exp" for r in results):
        ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    shown = sorted({metric_label(r, name) for r, name in zip(results, names)})
    ax.set_ylabel(" / ".join(shown))
    ax.grid(True, alpha=0.3)
    ax.set_title(f"{' / '.join(shown)} vs learning rate" + (" — each run's metric bounds shaded" if bounds else ""),
                 fontsize=11)
    _legend(ax)
    return ax


def plot_runs(
    results: Sequence[RangeTestResult],
    labels: Sequence[str] | None = None,
    ax: Any = None,
    *,
    source: Literal["auto", "loss", "val_loss"] = "auto",
    method: str | None = None,
    show_raw: bool = True,
    smoothing: Literal["rules", "ema"] = "rules",
    beta: float = DEFAULT_BETA,
    log_x: bool | None = None,
) -> Axes:
    """Several runs' loss-vs-LR curves overlaid, each with its suggestion (``method``, default rule).

    The y label names the loss drawn ("training loss", "validation loss", or "loss (training /
    validation)" when ``source="auto"`` picks different curves for different runs). Where a run's loss
    diverged (see :func:`plot_result`) a dashed line in the run's colour marks it; one legend entry
    explains those lines.

    Args:
        results: the runs.
        labels: one legend label per run (default ``run 1``, ``run 2`` ...).
        ax: Axes to draw into (a new figure when None).
        source: which loss curve of each run.
        method: the rule whose suggestion is marked on each curve (default: the library default);
            ``""`` marks none.
        show_raw: draw each raw loss faintly.
        smoothing: ``"rules"`` or ``"ema"`` (see :func:`plot_result`).
        beta: EMA factor when ``smoothing="ema"``.
        log_x: log LR axis (default: True when every run is an exponential sweep).

    Returns:
        The Axes drawn on.
    """
    labels = _run_labels(results, labels)
    if len(results) == 1:
        return plot_result(results[0], ax=ax, source=source, smoothing=smoothing, beta=beta, log_x=log_x, label=labels[0],
                           methods=None if method is None else ([method] if method else []))
    ax = _axes(ax)
    lows, highs = [], []
    diverged = False
    kinds = [r.loss_source(source) for r in results]
    mixed = len(set(kinds)) > 1  # then each legend entry says which loss its run is
    drawn: list[np.ndarray] = []
    for i, (r, lab, kind) in enumerate(zip(results, labels, kinds)):
        col = f"C{i % 10}"
        lrs, losses = r.curve(source)
        if mixed:
            lab = f"{lab} [{'validation' if kind == 'val_loss' else 'training'} loss]"
        if len(lrs) == 0:  # a run with no points: say so in its legend entry
            ax.plot([], [], color=col, lw=2, label=f"{lab}  (no points: {r.stop_reason})", gid=f"smoothed_loss:{lab}")
            continue
        drawn.append(losses)
        smooth, _, prepared = _smooth(lrs, losses, r.sweep, smoothing, beta)
        if show_raw:
            ax.plot(lrs, np.where(np.isfinite(losses), losses, np.nan), color=col, alpha=0.2, lw=0.8,
                    gid=f"raw_loss:{lab}")
        line = ax.plot(lrs, smooth, color=col, lw=2, label=lab, gid=f"smoothed_loss:{lab}")[0]
        lim = _y_limits(losses, smooth) if len(lrs) else None
        if lim:
            lows.append(lim[0])
            highs.append(lim[1])
        where = _divergence(r, lrs, losses, prepared, source)
        if where is not None:
            _draw_divergence(ax, where, color=col, gid=f"divergence:{lab}", legend=False, text=False)
            diverged = True
        if method == "":
            continue
        s = r.suggest(method, source=source)
        if s.found:
            assert s.lr is not None
            y = _curve_y_at(lrs, smooth, s)
            ax.plot([s.lr], [y], marker=_MARKERS[i % len(_MARKERS)], markersize=8, color=col, linestyle="none",
                    markeredgecolor="black", markeredgewidth=0.6, zorder=5, gid=f"suggestion:{lab}")
            line.set_label(f"{lab}  ({s.method} {_fmt_lr(s.lr)})")
            ax.annotate(f"{_fmt_lr(s.lr)}", xy=(s.lr, y), xytext=(6, 8 + 11 * (i % 3)), textcoords="offset points",
                        fontsize=8.5, color=col, fontweight="bold", gid=f"suggestion_label:{lab}",
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8))
    if diverged:  # one legend entry for every run's divergence line
        ax.plot([], [], color="0.35", ls="--", lw=1.4, label="diverged (dashed, in the run's colour)",
                gid="divergence_legend")
    if log_x if log_x is not None else all(r.sweep == "exp" for r in results):
        ax.set_xscale("log")
    if lows:
        fin = np.concatenate(drawn)
        fin = fin[np.isfinite(fin)]
        bottom = min(lows)
        if fin.size and float(fin.min()) >= 0 > bottom:  # no labels to make room for: a loss axis from 0
            bottom = 0.0
        ax.set_ylim(bottom, max(highs))
    if not drawn:
        _no_points(ax, results[0])
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss (training / validation)" if mixed
                  else "validation loss" if kinds[0] == "val_loss" else "training loss")
    ax.grid(True, alpha=0.3)
    which = method or _default_method() or "default rule"
    ax.set_title(f"LR range tests compared (marked: {which} suggestion)" if method != "" else "LR range tests compared",
                 fontsize=11)
    _legend(ax)
    return ax


def plot_schedule(
    schedule: Schedule,
    num_steps: int | None = None,
    ax: Any = None,
    *,
    steps_per_epoch: int | None = None,
    log_y: bool = False,
    label: str | None = None,
    color: str | None = None,
    title: str | None = None,
) -> Axes:
    """A schedule's learning rate vs step (``schedule.preview(num_steps)``).

    Args:
        schedule: any :class:`lrscope.schedules.Schedule`.
        num_steps: how many steps to draw (default: the schedule's ``total_steps``).
        ax: Axes to draw into (a new figure when None).
        steps_per_epoch: draw faint epoch boundaries and a secondary epoch axis.
        log_y: log LR axis.
        label: legend label (default: the schedule's class name).
        color: line colour.
        title: the title (default: names the schedule and its LR range).

    Returns:
        The Axes drawn on.
    """
    steps, lrs = schedule.preview(num_steps)
    ax = _axes(ax)
    name = label or type(schedule).__name__
    ax.plot(steps, lrs, color=color or "C0", lw=2, label=name, gid="schedule")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.grid(True, alpha=0.3)
    if steps_per_epoch and len(steps):
        last = int(steps[-1])
        for e in range(steps_per_epoch, last + 1, steps_per_epoch):
            ax.axvline(e, color="0.6", lw=0.6, ls="--", zorder=0)
        spe = float(steps_per_epoch)
        sec = ax.secondary_xaxis("top", functions=(lambda s: s / spe, lambda e: e * spe))
        sec.set_xlabel("epoch")
    if len(lrs):
        lo, hi = float(np.min(lrs)), float(np.max(lrs))
        ax.set_title(title or f"{name}: lr {_fmt_lr(lo)} – {_fmt_lr(hi)} over {len(steps)} steps", fontsize=11)
    return ax


# ----------------------------------------------------------------------------------------- files


def _figure_of(fig_or_ax: Any) -> Figure:
    fig = getattr(fig_or_ax, "figure", None)
    if fig is not None and not hasattr(fig_or_ax, "savefig"):
        return fig.get_figure(root=True) if hasattr(fig, "get_figure") else fig
    return fig_or_ax


def image_format(path: str | os.PathLike[str]) -> str:
    """The matplotlib format for ``path``'s extension; ValueError naming the supported ones."""
    ext = Path(path).suffix.lower()
    if ext not in IMAGE_FORMATS:
        raise ValueError(
            f"Cannot tell the image format from {str(path)!r}: the extension must be one of "
            f"{', '.join(sorted(IMAGE_FORMATS))}. Received: {ext or 'no extension'}"
        )
    return IMAGE_FORMATS[ext]


def save_figure(fig_or_ax: Any, path: str | os.PathLike[str], *, dpi: int = 130) -> Path:
    """Write a figure (or the figure of an Axes) to ``path``, the format given by the extension.

    The file is written to a temporary name and renamed into place, so a failure leaves no partial file.

    Args:
        fig_or_ax: a Figure or an Axes.
        path: ``.png``, ``.jpg``/``.jpeg``, ``.svg`` or ``.pdf``.
        dpi: resolution of raster formats.

    Returns:
        The path written.

    Raises:
        ValueError: for an unsupported extension.
    """
    path = Path(path)
    fmt = image_format(path)
    fig = _figure_of(fig_or_ax)
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)  # render first: a drawing error writes nothing
    atomic_write(path, buf.getvalue())
    return path


def to_png(fig_or_ax: Any, *, dpi: int = 110) -> bytes:
    """PNG bytes of a figure (or an Axes' figure), e.g. to embed in HTML."""
    import io

    buf = io.BytesIO()
    _figure_of(fig_or_ax).savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
