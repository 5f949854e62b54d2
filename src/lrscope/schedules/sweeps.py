"""Range-test sweeps: the learning rate grows from ``start_lr`` to ``end_lr`` over ``num_steps``.

The exponential sweep is the one of Smith (2017), "Cyclical Learning Rates for Training Neural
Networks" (the "LR range test", section 3.3) as popularised by fastai; the linear sweep is the
paper's original form.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from lrscope.schedules.base import Schedule, check_choice, check_int, check_order, check_positive

__all__ = ["ExponentialSweep", "LinearSweep", "sweep"]


class ExponentialSweep(Schedule):
    """Geometric sweep from ``start_lr`` to ``end_lr``.

    ``lr(i) = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))``

    Step ``0`` gives ``start_lr``, step ``num_steps - 1`` gives exactly ``end_lr`` (the end), and
    later steps hold ``end_lr``. Range: ``[start_lr, end_lr]``.

    Args:
        start_lr: first learning rate, > 0.
        end_lr: last learning rate, > ``start_lr``.
        num_steps: number of steps in the sweep, >= 2.

    Raises:
        ValueError: on a non-positive or non-finite rate, ``end_lr <= start_lr`` or ``num_steps < 2``.

    Example:
        >>> s = ExponentialSweep(1e-7, 10.0, num_steps=9)
        >>> round(s(4), 12)
        0.001
    """

    def __init__(self, start_lr: float, end_lr: float, num_steps: int) -> None:
        self.start_lr = check_positive("start_lr", start_lr)
        self.end_lr = check_positive("end_lr", end_lr)
        check_order("start_lr", start_lr, "end_lr", end_lr, strict=True)
        self.num_steps = check_int("num_steps", num_steps, minimum=2)
        self.total_steps = self.num_steps
        self._freeze()

    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        last = self.num_steps - 1
        values = self.start_lr * (self.end_lr / self.start_lr) ** (steps / last)
        return np.where(steps >= last, self.end_lr, values)  # exactly end_lr at the end

    def lr_range(self) -> tuple[float, float]:
        return self.start_lr, self.end_lr


class LinearSweep(Schedule):
    """Linear sweep from ``start_lr`` to ``end_lr``.

    ``lr(i) = start_lr + (end_lr - start_lr) * i / (num_steps - 1)``

    Step ``num_steps - 1`` is the end; later steps hold ``end_lr``. Range: ``[start_lr, end_lr]``.

    Args:
        start_lr: first learning rate, >= 0.
        end_lr: last learning rate, > ``start_lr``.
        num_steps: number of steps in the sweep, >= 2.

    Raises:
        ValueError: on a negative or non-finite rate, ``end_lr <= start_lr`` or ``num_steps < 2``.

    Example:
        >>> LinearSweep(0.0, 1.0, num_steps=5)(2)
        0.5
    """

    def __init__(self, start_lr: float, end_lr: float, num_steps: int) -> None:
        self.start_lr = check_positive("start_lr", start_lr, allow_zero=True)
        self.end_lr = check_positive("end_lr", end_lr)
        check_order("start_lr", start_lr, "end_lr", end_lr, strict=True)
        self.num_steps = check_int("num_steps", num_steps, minimum=2)
        self.total_steps = self.num_steps
        self._freeze()

    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        f = steps / (self.num_steps - 1)
        return (1.0 - f) * self.start_lr + f * self.end_lr  # exactly start_lr and end_lr at the ends

    def lr_range(self) -> tuple[float, float]:
        return self.start_lr, self.end_lr


def sweep(
    start_lr: float, end_lr: float, num_steps: int, mode: Literal["exp", "linear"] = "exp"
) -> ExponentialSweep | LinearSweep:
    """The range-test sweep: :class:`ExponentialSweep` (``mode="exp"``) or :class:`LinearSweep`.

    Args:
        start_lr: first learning rate.
        end_lr: last learning rate, > ``start_lr``.
        num_steps: number of steps, >= 2.
        mode: ``"exp"`` (geometric, the usual choice) or ``"linear"``.

    Raises:
        ValueError: on bad arguments (see the two classes) or an unknown ``mode``.
    """
    check_choice("mode", mode, ("exp", "linear"))
    if mode == "exp":
        return ExponentialSweep(start_lr, end_lr, num_steps)
    return LinearSweep(start_lr, end_lr, num_steps)
