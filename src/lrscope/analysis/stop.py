"""The stop rule every range-test engine shares.

A sweep has *diverged* when

* the raw loss is NaN or ±inf (reason ``"non-finite loss"``), or
* the causal bias-corrected EMA of the loss (:func:`lrscope.analysis.smoothing.ema`,
  ``beta=0.98`` by default) exceeds ``diverge_threshold`` x the lowest smoothed loss seen so far
  in *this* sweep (default ``4.0``, as fastai's ``lr_find``; torch-lr-finder uses 5). For losses
  that can be negative the test is written ``smoothed - best > (threshold - 1) * |best|``, which is
  the same test for positive losses.

The best loss starts from this sweep's first point, never from an earlier run, so a rule made
fresh for each sweep cannot fire on step 1 because of a stale best (mid-training and fine-tuning
sweeps start at whatever loss the model has). Engines that read losses back in chunks call
:meth:`StopRule.update_many` once per chunk; the answer then lags by at most one chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from lrscope.analysis.smoothing import DEFAULT_BETA, _check_beta

DEFAULT_DIVERGE_THRESHOLD = 4.0

STOP_DIVERGED = "diverged"
STOP_NONFINITE = "non-finite loss"
STOP_COMPLETED = "completed"
STOP_EXHAUSTED = "data exhausted"
STOP_INTERRUPTED = "interrupted"


@dataclass
class StopDecision:
    """Where and why the sweep stopped: ``index`` is the step (0-based, in the whole sweep)."""

    index: int
    reason: str
    detail: str


class StopRule:
    """Incremental divergence detector (see module docstring).

    Args:
        diverge_threshold: stop when smoothed loss > threshold x best smoothed loss; must be > 1.
        beta: EMA factor in [0, 1).

    Raises:
        ValueError: for a threshold that is not a finite number > 1, or beta outside [0, 1).

    Example:
        >>> rule = StopRule(diverge_threshold=4.0)
        >>> rule.update_many([1.0, 0.5, float("nan")]).reason
        'non-finite loss'
    """

    def __init__(self, diverge_threshold: float = DEFAULT_DIVERGE_THRESHOLD, beta: float = DEFAULT_BETA):
        if not (isinstance(diverge_threshold, (int, float)) and math.isfinite(diverge_threshold) and diverge_threshold > 1):
            raise ValueError(
                "Argument `diverge_threshold` must be a finite number greater than 1. "
                f"Received: diverge_threshold={diverge_threshold!r}"
            )
        self.diverge_threshold = float(diverge_threshold)
        self.beta = _check_beta(beta)
        self.reset()

    def reset(self) -> None:
        """Forget everything seen (a new sweep)."""
        self._avg = 0.0
        self._n = 0
        self._seen = 0
        self.best = math.inf
        self.smoothed = math.nan

    def update(self, loss: float) -> StopDecision | None:
        """Feed one loss; return a :class:`StopDecision` if the sweep must stop here."""
        return self.update_many([loss])

    def update_many(self, losses: ArrayLike) -> StopDecision | None:
        """Feed consecutive losses; return the first stop decision among them, if any.

        Losses after the stopping one are not consumed.
        """
        x = np.asarray(losses, dtype=np.float64).reshape(-1)
        for v in x.tolist():
            i = self._seen
            self._seen += 1
            if not math.isfinite(v):
                return StopDecision(i, STOP_NONFINITE, f"loss was {v} at step {i}")
            self._n += 1
            self._avg = self.beta * self._avg + (1.0 - self.beta) * v
            s = self._avg / (1.0 - self.beta**self._n)
            self.smoothed = s
            if s < self.best:
                self.best = s
            elif self.best != 0 and s - self.best > (self.diverge_threshold - 1.0) * abs(self.best):
                return StopDecision(
                    i,
                    STOP_DIVERGED,
                    # name the curve: the stop rule's causal EMA, not the symmetric smoothing the figures draw
                    f"the stop rule's running average of the loss (EMA, beta={self.beta:g}) reached {s:.4g}, "
                    f"more than {self.diverge_threshold:g} x its lowest {self.best:.4g}, at step {i}",
                )
        return None
