"""Simple schedules: constant, step and exponential decay, linear warm-up."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lrscope.schedules.base import Schedule, check_fraction, check_int, check_order, check_positive

__all__ = ["Constant", "ExponentialDecay", "LinearWarmup", "StepDecay"]


class Constant(Schedule):
    """The same learning rate at every step (never ends). Range: ``[lr, lr]``.

    Args:
        lr: the learning rate, > 0.

    Raises:
        ValueError: when ``lr`` is not a finite number > 0.
    """

    def __init__(self, lr: float) -> None:
        self.lr = check_positive("lr", lr)
        self._freeze()

    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.full_like(steps, self.lr)

    def lr_range(self) -> tuple[float, float]:
        return self.lr, self.lr


class ExponentialDecay(Schedule):
    """Exponential decay by ``gamma`` per epoch of ``steps_per_epoch`` steps.

    ``lr(t) = lr * gamma ** floor(t / steps_per_epoch)`` with ``staircase=True`` (PyTorch's
    ``ExponentialLR`` stepped once per epoch; with ``steps_per_epoch=1`` once per step), or
    ``lr * gamma ** (t / steps_per_epoch)`` with ``staircase=False`` (a smooth decay that agrees at
    every epoch boundary). E.g. ``gamma=0.97`` loses 3% per epoch.

    Never ends. Range: ``[0, lr]`` (the values are > 0 but tend to 0).

    Args:
        lr: initial learning rate, > 0.
        gamma: factor per epoch, in ``(0, 1]``.
        steps_per_epoch: steps in one epoch, >= 1.
        staircase: decay once per epoch (True) or continuously (False).

    Raises:
        ValueError: on a bad ``lr``, ``gamma``, ``steps_per_epoch`` or a non-bool ``staircase``.

    Example:
        >>> s = ExponentialDecay(1.0, gamma=0.5, steps_per_epoch=10)
        >>> s([0, 9, 10, 25]).tolist()
        [1.0, 1.0, 0.5, 0.25]
    """

    def __init__(self, lr: float, gamma: float, steps_per_epoch: int = 1, staircase: bool = True) -> None:
        self.lr = check_positive("lr", lr)
        self.gamma = check_fraction("gamma", gamma, closed="high")
        self.steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, minimum=1)
        if not isinstance(staircase, (bool, np.bool_)):
            raise ValueError(f"Argument `staircase` must be a bool. Received: staircase={staircase!r}")
        self.staircase = bool(staircase)
        self._freeze()

    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        epochs = steps / self.steps_per_epoch
        if self.staircase:
            epochs = np.floor(epochs)
        return self.lr * self.gamma**epochs

    def lr_range(self) -> tuple[float, float]:
        return 0.0, self.lr


class StepDecay(Schedule):
    """Multiply by ``gamma`` every ``step_size`` steps, as PyTorch's ``StepLR``.

    ``lr(t) = lr * gamma ** floor(t / step_size)``. Never ends. Range: ``[0, lr]``.

    Args:
        lr: initial learning rate, > 0.
        step_size: steps between decays, >= 1.
        gamma: factor per decay, in ``(0, 1]``.

    Raises:
        ValueError: on a bad ``lr``, ``step_size`` or ``gamma``.

    Example:
        >>> StepDecay(1.0, step_size=3)([0, 2, 3, 6]).round(12).tolist()
        [1.0, 1.0, 0.1, 0.01]
    """

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1) -> None:
        self.lr = check_positive("lr", lr)
        self.step_size = check_int("step_size", step_size, minimum=1)
        self.gamma = check_fraction("gamma", gamma, closed="high")
        self._freeze()

    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.lr * self.gamma ** np.floor(steps / self.step_size)

    def lr_range(self) -> tuple[float, float]:
        return 0.0, self.lr


class LinearWarmup(Schedule):
    """Linear ramp from ``start_lr`` to ``end_lr`` over ``warmup_steps`` steps.

    ``lr(t) = start_lr + (end_lr - start_lr) * t / warmup_steps`` for ``t <= warmup_steps`` (computed as
    ``(1 - f) * start_lr + f * end_lr`` with ``f = t / warmup_steps``, exact at both ends).

    The end is step ``warmup_steps`` (``end_lr``), so ``total_steps = warmup_steps + 1``; later steps
    hold ``end_lr``. This is optax's ``linear_schedule`` convention: in
    ``join([LinearWarmup(0, peak, w), rest], boundaries=[w])`` the ramp covers steps ``0 .. w - 1``
    and ``rest(0)`` takes over at step ``w``, continuous when ``rest(0) == peak``
    (see :func:`lrscope.schedules.warmup`). Range: ``[start_lr, end_lr]``.

    Args:
        start_lr: learning rate at step 0, >= 0.
        end_lr: learning rate at step ``warmup_steps``, > ``start_lr``.
        warmup_steps: length of the ramp, >= 1.

    Raises:
        ValueError: on a bad rate, ``end_lr <= start_lr`` or ``warmup_steps < 1``.

    Example:
        >>> LinearWarmup(0.0, 1.0, warmup_steps=4)([0, 1, 4, 9]).tolist()
        [0.0, 0.25, 1.0, 1.0]
    """

    def __init__(self, start_lr: float, end_lr: float, warmup_steps: int) -> None:
        self.start_lr = check_positive("start_lr", start_lr, allow_zero=True)
        self.end_lr = check_positive("end_lr", end_lr)
        check_order("start_lr", self.start_lr, "end_lr", self.end_lr, strict=True)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, minimum=1)
        self.total_steps = self.warmup_steps + 1
        self._freeze()

    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        f = steps / self.warmup_steps
        return (1.0 - f) * self.start_lr + f * self.end_lr  # exactly start_lr and end_lr at the ends

    def lr_range(self) -> tuple[float, float]:
        return self.start_lr, self.end_lr
