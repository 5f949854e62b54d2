"""Smoothing of noisy per-batch losses.

Two smoothers live here:

* :func:`ema` — the causal, bias-corrected exponential moving average every range test
  uses while it runs (and the stop rule reads). Convention, for 0-based step ``t`` and
  ``n_t`` = the number of *finite* losses seen up to and including step ``t``::

      avg_t      = beta * avg_{t-1} + (1 - beta) * loss_t        (avg_{-1} = 0)
      smoothed_t = avg_t / (1 - beta ** n_t)

  So the first smoothed value equals the first loss exactly (``n_0 = 1``; the off-by-one
  ``1 - beta ** t`` some finders use halves it or divides by zero). A NaN/inf loss is
  skipped — it neither enters the average nor counts in ``n`` — and its smoothed value is
  NaN, so one bad batch never poisons later points.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_BETA = 0.98


def _check_beta(beta: float) -> float:
    if not (isinstance(beta, (int, float)) and 0.0 <= beta < 1.0):
        raise ValueError(f"Argument `beta` must be in [0, 1). Received: beta={beta!r}")
    return float(beta)


def ema(losses: ArrayLike, beta: float = DEFAULT_BETA) -> np.ndarray:
    """Causal bias-corrected exponential moving average (see module docstring).

    Args:
        losses: 1-D array of raw losses; NaN/inf entries are skipped.
        beta: smoothing factor in [0, 1); 0 returns the finite losses unchanged.

    Returns:
        float64 array of the same length; NaN where the input was non-finite or before any
        finite loss was seen.

    Raises:
        ValueError: if ``losses`` is not 1-D or ``beta`` is outside [0, 1).

    Example:
        >>> [round(v, 12) for v in ema([1.0, 1.0, float("nan"), 1.0]).tolist()]
        [1.0, 1.0, nan, 1.0]
    """
    beta = _check_beta(beta)
    x = np.asarray(losses, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"Argument `losses` must be 1-D. Received: shape {x.shape}")
    out = np.full(x.shape, np.nan)
    avg = 0.0
    n = 0
    for i, v in enumerate(x):
        if not np.isfinite(v):
            continue
        n += 1
        avg = beta * avg + (1.0 - beta) * v
        out[i] = avg / (1.0 - beta**n)
    return out


# ----------------------------------------------------------------------------------------------
# Robust and symmetric smoothers (for *reading* a finished curve, not for the running stop rule)
# ----------------------------------------------------------------------------------------------
#
# * :func:`median_filter` — running median over a window of points (centred, or trailing when
#   ``causal=True``), NaN-aware.
# * :func:`hampel` — the Hampel identifier: a point further than ``n_sigmas`` robust standard
#   deviations (1.4826 x the local median absolute deviation) from its window's median is a spike
#   (one bad batch) and is replaced by that median. Everything else passes unchanged.
# * :func:`robust_ema` — ``ema(hampel(losses, causal=True))``: a causal smoother that one bad batch
#   cannot drag (the running alternative to :func:`ema`).
# * :func:`local_linear` / :func:`smooth_log_lr` — the symmetric smoother suggestions are read
#   from: at each point a straight line is fitted by weighted least squares with Gaussian weights
#   ``exp(-((x_j - x_i) / h)**2 / 2)`` over ``x = log10(lr)`` (exponential sweeps; ``h`` in
#   decades) or ``x = lr`` (linear sweeps), and the line's value at ``x_i`` is the smoothed loss
#   (a LOWESS-like local-linear kernel smoother without robustness iterations; the Hampel filter
#   plays that role). Being centred, it does not lag: a causal EMA shifts a curve's features to
#   higher LRs by ``~beta / (1 - beta)`` steps, and every pick with them. Local-linear (rather
#   than a plain weighted mean) keeps the level and slope right at the ends of the curve.
#   Non-finite losses get zero weight, so a NaN never spreads to its neighbours.

DEFAULT_BANDWIDTH_DECADES = 0.1
"""Default Gaussian kernel width ``h`` (a standard deviation) for exponential sweeps, in decades."""
DEFAULT_BANDWIDTH_LINEAR = 0.02
"""Default kernel width for linear sweeps, as a fraction of the swept LR span."""
MIN_BANDWIDTH_STEPS = 2.0
"""The default kernel is never narrower than this many median point spacings."""
_KERNEL_REACH = 4.0  # weights beyond 4 h (< 3.4e-4) are dropped


def _as_1d(values: ArrayLike, name: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"Argument `{name}` must be 1-D. Received: shape {x.shape}")
    return x


def _windows(x: np.ndarray, window: int, causal: bool) -> np.ndarray:
    """(n, window) view of ``x`` padded with NaN: centred windows, or trailing when causal."""
    if causal:
        padded = np.concatenate([np.full(window - 1, np.nan), x])
    else:
        half = window // 2
        padded = np.concatenate([np.full(half, np.nan), x, np.full(window - 1 - half, np.nan)])
    return np.lib.stride_tricks.sliding_window_view(padded, window)


def _check_window(window: int) -> int:
    if not (isinstance(window, (int, np.integer)) and not isinstance(window, bool) and window >= 1):
        raise ValueError(f"Argument `window` must be a positive integer. Received: window={window!r}")
    return int(window)


def _nanmedian_rows(rows: np.ndarray) -> np.ndarray:
    """Median of the finite values of each row; NaN for rows with none (and no warning)."""
    out = np.full(rows.shape[0], np.nan)
    ok = np.isfinite(rows).any(axis=1)
    if ok.any():
        out[ok] = np.nanmedian(np.where(np.isfinite(rows[ok]), rows[ok], np.nan), axis=1)
    return out


def median_filter(values: ArrayLike, window: int = 5, *, causal: bool = False) -> np.ndarray:
    """Running median of the finite values in each window.

    Args:
        values: 1-D array; NaN/inf entries are ignored (they are not values).
        window: number of points in each window (odd is best for the centred filter).
        causal: if True the window is the ``window`` points ending at each point (usable while a
            sweep runs); otherwise it is centred on the point.

    Returns:
        float64 array of the same length: NaN where a window holds no finite value.

    Raises:
        ValueError: if ``values`` is not 1-D or ``window`` is not a positive integer.

    Example:
        >>> median_filter([1.0, 9.0, 1.0, 1.0], window=3).tolist()
        [5.0, 1.0, 1.0, 1.0]
    """
    x = _as_1d(values, "values")
    window = _check_window(window)
    if x.size == 0:
        return x.copy()
    return _nanmedian_rows(_windows(x, window, causal))


def hampel(values: ArrayLike, window: int = 7, n_sigmas: float = 3.0, *, causal: bool = False) -> np.ndarray:
    """Hampel filter: replace isolated spikes by the local median, keep everything else.

    Formula, with ``m_i`` the median and ``MAD_i`` the median absolute deviation of the finite
    values in point ``i``'s window::

        out_i = m_i   if |x_i - m_i| > n_sigmas * 1.4826 * MAD_i
        out_i = x_i   otherwise (and NaN stays NaN)

    (Hampel 1974; Pearson et al. 2016, "Generalized Hampel filters".)

    Args:
        values: 1-D array of losses; NaN/inf entries stay NaN/inf and are ignored in the windows.
        window: points per window (default 7: a spike needs at least 4 clean neighbours of 6).
        n_sigmas: outlier threshold in robust standard deviations (> 0).
        causal: use trailing windows (only past points) instead of centred ones.

    Returns:
        float64 array of the same length.

    Raises:
        ValueError: for non-1-D ``values``, a bad ``window`` or a non-positive ``n_sigmas``.

    Example:
        >>> hampel([1.0, 1.1, 0.9, 50.0, 1.0, 1.1, 0.9]).tolist()
        [1.0, 1.1, 0.9, 1.0, 1.0, 1.1, 0.9]
    """
    x = _as_1d(values, "values")
    window = _check_window(window)
    if not (isinstance(n_sigmas, (int, float)) and np.isfinite(n_sigmas) and n_sigmas > 0):
        raise ValueError(f"Argument `n_sigmas` must be a positive number. Received: n_sigmas={n_sigmas!r}")
    out = x.copy()
    if x.size == 0:
        return out
    rows = _windows(x, window, causal)
    med = _nanmedian_rows(rows)
    mad = _nanmedian_rows(np.abs(rows - med[:, None]))
    with np.errstate(invalid="ignore"):
        spike = np.isfinite(x) & np.isfinite(med) & (np.abs(x - med) > n_sigmas * 1.4826 * mad)
    out[spike] = med[spike]
    return out


def robust_ema(losses: ArrayLike, beta: float = DEFAULT_BETA, window: int = 7, n_sigmas: float = 3.0) -> np.ndarray:
    """Causal, spike-resistant smoothing: :func:`ema` of the causal :func:`hampel`-filtered losses.

    Args:
        losses: 1-D array of raw losses (NaN/inf skipped as in :func:`ema`).
        beta: EMA factor in [0, 1).
        window: trailing Hampel window.
        n_sigmas: Hampel threshold.

    Returns:
        float64 array of the same length.

    Raises:
        ValueError: as :func:`ema` and :func:`hampel`.

    Example:
        >>> robust_ema([1.0, 1.0, 1.0, 1.0, 100.0], beta=0.5).tolist()
        [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    return ema(hampel(losses, window, n_sigmas, causal=True), beta)


def local_linear(x: ArrayLike, y: ArrayLike, bandwidth: float, *, fill_missing: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-kernel local-linear regression of ``y`` on ``x``, evaluated at every ``x_i``.

    Formula: with ``w_j = exp(-((x_j - x_i) / h)**2 / 2)`` over the finite ``y_j`` within ``4 h``
    and ``S_k = sum_j w_j (x_j - x_i)**k``, the smoothed value is the weighted least-squares
    line's intercept ``f_i = sum_j l_j y_j`` with ``l_j = w_j (S_2 - (x_j - x_i) S_1) / (S_0 S_2 - S_1**2)``
    (Fan & Gijbels 1996, "Local Polynomial Modelling"). Where the line is undetermined (one
    distinct x in reach) the weighted mean is used.

    Args:
        x: 1-D increasing abscissae (``log10(lr)`` for exponential sweeps).
        y: 1-D values, same length; NaN/inf get zero weight.
        bandwidth: kernel standard deviation ``h`` in units of ``x``; 0 returns ``y`` unchanged.
        fill_missing: if True, points whose ``y`` is non-finite get the estimate from their
            neighbours; otherwise they stay NaN (as in :func:`ema`).

    Returns:
        ``(f, g)``: the smoothed values and, per point, ``g_i = sqrt(sum_j l_j**2)`` so that the
        smoothed value's standard error is ``sigma * g_i`` for i.i.d. noise of std ``sigma``.
        Both NaN where no finite ``y`` lies within reach.

    Raises:
        ValueError: for non-1-D or mismatched inputs or a negative/non-finite bandwidth.

    Example:
        >>> f, g = local_linear([0.0, 1.0, 2.0], [0.0, 1.0, 2.0], 1.0)
        >>> [round(v, 12) for v in f.tolist()]
        [0.0, 1.0, 2.0]
    """
    xs = _as_1d(x, "x")
    ys = _as_1d(y, "y")
    if xs.shape != ys.shape:
        raise ValueError(f"Arguments `x` and `y` must have the same length. Received: {xs.size} and {ys.size}")
    if not (isinstance(bandwidth, (int, float, np.floating)) and np.isfinite(bandwidth) and bandwidth >= 0):
        raise ValueError(f"Argument `bandwidth` must be a finite number >= 0. Received: bandwidth={bandwidth!r}")
    n = xs.size
    finite = np.isfinite(ys) & np.isfinite(xs)
    f = np.full(n, np.nan)
    g = np.full(n, np.nan)
    if bandwidth == 0:
        f[finite] = ys[finite]
        g[finite] = 1.0
        return f, g
    h = float(bandwidth)
    xf, yf = xs[finite], ys[finite]
    if xf.size == 0:
        return f, g
    lo = np.searchsorted(xf, xs - _KERNEL_REACH * h, side="left")
    hi = np.searchsorted(xf, xs + _KERNEL_REACH * h, side="right")
    for i in range(n):
        if not (fill_missing or finite[i]) or hi[i] <= lo[i]:
            continue
        d = xf[lo[i] : hi[i]] - xs[i]
        w = np.exp(-0.5 * (d / h) ** 2)
        s0, s1, s2 = w.sum(), (w * d).sum(), (w * d * d).sum()
        det = s0 * s2 - s1 * s1
        if det > 1e-12 * s0 * s2 and det > 0:
            lw = w * (s2 - d * s1) / det
        else:
            lw = w / s0
        f[i] = float(lw @ yf[lo[i] : hi[i]])
        g[i] = float(np.sqrt(lw @ lw))
    return f, g


def default_bandwidth(lrs: ArrayLike, sweep: str) -> float:
    """The default kernel width for a sweep, in units of its x axis (see module notes).

    ``max(0.1 decades, 2 median spacings of log10 lr)`` for ``"exp"``;
    ``max(2 % of the LR span, 2 median spacings of lr)`` for ``"linear"``.
    """
    lr = np.asarray(lrs, dtype=np.float64)
    if lr.size < 2:
        return DEFAULT_BANDWIDTH_DECADES if sweep == "exp" else 0.0
    if sweep == "exp":
        step = float(np.median(np.diff(np.log10(lr))))
        return max(DEFAULT_BANDWIDTH_DECADES, MIN_BANDWIDTH_STEPS * step)
    step = float(np.median(np.diff(lr)))
    return max(DEFAULT_BANDWIDTH_LINEAR * float(lr[-1] - lr[0]), MIN_BANDWIDTH_STEPS * step)


def smooth_log_lr(
    lrs: ArrayLike,
    losses: ArrayLike,
    bandwidth: float | None = None,
    *,
    sweep: str = "exp",
    fill_missing: bool = False,
) -> np.ndarray:
    """Symmetric (non-lagging) smoothing of a loss-vs-LR curve, over log10(lr) by default.

    Args:
        lrs: 1-D positive increasing learning rates.
        losses: 1-D losses, same length; NaN/inf get zero weight and never spread.
        bandwidth: Gaussian kernel std: in decades for ``sweep="exp"``, in LR units for
            ``"linear"``. None picks :func:`default_bandwidth`. 0 disables smoothing.
        sweep: ``"exp"`` smooths over log10(lr), ``"linear"`` over lr.
        fill_missing: estimate non-finite points from their neighbours instead of leaving NaN.

    Returns:
        float64 array of the same length (see :func:`local_linear`).

    Raises:
        ValueError: for malformed arguments.

    Example:
        >>> lrs = [1e-4, 1e-3, 1e-2, 1e-1]
        >>> [round(v, 9) for v in smooth_log_lr(lrs, [4.0, 3.0, 2.0, 1.0]).tolist()]
        [4.0, 3.0, 2.0, 1.0]
    """
    lr = _as_1d(lrs, "lrs")
    if sweep not in ("exp", "linear"):
        raise ValueError(f"Argument `sweep` must be 'exp' or 'linear'. Received: sweep={sweep!r}")
    if bandwidth is None:
        bandwidth = default_bandwidth(lr, sweep)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log10(lr) if sweep == "exp" else lr
    return local_linear(x, losses, bandwidth, fill_missing=fill_missing)[0]


def noise_sigma(values: ArrayLike) -> float:
    """Robust estimate of the i.i.d. noise std in a smooth-plus-noise sequence.

    Formula: second differences ``d_i = y_{i-1} - 2 y_i + y_{i+1}`` of the finite values cancel
    any locally linear trend and have variance ``6 sigma**2``, so
    ``sigma = 1.4826 * median(|d - median(d)|) / sqrt(6)`` (a MAD-based difference estimator,
    cf. Rice 1984 / von Neumann 1941). Returns 0.0 with fewer than 3 finite values.

    Example:
        >>> noise_sigma([1.0, 2.0, 3.0, 4.0, 5.0])
        0.0
    """
    y = _as_1d(values, "values")
    y = y[np.isfinite(y)]
    if y.size < 3:
        return 0.0
    d = y[:-2] - 2.0 * y[1:-1] + y[2:]
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(6.0))
