"""Cyclical-LR bounds (``base_lr``, ``max_lr``) read from a range test (Smith 2015, section 3.3).

Smith's recipe: run the LR range test and note "the learning rate value when the accuracy starts
to increase and when the accuracy slows, becomes ragged, or starts to fall"; those two are good
``base_lr`` and ``max_lr``. lrscope reads them as fixed fractions of the curve's total change,
on the symmetric smoothed curve of :func:`~lrscope.analysis.curve.prepare_curve` (same trimming,
same noise test: a curve that says nothing gives ``Bounds.abstain`` with its reason):

* **loss** (:func:`loss_bounds`): with ``L0`` the smoothed loss at the start of the readable
  window and ``drop = L0 - min``, ``base_lr`` is the first LR where the loss is
  ``base_fraction`` (10 %) of the way down, ``max_lr`` the first where it is ``max_fraction``
  (90 %) of the way down: the fall has slowed, before the minimum and the blow-up after it. It is
  capped ``min_gap`` (half a decade, the ``drop`` rule's cap) below the lowest loss, because a cycle
  spends many steps at ``max_lr``, and a fall that runs on almost to the blow-up puts its 90 % point
  at the edge of divergence (on the quality benchmark's triangular tasks this took the worst regret
  from 70.8 % to 1.7 %).
* **metric** (:func:`metric_bounds`, e.g. accuracy): the same on the metric's rise (``A0`` to its
  peak): ``base_lr`` where 10 % of the rise is done, ``max_lr`` the first of: 90 % of the rise
  done (it plateaus — always before the peak, where it falls), or the curve turning ragged (its
  local noise, a running MAD of second differences, exceeds ``ragged_factor`` x its level below
  ``base_lr``).

Reference: L. N. Smith, "Cyclical Learning Rates for Training Neural Networks", 2015/2017, §3.3.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from lrscope.analysis.curve import Curve, Sweep, prepare_curve
from lrscope.analysis.smoothing import median_filter
from lrscope.analysis.types import Bounds

_RAGGED_WINDOW = 9
#: decades ``max_lr`` keeps below the lowest loss (the ``drop`` rule's cap)
DEFAULT_MIN_GAP = 0.5
_RAGGED_FLOOR = 0.02


def _check_fractions(lo_name: str, lo: object, hi_name: str, hi: object) -> tuple[float, float]:
    for name, v in ((lo_name, lo), (hi_name, hi)):
        if not (isinstance(v, (int, float)) and 0 < v < 1):
            raise ValueError(f"Argument `{name}` must be in (0, 1). Received: {name}={v!r}")
    if not lo < hi:  # type: ignore[operator]
        raise ValueError(f"Argument `{hi_name}` must be greater than `{lo_name}`. Received: {lo_name}={lo!r}, {hi_name}={hi!r}")
    return float(lo), float(hi)  # type: ignore[arg-type]


def _first_below(curve: Curve, level: float) -> int:
    """First index in [start, i_min] where the smoothed curve is at or below ``level``."""
    y = curve.smoothed[curve.start : curve.i_min + 1]
    with np.errstate(invalid="ignore"):
        hits = np.flatnonzero(y <= level)
    return curve.start + int(hits[0]) if hits.size else curve.i_min


def _details(curve: Curve, **more: Any) -> dict[str, Any]:
    d = curve.summary()
    d.update({k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in more.items()})
    return d


def loss_bounds(
    lrs: ArrayLike,
    losses: ArrayLike,
    *,
    sweep: Sweep | None = None,
    base_fraction: float = 0.1,
    max_fraction: float = 0.9,
    min_gap: float | None = DEFAULT_MIN_GAP,
    **options: Any,
) -> Bounds:
    """``base_lr`` where the loss starts to fall, ``max_lr`` where it stops falling.

    Formula: ``L0`` = smoothed loss at the window start, ``drop = L0 - min``;
    ``base_lr = lrs[first i: smoothed_i <= L0 - base_fraction * drop]``,
    ``max_lr = lrs[first i: smoothed_i <= L0 - max_fraction * drop]`` (Smith 2015 §3.3).

    Args:
        lrs: learning rates; losses: raw losses (NaN/inf allowed); sweep: ``"exp"``/``"linear"``/None.
        base_fraction: fraction of the fall done at ``base_lr`` (0 < . < max_fraction).
        max_fraction: fraction of the fall done at ``max_lr`` (< 1).
        min_gap: ``max_lr`` stays at least this many decades below the LR of the lowest loss (the
            turn, beyond which training diverges; the cap of the ``drop`` rule); None: no cap.
            A cycle spends many steps at ``max_lr``: on a curve that falls almost to its blow-up,
            90 % of the fall can lie a tenth of a decade from it (the quality benchmark's triangular
            tasks, ``docs/quality.md``).
        **options: curve preparation keywords (:func:`~lrscope.analysis.curve.prepare_curve`).

    Returns:
        :class:`Bounds`, or ``Bounds.abstain`` with the reason (also when the cap leaves no range
        between ``base_lr`` and ``max_lr``).

    Raises:
        ValueError: for malformed input or fractions.

    Example:
        >>> import numpy as np
        >>> lrs = np.logspace(-6, 0, 301)
        >>> b = loss_bounds(lrs, 2 - np.tanh((np.log10(lrs) + 3) / 0.5))
        >>> round(float(np.log10(b.base_lr)), 1), round(float(np.log10(b.max_lr)), 1)
        (-3.6, -2.4)
    """
    bf, mf = _check_fractions("base_fraction", base_fraction, "max_fraction", max_fraction)
    if min_gap is not None and not (isinstance(min_gap, (int, float)) and not isinstance(min_gap, bool)
                                    and math.isfinite(min_gap) and min_gap >= 0):
        raise ValueError(f"Argument `min_gap` must be a finite number of decades >= 0, or None. Received: min_gap={min_gap!r}")
    curve = prepare_curve(lrs, losses, sweep=sweep, **options)
    return _bounds_from_curve(curve, "loss", bf, mf, ragged_factor=None, higher_is_better=False, min_gap=min_gap)


def metric_bounds(
    lrs: ArrayLike,
    metric: ArrayLike,
    *,
    higher_is_better: bool = True,
    sweep: Sweep | None = None,
    base_fraction: float = 0.1,
    plateau_fraction: float = 0.9,
    ragged_factor: float | None = 3.0,
    **options: Any,
) -> Bounds:
    """``base_lr`` where the metric starts to improve, ``max_lr`` where it plateaus or turns ragged.

    Formula: with ``A0`` the smoothed metric at the window start and ``rise = peak - A0``,
    ``base_lr`` is the first LR with ``A >= A0 + base_fraction * rise`` and ``max_lr`` the first
    of ``A >= A0 + plateau_fraction * rise`` and the start of raggedness (see module docstring).
    For ``higher_is_better=False`` (an error rate, a validation loss) the metric is negated.
    The curve is not cut at a multiple of its best (``diverge_threshold`` defaults to None here).

    Args:
        lrs: learning rates; metric: metric per LR (NaN/inf allowed); higher_is_better: its sense.
        sweep: ``"exp"``/``"linear"``/None (infer).
        base_fraction: fraction of the rise done at ``base_lr``.
        plateau_fraction: fraction of the rise that counts as the plateau.
        ragged_factor: local-noise multiple that counts as ragged (> 1), or None to ignore raggedness.
        **options: curve preparation keywords.

    Returns:
        :class:`Bounds` (method ``"metric"``), or ``Bounds.abstain`` with the reason.

    Raises:
        ValueError: for malformed input or options.

    Example:
        >>> import numpy as np
        >>> lrs = np.logspace(-6, 0, 301)
        >>> acc = 0.1 + 0.8 / (1 + np.exp(-(np.log10(lrs) + 3) / 0.3))
        >>> b = metric_bounds(lrs, acc)
        >>> round(float(np.log10(b.base_lr)), 1), round(float(np.log10(b.max_lr)), 1)
        (-3.7, -2.3)
    """
    bf, pf = _check_fractions("base_fraction", base_fraction, "plateau_fraction", plateau_fraction)
    if ragged_factor is not None and not (isinstance(ragged_factor, (int, float)) and math.isfinite(ragged_factor) and ragged_factor > 1):
        raise ValueError(f"Argument `ragged_factor` must be a number > 1, or None. Received: ragged_factor={ragged_factor!r}")
    if not isinstance(higher_is_better, bool):
        raise ValueError(f"Argument `higher_is_better` must be a bool. Received: higher_is_better={higher_is_better!r}")
    options.setdefault("diverge_threshold", None)
    try:
        m = np.array(metric, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Argument `metric` must be a 1-D array of real numbers. Received: {metric!r:.80}") from exc
    with np.errstate(all="ignore"):
        lossish = -m if higher_is_better else m
    curve = prepare_curve(lrs, lossish, sweep=sweep, **options)
    return _bounds_from_curve(curve, "metric", bf, pf, ragged_factor=ragged_factor, higher_is_better=higher_is_better)


def _bounds_from_curve(
    curve: Curve, method: str, lo_frac: float, hi_frac: float, *, ragged_factor: float | None, higher_is_better: bool,
    min_gap: float | None = None,
) -> Bounds:
    if not curve.ok:
        assert curve.problem is not None
        reason = curve.problem
        if method == "metric":
            reason = reason.replace("the loss", "the metric's shortfall") if higher_is_better else reason
        return Bounds.abstain(method, reason, **curve.summary())
    first = curve.start + int(np.flatnonzero(np.isfinite(curve.smoothed[curve.window]))[0])
    level = float(curve.smoothed[first])
    i_lo = _first_below(curve, level - lo_frac * curve.drop)
    i_hi = _first_below(curve, level - hi_frac * curve.drop)
    why_hi = f"{hi_frac:.0%} of the way"
    if ragged_factor is not None and i_hi > i_lo:
        i_rag = _ragged_from(curve, first, i_lo, i_hi, ragged_factor)
        if i_rag is not None:
            i_hi, why_hi = i_rag, "where the curve turns ragged"
    if i_hi <= i_lo:
        return Bounds.abstain(
            method,
            f"the curve goes from {lo_frac:.0%} to {hi_frac:.0%} of its change within one step "
            f"(at lr={curve.lrs[i_lo]:.3g}): no range to cycle over",
            **curve.summary(),
        )
    if min_gap is not None:
        cap = float(curve.lrs[curve.i_min]) / 10**min_gap
        if curve.lrs[i_hi] > cap:
            below = np.flatnonzero(curve.lrs[: i_hi + 1] <= cap)
            if below.size == 0 or below[-1] <= i_lo:
                return Bounds.abstain(
                    method,
                    f"the {hi_frac:.0%} point of the fall (lr={curve.lrs[i_hi]:.3g}) lies within {min_gap:g} decade(s) of "
                    f"the lowest loss (lr={curve.lrs[curve.i_min]:.3g}), and below that cap there is no range to cycle "
                    f"over from base_lr={curve.lrs[i_lo]:.3g}",
                    **curve.summary(),
                )
            why_hi = (f"capped {min_gap:g} decade(s) below the lowest loss (lr={curve.lrs[curve.i_min]:.3g}), where "
                      f"training becomes unstable; {hi_frac:.0%} of the way is lr={curve.lrs[i_hi]:.3g}")
            i_hi = int(below[-1])
    sign = -1.0 if (method == "metric" and higher_is_better) else 1.0
    what = "loss" if method == "loss" else "metric"
    moves = "falls" if sign > 0 else "rises"
    reason = (
        f"the smoothed {what} {moves} from {sign * level:.4g} to {sign * curve.smoothed[curve.i_min]:.4g}; "
        f"base_lr={curve.lrs[i_lo]:.3g} is {lo_frac:.0%} of the way, max_lr={curve.lrs[i_hi]:.3g} {why_hi}"
    )
    return Bounds(
        method,
        float(curve.lrs[i_lo]),
        float(curve.lrs[i_hi]),
        reason,
        details=_details(curve, base_index=i_lo, max_index=i_hi, peak_index=curve.i_min),
    )


def _ragged_from(curve: Curve, first: int, i_lo: int, i_hi: int, factor: float) -> int | None:
    """First index in (i_lo, i_hi] where the local noise exceeds factor x its level before i_lo."""
    y = curve.clean[: curve.stop]
    if y.size < 3 or i_lo - first < 3:
        return None
    d2 = np.full(y.size, np.nan)
    with np.errstate(over="ignore", invalid="ignore"):  # inf - inf on a degenerate curve is just NaN here
        d2[1:-1] = y[:-2] - 2.0 * y[1:-1] + y[2:]
    # local noise: running MAD of second differences (a smooth bend has a steady d2, noise has not)
    local = median_filter(np.abs(d2 - median_filter(d2, _RAGGED_WINDOW)), _RAGGED_WINDOW)
    base = local[first:i_lo]
    base = base[np.isfinite(base)]
    if base.size == 0:
        return None
    # floor at 2% of the whole change: a quantised metric (accuracy on a few hundred samples) is
    # noiseless before it starts to rise, and any wiggle after that would otherwise count as ragged
    ref = max(float(np.median(base)), _RAGGED_FLOOR * curve.drop)
    if not ref > 0:
        return None
    with np.errstate(invalid="ignore"):
        hits = np.flatnonzero(local[i_lo + 1 : i_hi + 1] > factor * ref)
    return i_lo + 1 + int(hits[0]) if hits.size else None
