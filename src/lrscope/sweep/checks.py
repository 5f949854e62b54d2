"""Argument checks and the LR plan of a range test, shared by every engine (numpy only).

Every check raises ``ValueError`` naming the argument, the rule and the value received, before
anything the user owns is touched (the house style, after Keras).
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from lrscope.analysis.stop import StopRule

__all__ = ["DEFAULT_NUM_STEPS", "SweepSpec", "check_sweep", "fail", "is_real", "check_int", "auto_progress"]

SweepMode = Literal["exp", "linear"]

#: Points of a sweep when ``num_steps`` is not given: what torch-lr-finder, fastai and the usual
#: PyTorch ``FindLR`` write-up use. Data shorter than this is cycled (with a note in the result).
DEFAULT_NUM_STEPS = 100


def fail(name: str, rule: str, value: Any) -> ValueError:
    """``ValueError("Argument `name` rule. Received: name=value")``."""
    return ValueError(f"Argument `{name}` {rule}. Received: {name}={value!r}")


def is_real(x: Any) -> bool:
    """A finite real number (bool excluded)."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(float(x))


def check_int(name: str, value: Any, minimum: int) -> int:
    """An integer ``>= minimum`` (bool excluded), as a Python int."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise fail(name, f"must be an integer >= {minimum}", value)
    return int(value)


def auto_progress() -> bool:
    """Show a bar when a person watches: stderr is a terminal (or a Jupyter kernel runs us), and not in CI."""
    if os.environ.get("CI"):
        return False
    try:
        if sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    return "ipykernel" in sys.modules  # notebooks: stderr is no TTY, but tqdm.auto draws a widget there


@dataclass(frozen=True)
class SweepSpec:
    """What every engine's sweep shares: the plan, the stop rule's settings, the read-back cadence."""

    start_lr: float
    end_lr: float
    num_steps: int
    mode: SweepMode
    steps_per_lr: int
    diverge_threshold: float | None
    smooth_beta: float
    chunk_size: int
    val_batches: int
    val_every: int
    progress: bool
    on_interrupt: Literal["raise", "return"]

    def lrs(self) -> list[float]:
        """The sweep's LRs, from the shared schedule (``lrscope.schedules.sweep``)."""
        from lrscope.schedules.sweeps import sweep

        _, lrs = sweep(self.start_lr, self.end_lr, self.num_steps, self.mode).preview(self.num_steps)
        return [float(v) for v in lrs]

    def stop_rule(self) -> StopRule:
        # None: a threshold no finite loss ratio reaches, so only NaN/inf stops the sweep.
        threshold = self.diverge_threshold if self.diverge_threshold is not None else 1e300
        return StopRule(diverge_threshold=threshold, beta=self.smooth_beta)

    def config(self) -> dict[str, Any]:
        """The sweep's settings as they go into ``RangeTestResult.config``."""
        return {
            "start_lr": self.start_lr,
            "end_lr": self.end_lr,
            "num_steps": self.num_steps,
            "mode": self.mode,
            "steps_per_lr": self.steps_per_lr,
            "diverge_threshold": self.diverge_threshold,
            "smooth_beta": self.smooth_beta,
            "chunk_size": self.chunk_size,
        }


def check_sweep(
    *,
    start_lr: Any,
    end_lr: Any,
    num_steps: Any,
    mode: Any,
    steps_per_lr: Any = 1,
    diverge_threshold: Any,
    smooth_beta: Any,
    chunk_size: Any,
    val_batches: Any = 4,
    val_every: Any = 1,
    progress: Any = None,
    on_interrupt: Any = "raise",
) -> SweepSpec:
    """Check the arguments every engine shares; ``num_steps=None`` means :data:`DEFAULT_NUM_STEPS`."""
    if mode not in ("exp", "linear"):
        raise fail("mode", "must be 'exp' or 'linear'", mode)
    if not is_real(start_lr) or start_lr <= 0:
        raise fail("start_lr", "must be a finite number > 0", start_lr)
    if not is_real(end_lr) or end_lr <= 0:
        raise fail("end_lr", "must be a finite number > 0", end_lr)
    if end_lr <= start_lr:
        raise ValueError(
            f"Argument `end_lr` must be greater than `start_lr`. Received: start_lr={start_lr!r}, end_lr={end_lr!r}"
        )
    steps_per_lr = check_int("steps_per_lr", steps_per_lr, 1)
    num_steps = DEFAULT_NUM_STEPS if num_steps is None else check_int("num_steps", num_steps, 2)
    chunk_size = check_int("chunk_size", chunk_size, 1)
    val_batches = check_int("val_batches", val_batches, 1)
    val_every = check_int("val_every", val_every, 1)
    if diverge_threshold is not None and not (is_real(diverge_threshold) and diverge_threshold > 1):
        raise fail("diverge_threshold", "must be a finite number > 1, or None (stop only on a non-finite loss)", diverge_threshold)
    if not (is_real(smooth_beta) and 0 <= smooth_beta < 1):
        raise fail("smooth_beta", "must be in [0, 1)", smooth_beta)
    if progress not in (None, True, False):
        raise fail("progress", "must be True, False or None (automatic)", progress)
    if on_interrupt not in ("raise", "return"):
        raise fail("on_interrupt", "must be 'raise' or 'return'", on_interrupt)
    return SweepSpec(
        start_lr=float(start_lr),
        end_lr=float(end_lr),
        num_steps=num_steps,
        mode=mode,
        steps_per_lr=steps_per_lr,
        diverge_threshold=None if diverge_threshold is None else float(diverge_threshold),
        smooth_beta=float(smooth_beta),
        chunk_size=chunk_size,
        val_batches=val_batches,
        val_every=val_every,
        progress=bool(auto_progress() if progress is None else progress),
        on_interrupt=on_interrupt,
    )
