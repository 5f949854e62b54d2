"""One shared preparation of a loss-vs-LR curve for every suggestion rule.

``validate -> trim -> robust-clean -> symmetric smooth -> slope -> "does it say anything?"``
happens once, in :func:`prepare_curve`, and every rule reads the resulting :class:`Curve`.

Conventions (read these before adding a rule):

* **Slopes** are ``d(loss) / d(log10 lr)`` — loss per decade — for exponential sweeps, and
  ``d(loss) / d(lr)`` for linear sweeps (:func:`slope`). Never against the step index or the raw
  LR of an exponential sweep: differentiating against raw LR weights every step by ``1 / lr`` and
  drags "steepest" picks down by decades (FINDINGS point 1).
* **Sweep kind**: ``"exp"`` when ``log(lr)`` is evenly spaced (to 2 %), else ``"linear"``
  (:func:`infer_sweep`); a caller that knows passes ``sweep=`` explicitly.
* **Non-finite losses are data, not errors.** A run of more than ``max_gap`` (default 2)
  consecutive non-finite losses, or one that reaches the end of the curve, is where the sweep
  diverged: the curve ends there. Shorter runs followed by finite losses are missing points:
  they get zero weight in the smoother and an estimate from their neighbours.
* **The diverged end**: after the lowest loss so far, the first point whose centred 5-point running
  median exceeds ``diverge_threshold`` x that lowest loss (default 4.0, the same test and default
  as :class:`~lrscope.analysis.stop.StopRule`, written ``m - best > (t - 1) * |best|`` for losses
  that may be negative) *and* has climbed back more than half-way to its first value
  (``m - best > (m_0 - best) / 2``) — so a loss that fell from 2.3 to 0.01 is not "diverged" at
  0.05. The running median makes the cut immune to a single spike, and smoothing stops there, so
  a blow-up of 1e6 cannot pull the smoothed minimum around.
* **The noisy start**: the first ``skip_start`` points are smoothed (as neighbours) but never
  read by a rule: a fraction of the curve's length when a float in [0, 1) (default 0.1, as fastai's
  ``lr_find`` drops ``num_it // 10``), a number of steps when an int. Batch noise in the first
  iterations otherwise produces "steepest" dips decades too low (FINDINGS point 4).
* **Smoothing for reading**: the Hampel filter removes single-batch spikes, then the symmetric
  local-linear Gaussian kernel of :func:`~lrscope.analysis.smoothing.local_linear` over
  ``log10(lr)`` (default width ``max(0.1 decade, 2 points)``) smooths without lag.
* **Evidence**: with ``sigma`` the noise std of the raw losses (a MAD of second differences,
  :func:`~lrscope.analysis.smoothing.noise_sigma`) and ``se_i = sigma * g_i`` the standard error
  of a smoothed value, the curve's *drop* is ``smoothed[start] - min(smoothed[window])`` and its
  significance ``z = drop / sqrt(se_start**2 + se_min**2)``. A curve says nothing — every rule
  abstains, with the reason — when the window has fewer than 5 points, the drop is below
  ``flat_tol`` (1e-3) of the loss level, or ``z < min_z`` (default 4). Otherwise confidence is
  ``"high"`` for ``z >= 25``, ``"medium"`` for ``z >= 10``, else ``"low"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from lrscope.analysis.smoothing import default_bandwidth, hampel, local_linear, median_filter, noise_sigma
from lrscope.analysis.types import Confidence

Sweep = Literal["exp", "linear"]

DEFAULT_SKIP_START = 0.1
DEFAULT_DIVERGE_THRESHOLD = 4.0
DEFAULT_MAX_GAP = 2
DEFAULT_MIN_Z = 4.0
DEFAULT_FLAT_TOL = 1e-3
MIN_POINTS = 5
Z_HIGH = 25.0
Z_MEDIUM = 10.0
_DIVERGE_MEDIAN_WINDOW = 5
_SWEEP_RTOL = 0.02
#: Losses beyond this magnitude are read as non-finite: the smoother's weighted sums of their squares
#: would overflow float64, and no model reports them as a real loss (+huge -> +inf, a diverged point; -huge -> NaN).
LOSS_LIMIT = 1e100


def validate_curve(lrs: ArrayLike, losses: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Check a recorded curve and return it as float64 arrays.

    NaN/inf *losses* are accepted: they are data (the sweep diverged), not malformed input.
    A loss above ``+LOSS_LIMIT`` (1e100) is read as +inf and one below ``-LOSS_LIMIT`` as NaN:
    arithmetic on such values overflows, and no real loss is that large.

    Args:
        lrs: 1-D learning rates, positive, finite and strictly increasing.
        losses: 1-D real losses of the same length (at least one point).

    Returns:
        ``(lrs, losses)`` as new float64 arrays.

    Raises:
        ValueError: naming the argument, the rule broken and the value received, when an array
            is not 1-D or not numeric, the lengths differ, the curve is empty, or an LR is
            non-positive, non-finite or not above the previous one.

    Example:
        >>> validate_curve([1e-3, 1e-2], [1.0, float("nan")])[1].tolist()
        [1.0, nan]
    """
    arrays = []
    for name, value in (("lrs", lrs), ("losses", losses)):
        try:
            arr = np.array(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Argument `{name}` must be an array of real numbers. Received: {value!r:.80}") from exc
        if arr.ndim != 1:
            raise ValueError(f"Argument `{name}` must be 1-D. Received: shape {arr.shape}")
        arrays.append(arr)
    lr, loss = arrays
    if lr.size != loss.size:
        raise ValueError(
            f"Arguments `lrs` and `losses` must have the same length. Received: len(lrs)={lr.size}, len(losses)={loss.size}"
        )
    if lr.size == 0:
        raise ValueError("Arguments `lrs` and `losses` must hold at least one point. Received: empty arrays")
    bad = np.flatnonzero(~(np.isfinite(lr) & (lr > 0)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"Argument `lrs` must contain only positive finite learning rates. Received: lrs[{i}]={float(lr[i])!r}")
    down = np.flatnonzero(np.diff(lr) <= 0)
    if down.size:
        i = int(down[0]) + 1
        raise ValueError(
            f"Argument `lrs` must be strictly increasing. Received: lrs[{i}]={float(lr[i])!r} after lrs[{i - 1}]={float(lr[i - 1])!r}"
        )
    with np.errstate(invalid="ignore"):
        loss[loss > LOSS_LIMIT] = np.inf
        loss[loss < -LOSS_LIMIT] = np.nan
    return lr, loss


def infer_sweep(lrs: ArrayLike) -> Sweep:
    """``"exp"`` if the LRs are evenly spaced in log (to 2 % of the median step), else ``"linear"``.

    Example:
        >>> infer_sweep([1e-4, 1e-3, 1e-2]), infer_sweep([0.1, 0.2, 0.3])
        ('exp', 'linear')
    """
    lr = np.asarray(lrs, dtype=np.float64)
    if lr.size < 3:
        return "exp"
    d = np.diff(np.log(lr))
    med = float(np.median(d))
    return "exp" if np.all(np.abs(d - med) <= _SWEEP_RTOL * abs(med)) else "linear"


def check_sweep(sweep: object) -> None:
    if sweep not in (None, "exp", "linear"):
        raise ValueError(f"Argument `sweep` must be 'exp', 'linear' or None. Received: sweep={sweep!r}")


def slope(x: ArrayLike, y: ArrayLike) -> np.ndarray:
    """Derivative ``dy/dx`` by second-order central differences (``numpy.gradient``), NaN-safe.

    Pass ``x = log10(lr)`` for exponential sweeps (loss per decade) and ``x = lr`` for linear
    ones. Returns NaN everywhere for fewer than 2 points.

    Example:
        >>> slope([-3.0, -2.0, -1.0], [3.0, 1.0, -1.0]).tolist()
        [-2.0, -2.0, -2.0]
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.size < 2:
        return np.full(xs.shape, np.nan)
    with np.errstate(all="ignore"):
        return np.gradient(ys, xs)


def _finite_or_none(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


@dataclass(frozen=True)
class Curve:
    """A validated, trimmed and smoothed curve, prepared once and read by every rule.

    Attributes:
        lrs: the learning rates (float64, as given).
        losses: the raw losses (float64, NaN/inf kept).
        sweep: ``"exp"`` or ``"linear"``.
        x: the axis slopes are taken against: ``log10(lrs)`` or ``lrs``.
        clean: losses after the Hampel filter (spikes replaced), NaN past ``stop``.
        smoothed: the symmetric smoothed loss on ``[0, stop)``, NaN after.
        se: standard error of each smoothed value (``sigma * g_i``), NaN after ``stop``.
        slope: ``d smoothed / d x`` on ``[0, stop)``, NaN after.
        start: first index a rule may read (after the noisy start).
        stop: one past the last index a rule may read (the diverged end, or ``len``).
        end_reason: why the readable curve ends at ``stop`` (``"end of sweep"``, ...).
        bandwidth: the smoother's kernel width, in units of ``x``.
        noise: estimated noise std of the raw losses.
        i_min: index of the lowest smoothed loss in the window (``-1`` if none).
        drop: ``smoothed[start] - smoothed[i_min]``.
        z: significance of the drop in standard errors.
        confidence: ``"high" | "medium" | "low"``, or None when the curve says nothing.
        problem: why the curve says nothing (every rule then abstains with it), else None.
    """

    lrs: np.ndarray
    losses: np.ndarray
    sweep: Sweep
    x: np.ndarray
    clean: np.ndarray
    smoothed: np.ndarray
    se: np.ndarray
    slope: np.ndarray
    start: int
    stop: int
    end_reason: str
    bandwidth: float
    noise: float
    i_min: int
    drop: float
    z: float
    confidence: Confidence | None
    problem: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def window(self) -> slice:
        """The readable part of the curve, ``slice(start, stop)``."""
        return slice(self.start, self.stop)

    @property
    def ok(self) -> bool:
        """True when the curve carries a significant drop rules may read."""
        return self.problem is None

    def decades(self, i: int, j: int) -> float:
        """``log10(lrs[j] / lrs[i])``: how many decades point j lies above point i."""
        return float(np.log10(self.lrs[j]) - np.log10(self.lrs[i]))  # a ratio can overflow on extreme spans

    def summary(self) -> dict[str, Any]:
        """JSON-friendly numbers describing the preparation, for a Suggestion's details."""
        return {
            "sweep": self.sweep,
            "window": [self.start, self.stop],
            "end_reason": self.end_reason,
            "bandwidth": self.bandwidth,
            "noise": _finite_or_none(self.noise),
            "drop": _finite_or_none(self.drop),
            "z": _finite_or_none(self.z) if self.z != math.inf else "inf",
        }


def _check_options(skip_start: object, diverge_threshold: object, bandwidth: object, max_gap: object, min_z: object, flat_tol: object) -> None:
    if isinstance(skip_start, bool) or not (
        (isinstance(skip_start, (int, np.integer)) and skip_start >= 0)
        or (isinstance(skip_start, float) and 0.0 <= skip_start < 1.0)
    ):
        raise ValueError(
            "Argument `skip_start` must be a fraction in [0, 1) or a number of steps >= 0. "
            f"Received: skip_start={skip_start!r}"
        )
    if diverge_threshold is not None and not (
        isinstance(diverge_threshold, (int, float)) and math.isfinite(diverge_threshold) and diverge_threshold > 1
    ):
        raise ValueError(
            "Argument `diverge_threshold` must be a finite number greater than 1, or None. "
            f"Received: diverge_threshold={diverge_threshold!r}"
        )
    if bandwidth is not None and not (isinstance(bandwidth, (int, float)) and math.isfinite(bandwidth) and bandwidth >= 0):
        raise ValueError(f"Argument `bandwidth` must be a finite number >= 0, or None. Received: bandwidth={bandwidth!r}")
    if isinstance(max_gap, bool) or not (isinstance(max_gap, (int, np.integer)) and max_gap >= 0):
        raise ValueError(f"Argument `max_gap` must be an integer >= 0. Received: max_gap={max_gap!r}")
    for name, v in (("min_z", min_z), ("flat_tol", flat_tol)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"Argument `{name}` must be a finite number >= 0. Received: {name}={v!r}")


def _nonfinite_end(losses: np.ndarray, max_gap: int) -> int:
    """Index where a run of non-finite losses longer than max_gap (or reaching the end) starts."""
    bad = ~np.isfinite(losses)
    n = losses.size
    i = 0
    while i < n:
        if bad[i]:
            j = i
            while j < n and bad[j]:
                j += 1
            if j == n or j - i > max_gap:
                return i
            i = j
        else:
            i += 1
    return n


def _divergence_cut(lrs: np.ndarray, losses: np.ndarray, end: int, threshold: float | None) -> tuple[int, str | None]:
    """First index (< end) where the running median exceeds threshold x its lowest value so far."""
    if threshold is None or end == 0:
        return end, None
    m = median_filter(losses[:end], _DIVERGE_MEDIAN_WINDOW)
    best = first = math.inf
    for i, v in enumerate(m.tolist()):
        if not math.isfinite(v):
            continue
        if first == math.inf:
            first = v
        if v < best:
            best = v
        elif v - best > (threshold - 1.0) * abs(best) and v - best > 0.5 * (first - best):
            return i, (
                f"the loss diverged at step {i} (lr={lrs[i]:.3g}): its running median {v:.4g} "
                f"exceeded {threshold:g} x the lowest {best:.4g}"
            )
    return end, None


def prepare_curve(
    lrs: ArrayLike,
    losses: ArrayLike,
    *,
    sweep: Sweep | None = None,
    skip_start: int | float = DEFAULT_SKIP_START,
    diverge_threshold: float | None = DEFAULT_DIVERGE_THRESHOLD,
    bandwidth: float | None = None,
    robust: bool = True,
    max_gap: int = DEFAULT_MAX_GAP,
    min_z: float = DEFAULT_MIN_Z,
    flat_tol: float = DEFAULT_FLAT_TOL,
) -> Curve:
    """Validate, trim, clean, smooth and differentiate a curve once (see module docstring).

    Args:
        lrs: 1-D positive strictly increasing learning rates.
        losses: 1-D losses; NaN/inf allowed.
        sweep: ``"exp"``, ``"linear"`` or None to infer (:func:`infer_sweep`).
        skip_start: noisy start to leave unread: a fraction in [0, 1) of the points or an int count.
        diverge_threshold: end the curve where the running-median loss exceeds this multiple of
            its lowest value (> 1); None keeps everything up to the non-finite tail.
        bandwidth: smoother width (decades for exp sweeps, LR units for linear); None = default;
            0 = no smoothing.
        robust: apply the Hampel spike filter before smoothing.
        max_gap: longest run of non-finite losses treated as missing points rather than divergence.
        min_z: least significance (in standard errors) of the drop for the curve to say anything;
            0 turns the noise test off.
        flat_tol: a drop below ``flat_tol`` x the loss level counts as flat.

    Returns:
        The prepared :class:`Curve`; ``curve.problem`` holds the reason when it says nothing.

    Raises:
        ValueError: for malformed arrays (:func:`validate_curve`) or options.

    Example:
        >>> import numpy as np
        >>> lrs = np.logspace(-5, 0, 50)
        >>> c = prepare_curve(lrs, 2 - np.tanh(np.log10(lrs) + 2.5))
        >>> c.ok, c.sweep, round(float(lrs[c.i_min]), 3)
        (True, 'exp', 1.0)
    """
    lr, loss = validate_curve(lrs, losses)
    check_sweep(sweep)
    _check_options(skip_start, diverge_threshold, bandwidth, max_gap, min_z, flat_tol)
    kind: Sweep = infer_sweep(lr) if sweep is None else sweep
    n = lr.size
    x = np.log10(lr) if kind == "exp" else lr.copy()
    start = int(skip_start * n) if isinstance(skip_start, float) else int(skip_start)
    start = min(start, n)
    with np.errstate(all="ignore"):
        hard_end = _nonfinite_end(loss, int(max_gap))
        stop, div_reason = _divergence_cut(lr, loss, hard_end, diverge_threshold)
        if div_reason is not None:
            end_reason = div_reason
        elif hard_end < n:
            end_reason = f"the loss was non-finite ({loss[hard_end]}) from step {hard_end} (lr={lr[hard_end]:.3g}) on"
        else:
            end_reason = "end of sweep"
        clean = np.full(n, np.nan)
        if stop > 0:
            clean[:stop] = hampel(loss[:stop]) if robust else loss[:stop]
        h = float(default_bandwidth(lr, kind) if bandwidth is None else bandwidth)
        smoothed = np.full(n, np.nan)
        g = np.full(n, np.nan)
        if stop > 0:
            f, gg = local_linear(x[:stop], clean[:stop], h, fill_missing=True)
            smoothed[:stop], g[:stop] = f, gg
        slopes = np.full(n, np.nan)
        slopes[:stop] = slope(x[:stop], smoothed[:stop])
        sigma = noise_sigma(loss[:stop])  # raw: the spike filter would shrink the estimate
        se = sigma * g

        problem: str | None = None
        i_min, drop, z = -1, math.nan, math.nan
        win = smoothed[start:stop]
        usable = int(np.isfinite(win).sum()) if stop > start else 0
        if usable < MIN_POINTS:
            if n < MIN_POINTS:
                problem = f"the curve has only {n} point(s); at least {MIN_POINTS} are needed"
            elif stop < n:
                problem = f"{end_reason}, leaving {usable} readable point(s) after skipping the first {start}"
            else:
                problem = f"only {usable} readable finite point(s) after skipping the first {start}"
        else:
            i_min = start + int(np.nanargmin(win))
            first = start + int(np.flatnonzero(np.isfinite(win))[0])
            level = float(smoothed[first])
            low = float(smoothed[i_min])
            drop = level - low
            scale = max(abs(level), abs(low), 1e-300)
            denom = math.hypot(float(se[first]), float(se[i_min]))
            z = math.inf if denom == 0 else drop / denom
            if not math.isfinite(drop):
                problem = "the smoothed loss is not finite (values too large to compare)"
            elif i_min == first:
                rise = float(np.nanmax(win)) - level
                if rise > flat_tol * scale:
                    problem = (
                        f"the loss never fell below its level at lr={lr[first]:.3g} ({level:.4g}); it only rose "
                        f"(by {rise:.3g}): start the sweep at a lower LR"
                    )
                else:
                    problem = f"the curve is flat: the smoothed loss stays at {level:.4g} (changes < {flat_tol:g} of it)"
            elif z < min_z:
                problem = (
                    f"the loss fell by {drop:.3g} (from {level:.4g} to {low:.4g}), only {z:.1f} standard errors "
                    f"of the noise (std {sigma:.3g}): indistinguishable from noise"
                )
            elif drop <= flat_tol * scale:
                problem = (
                    f"the curve is flat: the smoothed loss fell by only {drop:.3g} from {level:.4g} "
                    f"(less than {flat_tol:g} of its level)"
                )
    confidence: Confidence | None = None
    if problem is None:
        confidence = "high" if z >= Z_HIGH else "medium" if z >= Z_MEDIUM else "low"
    return Curve(
        lrs=lr,
        losses=loss,
        sweep=kind,
        x=x,
        clean=clean,
        smoothed=smoothed,
        se=se,
        slope=slopes,
        start=start,
        stop=stop,
        end_reason=end_reason,
        bandwidth=h,
        noise=sigma,
        i_min=i_min,
        drop=drop,
        z=z,
        confidence=confidence,
        problem=problem,
    )
