"""Suggestion rules: small named functions over a loss-vs-LR curve, registered by name.

Every rule has the signature::

    rule(lrs, losses, *, sweep=None, <its own options>, **curve_options) -> Suggestion

and shares one preparation (:func:`lrscope.analysis.curve.prepare_curve`: validate, trim the
noisy start and the diverged end, remove spikes, smooth symmetrically over ``log10(lr)``, take
slopes as loss per decade, test whether the curve's fall stands out of its noise). ``curve_options``
are that function's keywords (``skip_start``, ``diverge_threshold``, ``bandwidth``, ``robust``,
``max_gap``, ``min_z``, ``flat_tol``).

A rule either suggests an LR inside the swept range ``[lrs[0], lrs[-1]]`` with a reason holding
the numbers it read, or abstains (``Suggestion.abstain``) with the reason the curve gave nothing:
flat, pure noise, too short, diverged at once, all NaN. Never a silent guess.

The fastai rules (``minimum``, ``valley``, ``slide``; fastai ``steep`` is our ``steepest``) are
implemented from their published definitions (fastai ``callback/schedule.py``, v2.5+), applied to
our smoothed, trimmed curve rather than fastai's lagging EMA.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from lrscope.analysis.curve import Curve, Sweep, prepare_curve
from lrscope.analysis.types import Confidence, Suggestion

DEFAULT_METHOD = "drop"  # chosen by the quality benchmark (issue 5, docs/quality.md); registered by analysis/robust.py
"""The rule :func:`suggest` uses when none is named (provisional: the quality benchmark decides)."""


class RuleFn(Protocol):
    """A suggestion rule: arrays in, one :class:`Suggestion` out."""

    def __call__(self, lrs: ArrayLike, losses: ArrayLike, *, sweep: Sweep | None = None, **options: Any) -> Suggestion: ...


RULES: dict[str, RuleFn] = {}
"""Registered rules by name (use :func:`register_rule` to add one)."""


def register_rule(name: str) -> Callable[[RuleFn], RuleFn]:
    """Decorator registering a rule under ``name`` (re-registering a name replaces it).

    Example:
        >>> @register_rule("first")
        ... def first(lrs, losses, *, sweep=None, **options):
        ...     return Suggestion("first", float(lrs[0]), 0, "the first LR")
        >>> "first" in available_rules()
        True
        >>> del RULES["first"]
    """
    if not (isinstance(name, str) and name):
        raise ValueError(f"Argument `name` must be a non-empty string. Received: name={name!r}")

    def deco(fn: RuleFn) -> RuleFn:
        RULES[name] = fn
        return fn

    return deco


def available_rules() -> list[str]:
    """Names of the registered rules, sorted."""
    return sorted(RULES)


def suggest(lrs: ArrayLike, losses: ArrayLike, method: str = DEFAULT_METHOD, **options: Any) -> Suggestion:
    """Suggest a learning rate with the rule named ``method``.

    Args:
        lrs: 1-D positive strictly increasing learning rates.
        losses: 1-D raw losses (NaN/inf allowed: divergence).
        method: a name from :func:`available_rules` (default :data:`DEFAULT_METHOD`).
        **options: ``sweep`` and the rule's and the curve preparation's keywords.

    Returns:
        The rule's :class:`Suggestion` (an abstention carries its reason).

    Raises:
        ValueError: for an unknown method (listing the known ones) or malformed input.

    Example:
        >>> import numpy as np
        >>> lrs = np.logspace(-6, 0, 120)
        >>> losses = 2 - np.tanh((np.log10(lrs) + 3) / 0.5)
        >>> round(float(np.log10(suggest(lrs, losses, "steepest").lr)), 1)
        -3.0
    """
    fn = RULES.get(method) if isinstance(method, str) else None
    if fn is None:
        raise ValueError(
            f"Argument `method` must be one of the registered rules: {', '.join(available_rules())}. Received: method={method!r}"
        )
    return fn(lrs, losses, **options)


def suggest_all(lrs: ArrayLike, losses: ArrayLike, **options: Any) -> dict[str, Suggestion]:
    """Every registered rule's suggestion, by name (options go to every rule; rule-specific ones
    such as ``lr_diff`` are not accepted here)."""
    return {name: RULES[name](lrs, losses, **options) for name in available_rules()}


# ------------------------------------------------------------------------------------- helpers


def _cap(conf: Confidence | None, cap: Confidence) -> Confidence | None:
    order = {"low": 0, "medium": 1, "high": 2}
    if conf is None:
        return None
    return conf if order[conf] <= order[cap] else cap


def _details(curve: Curve, **more: Any) -> dict[str, Any]:
    d = curve.summary()
    for k, v in more.items():
        if isinstance(v, (np.floating, float)):
            v = float(v) if math.isfinite(v) else None
        elif isinstance(v, np.integer):
            v = int(v)
        d[k] = v
    return d


def _abstain(method: str, curve: Curve) -> Suggestion:
    assert curve.problem is not None
    return Suggestion.abstain(method, curve.problem, **curve.summary())


def _slope_unit(curve: Curve) -> str:
    return "per decade" if curve.sweep == "exp" else "per unit LR"


def _still_falling(curve: Curve) -> bool:
    """The lowest point is the last readable one and the sweep was not stopped by divergence."""
    return curve.i_min == curve.stop - 1 and curve.stop == curve.lrs.size


# --------------------------------------------------------------------------------------- rules


@register_rule("minimum")
def minimum(lrs: ArrayLike, losses: ArrayLike, *, sweep: Sweep | None = None, **options: Any) -> Suggestion:
    """A tenth of the LR at the lowest smoothed loss (fastai ``minimum``).

    Formula: ``lr = lrs[argmin(smoothed)] / 10`` over the readable window.

    Source: fastai ``callback/schedule.py`` ``minimum``; Smith 2017/Howard & Gugger 2020 rule of
    thumb "an order of magnitude below the minimum".

    A tenth is a tenth: when it falls below the first swept LR the rule abstains (saying so)
    rather than clamp to an LR that is not a tenth of anything. ``index`` is None (the suggested
    LR is not a point of the curve); ``details["min_index"]`` is the minimum's index.

    Args:
        lrs: learning rates; losses: raw losses; sweep: ``"exp"``/``"linear"``/None (infer).
        **options: curve preparation keywords (see :func:`~lrscope.analysis.curve.prepare_curve`).

    Returns:
        The suggestion or an abstention with its reason.

    Example:
        >>> import numpy as np
        >>> lrs = np.logspace(-5, 0, 101)
        >>> round(minimum(lrs, (np.log10(lrs) + 2) ** 2).lr, 12)
        0.001
    """
    name = "minimum"
    curve = prepare_curve(lrs, losses, sweep=sweep, **options)
    if not curve.ok:
        return _abstain(name, curve)
    i = curve.i_min
    lr_min = float(curve.lrs[i])
    lr = lr_min / 10.0
    low = float(curve.smoothed[i])
    if lr < curve.lrs[0]:
        return Suggestion.abstain(
            name,
            f"the lowest smoothed loss ({low:.4g}) is at lr={lr_min:.3g}, less than a decade above the "
            f"sweep's start ({curve.lrs[0]:.3g}): a tenth of it was not swept; start the sweep lower",
            **_details(curve, min_index=i, lr_at_min=lr_min),
        )
    reason = f"a tenth of lr={lr_min:.3g}, where the smoothed loss is lowest ({low:.4g})"
    conf = curve.confidence
    if _still_falling(curve):
        reason += "; the loss was still falling at the end of the sweep, so the true minimum may lie higher"
        conf = _cap(conf, "low")
    return Suggestion(name, lr, None, reason, confidence=conf, details=_details(curve, min_index=i, lr_at_min=lr_min))


@register_rule("steepest")
def steepest(
    lrs: ArrayLike,
    losses: ArrayLike,
    *,
    sweep: Sweep | None = None,
    near_min_decades: float = 0.3,
    **options: Any,
) -> Suggestion:
    """The LR where the smoothed loss falls fastest per decade (fastai ``steep``, torch-lr-finder).

    Formula: ``i = argmin_i d(smoothed)/d(log10 lr)`` over the readable window up to the lowest
    loss (``d/d lr`` for linear sweeps). The interval is the contiguous range around ``i`` where
    the slope is at least half as steep.

    Source: Smith 2017, "Cyclical Learning Rates for Training Neural Networks" (the LR where the
    loss falls fastest); fastai ``steep``. Unlike implementations that differentiate against the
    step or the raw LR, the slope is per decade (FINDINGS 1).

    Closeness to the blow-up matters (FINDINGS 3: when the loss only falls right before it
    diverges, the steepest point is unsafe): when the steepest point lies within
    ``near_min_decades`` of the lowest loss, the reason says so and confidence is "low".

    Args:
        lrs: learning rates; losses: raw losses; sweep: ``"exp"``/``"linear"``/None (infer).
        near_min_decades: warn when the steepest point is this close (in decades) to the minimum.
        **options: curve preparation keywords.

    Returns:
        The suggestion (with interval) or an abstention with its reason.

    Example:
        >>> import numpy as np
        >>> lrs = np.logspace(-6, 0, 121)
        >>> s = steepest(lrs, 2 - np.tanh((np.log10(lrs) + 3) / 0.5))
        >>> round(float(np.log10(s.lr)), 2)
        -3.0
    """
    name = "steepest"
    if not (isinstance(near_min_decades, (int, float)) and math.isfinite(near_min_decades) and near_min_decades >= 0):
        raise ValueError(f"Argument `near_min_decades` must be a finite number >= 0. Received: near_min_decades={near_min_decades!r}")
    curve = prepare_curve(lrs, losses, sweep=sweep, **options)
    if not curve.ok:
        return _abstain(name, curve)
    lo, hi = curve.start, curve.i_min + 1
    s = curve.slope[lo:hi]
    if not np.isfinite(s).any() or np.nanmin(s) >= 0:
        return Suggestion.abstain(name, "the smoothed loss never decreases before its minimum", **curve.summary())
    i = lo + int(np.nanargmin(s))
    steep = float(curve.slope[i])
    a = i
    while a > lo and curve.slope[a - 1] <= 0.5 * steep:
        a -= 1
    b = i
    while b < hi - 1 and curve.slope[b + 1] <= 0.5 * steep:
        b += 1
    lr = float(curve.lrs[i])
    to_min = curve.decades(i, curve.i_min)
    reason = (
        f"the smoothed loss falls fastest here: {steep:.3g} {_slope_unit(curve)} at lr={lr:.3g}, "
        f"{to_min:.2f} decades below its minimum at lr={curve.lrs[curve.i_min]:.3g}"
    )
    conf = curve.confidence
    if to_min < near_min_decades and not _still_falling(curve):
        reason += "; this is close to where the loss turns up, so training here may diverge"
        conf = _cap(conf, "low")
    return Suggestion(
        name,
        lr,
        i,
        reason,
        interval=(float(curve.lrs[a]), float(curve.lrs[b])),
        confidence=conf,
        details=_details(curve, slope=steep, decades_to_min=to_min),
    )


def _longest_decreasing(y: np.ndarray) -> np.ndarray:
    """``lds[i]``: length of the longest strictly decreasing subsequence of ``y`` ending at ``i``."""
    n = y.size
    lds = np.ones(n, dtype=np.int64)
    for i in range(1, n):
        higher = y[:i] > y[i]
        if higher.any():
            lds[i] = int(lds[:i][higher].max()) + 1
    return lds


@register_rule("valley")
def valley(lrs: ArrayLike, losses: ArrayLike, *, sweep: Sweep | None = None, **options: Any) -> Suggestion:
    """A point in the middle of the longest valley of the smoothed loss (fastai ``valley``).

    Formula (on the readable window, indices local to it): ``lds[i]`` is the length of the
    longest strictly decreasing subsequence ending at ``i``; ``end`` is the first index with the
    largest ``lds``; ``begin = end - lds[end]``; with ``s = (end - begin) / 3`` the pick is
    ``begin + floor(s) + floor(s / 2)`` (clamped into the window) — about half-way along, which
    fastai's docs describe as "roughly 2/3 through the longest valley" of the plotted curve.

    Source: fastai ``callback/schedule.py`` ``valley`` (ESRI's "automated learning rate
    suggester", forums.fast.ai/t/44199/30), implemented from that definition.

    Args:
        lrs: learning rates; losses: raw losses; sweep: ``"exp"``/``"linear"``/None (infer).
        **options: curve preparation keywords.

    Returns:
        The suggestion (interval = the valley's LR range) or an abstention with its reason.

    Example:
        >>> lrs = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
        >>> valley(lrs, [5, 4, 3, 2, 1, 0, 1], skip_start=0, bandwidth=0, robust=False).lr
        0.001
    """
    name = "valley"
    curve = prepare_curve(lrs, losses, sweep=sweep, **options)
    if not curve.ok:
        return _abstain(name, curve)
    y = curve.smoothed[curve.window]
    lds = _longest_decreasing(np.where(np.isfinite(y), y, np.inf))
    end = int(np.argmax(lds))
    begin = end - int(lds[end])
    sec = (end - begin) / 3
    j = min(max(begin + int(sec) + int(sec / 2), 0), y.size - 1)
    i = curve.start + j
    lr = float(curve.lrs[i])
    v0, v1 = curve.start + max(begin, 0), curve.start + end
    reason = (
        f"the longest valley runs from lr={curve.lrs[v0]:.3g} to lr={curve.lrs[v1]:.3g} "
        f"({int(lds[end])} falling points, loss {curve.smoothed[v0]:.4g} -> {curve.smoothed[v1]:.4g}); "
        f"lr={lr:.3g} lies half-way along it"
    )
    return Suggestion(
        name,
        lr,
        i,
        reason,
        interval=(float(curve.lrs[v0]), float(curve.lrs[v1])),
        confidence=curve.confidence,
        details=_details(curve, valley_start=v0, valley_end=v1, valley_length=int(lds[end])),
    )


@register_rule("slide")
def slide(
    lrs: ArrayLike,
    losses: ArrayLike,
    *,
    sweep: Sweep | None = None,
    lr_diff: int = 15,
    thresh: float = 0.005,
    adjust_value: float = 1.0,
    **options: Any,
) -> Suggestion:
    """Wright's interval slide rule (fastai ``slide``).

    Formula: with ``g`` the slope of the smoothed loss in *loss per sweep step* (the per-decade
    slope times the median step in ``log10 lr``: identical to fastai's ``np.gradient(losses)`` on
    an even exponential sweep, and correct on uneven ones), start with ``r`` at the last readable
    point and ``l = r - lr_diff``; while ``l`` is in the window and ``|g[r] - g[l]| > thresh``,
    remember ``lrs[l]`` and move both one step left. The suggestion is the last remembered
    ``lrs[l]`` (``lrs[r0 - lr_diff]`` if the first pair already agrees) times ``adjust_value``.

    Source: fastai ``callback/schedule.py`` ``slide`` (Less Wright, 2020), from its definition.

    ``thresh`` is in loss units per step, so it depends on the loss scale and the number of steps,
    as in fastai. An ``adjust_value`` that takes the LR outside the swept range is clamped into it,
    and the reason says so.

    Args:
        lrs: learning rates; losses: raw losses; sweep: ``"exp"``/``"linear"``/None (infer).
        lr_diff: distance in steps between the two compared slopes (>= 1).
        thresh: slope difference below which the slide stops (>= 0).
        adjust_value: factor applied to the found LR (> 0).
        **options: curve preparation keywords.

    Returns:
        The suggestion or an abstention with its reason.

    Raises:
        ValueError: for a bad ``lr_diff``, ``thresh`` or ``adjust_value``.

    Example:
        >>> import numpy as np
        >>> lrs = np.logspace(-4, 0, 10)
        >>> y = [10, 8, 6, 4, 3, 2.5, 2.4, 3, 5, 9]
        >>> float(slide(lrs, y, lr_diff=3, thresh=1.5, skip_start=0, bandwidth=0, robust=False,
        ...             diverge_threshold=None).index)
        2.0
    """
    name = "slide"
    if isinstance(lr_diff, bool) or not (isinstance(lr_diff, (int, np.integer)) and lr_diff >= 1):
        raise ValueError(f"Argument `lr_diff` must be an integer >= 1. Received: lr_diff={lr_diff!r}")
    if not (isinstance(thresh, (int, float)) and math.isfinite(thresh) and thresh >= 0):
        raise ValueError(f"Argument `thresh` must be a finite number >= 0. Received: thresh={thresh!r}")
    if not (isinstance(adjust_value, (int, float)) and math.isfinite(adjust_value) and adjust_value > 0):
        raise ValueError(f"Argument `adjust_value` must be a positive number. Received: adjust_value={adjust_value!r}")
    curve = prepare_curve(lrs, losses, sweep=sweep, **options)
    if not curve.ok:
        return _abstain(name, curve)
    lo, hi = curve.start, curve.stop
    if hi - lo <= lr_diff:
        return Suggestion.abstain(
            name,
            f"only {hi - lo} readable points, not more than lr_diff={lr_diff}: too short to compare slopes",
            **curve.summary(),
        )
    step = float(np.median(np.diff(curve.x[lo:hi])))
    g = curve.slope * step
    r = hi - 1
    left = r - lr_diff
    found = left
    with np.errstate(invalid="ignore"):
        while left >= lo and abs(g[r] - g[left]) > thresh:
            found = left
            r -= 1
            left -= 1
    lr = float(curve.lrs[found]) * float(adjust_value)
    reason = (
        f"sliding left from the end, the slopes {lr_diff} steps apart first agree to within {thresh:g} "
        f"per step below lr={curve.lrs[found]:.3g}"
    )
    if adjust_value != 1:
        reason += f"; times adjust_value={adjust_value:g}"
    lo_lr, hi_lr = float(curve.lrs[0]), float(curve.lrs[-1])
    if not lo_lr <= lr <= hi_lr:
        lr = min(max(lr, lo_lr), hi_lr)
        reason += f"; clamped into the swept range to {lr:.3g}"
    return Suggestion(name, lr, found, reason, confidence=curve.confidence, details=_details(curve, slide_index=found))


# ---------------------------------------------------------------------------------- candidates


def candidates(
    lrs: ArrayLike,
    losses: ArrayLike,
    *,
    sweep: Sweep | None = None,
    closeness: float = 0.2,
    prominence: float = 0.05,
    min_ratio: float = 1.2,
    **options: Any,
) -> list[Suggestion]:
    """Every distinct local minimum of the smoothed loss that comes close to the lowest one.

    Definition, on the readable window of the smoothed curve (``drop`` = start level - lowest):

    1. local minima: interior points no higher than both neighbours (first point of a plateau),
       and the last point if the curve is still falling there;
    2. *prominence*: two neighbouring minima separated by a rise of less than
       ``max(prominence x drop, 3 standard errors)`` above the higher one are one basin; the
       higher is dropped (so noise wiggles are not minima);
    3. *closeness*: a minimum is kept when it lies within ``closeness x drop`` of the lowest loss
       (default 20 % of the curve's fall);
    4. *distinct*: from the lowest loss up, a minimum is kept only if its LR differs by a factor
       of at least ``min_ratio`` (default 1.2, i.e. 20 %) from every kept one.

    Each candidate's LR is the LR *at* that minimum (what ``minimum`` divides by ten): the
    candidates show where the curve has its basins, e.g. two valleys from two regimes.

    Args:
        lrs: learning rates; losses: raw losses; sweep: ``"exp"``/``"linear"``/None (infer).
        closeness: fraction of the drop a minimum may sit above the lowest one (>= 0).
        prominence: least rise, as a fraction of the drop, separating two minima (>= 0).
        min_ratio: least LR ratio between candidates (>= 1).
        **options: curve preparation keywords.

    Returns:
        The candidates in increasing LR order; when the curve says nothing, a one-element list
        holding the abstention (so the reason is never lost). Use ``[c for c in ... if c.found]``.

    Raises:
        ValueError: for malformed input or options.

    Example:
        >>> import numpy as np
        >>> lrs = np.logspace(-4, 0, 201)
        >>> u = np.log10(lrs)
        >>> y = 3 - np.exp(-((u + 3) / 0.2) ** 2) - np.exp(-((u + 1) / 0.2) ** 2)
        >>> [round(float(np.log10(c.lr)), 1) for c in candidates(lrs, y)]
        [-3.0, -1.0]
    """
    name = "candidates"
    for arg, v, least in (("closeness", closeness, 0.0), ("prominence", prominence, 0.0), ("min_ratio", min_ratio, 1.0)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= least):
            raise ValueError(f"Argument `{arg}` must be a finite number >= {least:g}. Received: {arg}={v!r}")
    curve = prepare_curve(lrs, losses, sweep=sweep, **options)
    if not curve.ok:
        return [_abstain(name, curve)]
    lo, hi = curve.start, curve.stop
    y = curve.smoothed
    mins: list[int] = []
    for i in range(lo + 1, hi):
        if not y[i] < y[i - 1]:  # must be entered from above (NaN compares False)
            continue
        j = i
        while j + 1 < hi and y[j + 1] == y[i]:  # first point of a plateau stands for it
            j += 1
        if j == hi - 1 or y[j + 1] > y[i]:
            mins.append(i)
    if curve.i_min not in mins:
        mins.append(curve.i_min)
        mins.sort()
    # merge basins separated by less than the prominence
    changed = True
    while changed and len(mins) > 1:
        changed = False
        for k in range(len(mins) - 1):
            a, b = mins[k], mins[k + 1]
            se_ab = curve.se[[a, b]]
            noise = float(np.max(se_ab[np.isfinite(se_ab)])) if np.isfinite(se_ab).any() else 0.0
            need = max(prominence * curve.drop, 3.0 * noise)
            ridge = float(np.nanmax(y[a : b + 1]))
            if ridge - max(y[a], y[b]) < need:
                del mins[k if y[a] > y[b] else k + 1]
                changed = True
                break
    low = float(y[curve.i_min])
    near = [i for i in mins if y[i] - low <= closeness * curve.drop]
    kept: list[int] = []
    for i in sorted(near, key=lambda i: (y[i], i)):
        if all(max(curve.lrs[i], curve.lrs[k]) / min(curve.lrs[i], curve.lrs[k]) >= min_ratio for k in kept):
            kept.append(i)
    kept.sort()
    out = []
    for rank, i in enumerate(kept, 1):
        above = (y[i] - low) / curve.drop
        reason = (
            f"local minimum {rank} of {len(kept)} of the smoothed loss at lr={curve.lrs[i]:.3g}: "
            f"{y[i]:.4g}, {above:.0%} of the curve's fall ({curve.drop:.3g}) above the lowest ({low:.4g})"
        )
        out.append(
            Suggestion(name, float(curve.lrs[i]), i, reason, confidence=curve.confidence, details=_details(curve, loss=float(y[i])))
        )
    return out
