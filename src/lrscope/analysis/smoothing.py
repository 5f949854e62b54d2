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
        >>> ema([1.0, 1.0, float("nan"), 1.0]).tolist()
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
