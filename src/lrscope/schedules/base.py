"""The one abstraction every schedule shares: a pure function of the step.

A :class:`Schedule` keeps no counter. The caller passes the step (0-based optimizer step),
as an ``int`` or a numpy array of steps, and gets the learning rate (a ``float``, or an array of
the same shape). Finite schedules (``total_steps`` not None) hold their final value past their
end instead of raising (PyTorch's ``OneCycleLR`` raises there, which users trip over).

Framework adapters (``lrscope.torch.LambdaScheduler`` and the Keras adapters) evaluate a schedule
at the optimizer's step count; nothing here imports a framework.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray


class Schedule(ABC):
    """Base class: ``schedule(step) -> lr``, vectorised.

    Subclasses implement :meth:`_values` on a float64 array of non-negative steps (already
    clamped to ``total_steps - 1`` when the schedule is finite) and set ``total_steps``.
    """

    #: Number of steps the schedule is defined for, or None when it goes on forever.
    total_steps: int | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        # Frozen-ish: a schedule that called ``_freeze()`` at the end of its constructor cannot be
        # changed afterwards (its validation would be bypassed). Build a new one instead.
        if self.__dict__.get("_frozen", False):
            raise AttributeError(
                f"{type(self).__name__} is immutable; build a new schedule instead of setting `{name}`"
            )
        super().__setattr__(name, value)

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def lr_range(self) -> tuple[float, float]:
        """``(low, high)``: every value of the schedule lies in ``[low, high]`` (up to rounding).

        Subclasses that know their range override this; the default says it is unknown.
        """
        raise NotImplementedError(f"{type(self).__name__} does not document its range")

    @abstractmethod
    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        """Learning rates at ``steps`` (float64 array, every entry >= 0)."""

    @overload
    def __call__(self, step: int) -> float: ...
    @overload
    def __call__(self, step: ArrayLike) -> NDArray[np.float64]: ...

    def __call__(self, step: Any) -> Any:
        scalar = np.ndim(step) == 0
        s = np.asarray(step, dtype=np.float64)
        if not np.all(np.isfinite(s)) or np.any(s < 0):
            bad = float(s[~(np.isfinite(s) & (s >= 0))].reshape(-1)[0]) if s.ndim else float(s)
            raise ValueError(f"Argument `step` must be a finite number >= 0. Received: step={bad!r}")
        if self.total_steps is not None:
            s = np.minimum(s, self.total_steps - 1)
        out = np.asarray(self._values(np.atleast_1d(s)), dtype=np.float64).reshape(np.shape(s))
        return float(out) if scalar else out

    def preview(self, num_steps: int | None = None, start: int = 0) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Steps and learning rates over ``[start, start + num_steps)``, for tables and plots.

        Args:
            num_steps: how many steps; defaults to ``total_steps`` (required for infinite schedules).
            start: first step.

        Returns:
            ``(steps, lrs)`` as numpy arrays.
        """
        if num_steps is None:
            if self.total_steps is None:
                raise ValueError(
                    "Argument `num_steps` is required for a schedule without an end "
                    f"({type(self).__name__} has total_steps=None). Received: num_steps=None"
                )
            num_steps = self.total_steps - start
        check_int("num_steps", num_steps, minimum=1)
        check_int("start", start, minimum=0)
        steps = np.arange(start, start + num_steps, dtype=np.int64)
        return steps, self(steps)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


# --- validation helpers shared by every schedule -------------------------------------------------


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as float if finite and > 0 (>= 0 with allow_zero); else ValueError naming it."""
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        rule = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(f"Argument `{name}` must be {rule}. Received: {name}={value!r}")
    return float(value)


def check_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Return ``value`` as int if it is an integer >= minimum; else ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"Argument `{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


def check_fraction(
    name: str,
    value: Any,
    *,
    low: float = 0.0,
    high: float = 1.0,
    closed: bool | Literal["low", "high"] = False,
) -> float:
    """Return ``value`` as float if it lies in (low, high) (or [low, high] when closed).

    ``closed="low"`` accepts ``[low, high)``, ``closed="high"`` accepts ``(low, high]``.
    """
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    ok = ok and math.isfinite(float(value))
    lo_closed = closed is True or closed == "low"
    hi_closed = closed is True or closed == "high"
    if ok:
        v = float(value)
        ok = (low <= v if lo_closed else low < v) and (v <= high if hi_closed else v < high)
    if not ok:
        br = f"{'[' if lo_closed else '('}{low:g}, {high:g}{']' if hi_closed else ')'}"
        raise ValueError(f"Argument `{name}` must be in {br}. Received: {name}={value!r}")
    return float(value)


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; else ValueError listing them."""
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(c) for c in options)
        raise ValueError(f"Argument `{name}` must be one of {listed}. Received: {name}={value!r}")
    return value


def check_order(low_name: str, low: float, high_name: str, high: float, *, strict: bool = False) -> None:
    """ValueError unless ``low < high`` (strict) or ``low <= high``, naming both arguments."""
    if (low < high) if strict else (low <= high):
        return
    rule = "greater than" if strict else "greater than or equal to"
    raise ValueError(
        f"Argument `{high_name}` must be {rule} `{low_name}`. Received: {low_name}={low!r}, {high_name}={high!r}"
    )
