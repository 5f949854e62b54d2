"""Cosine annealing and its warm restarts (Loshchilov & Hutter, 2017, "SGDR: Stochastic Gradient
Descent with Warm Restarts").
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lrscope.schedules.base import Schedule, check_int, check_order, check_positive

__all__ = ["SGDR", "Cosine"]


def _cosine(
    lr: float, eta_min: float, t_cur: NDArray[np.float64], t_i: NDArray[np.float64] | float
) -> NDArray[np.float64]:
    # PyTorch's association: eta_min + (lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2
    return eta_min + (lr - eta_min) * (1 + np.cos(np.pi * t_cur / t_i)) / 2


class Cosine(Schedule):
    """Cosine annealing from ``lr`` down to ``eta_min`` over ``T_max`` steps (one half cosine).

    ``lr(t) = eta_min + (lr - eta_min) * (1 + cos(pi * t / T_max)) / 2`` for ``t <= T_max``.

    The end is step ``T_max`` (``eta_min``), so ``total_steps = T_max + 1``; later steps hold
    ``eta_min``. (PyTorch's ``CosineAnnealingLR`` takes the same values up to ``T_max`` but then
    climbs back up; use :class:`SGDR` for restarts.) Range: ``[eta_min, lr]``.

    Args:
        lr: the starting (peak) learning rate, > 0.
        T_max: steps from ``lr`` down to ``eta_min``, >= 1.
        eta_min: final learning rate, in ``[0, lr]``.

    Raises:
        ValueError: on a bad rate, ``T_max < 1`` or ``eta_min > lr``.

    Example:
        >>> s = Cosine(1.0, T_max=4)
        >>> s([0, 2, 4, 10]).round(6).tolist()
        [1.0, 0.5, 0.0, 0.0]
    """

    def __init__(self, lr: float, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803 (PyTorch's name)
        self.lr = check_positive("lr", lr)
        self.T_max = check_int("T_max", T_max, minimum=1)
        self.eta_min = check_positive("eta_min", eta_min, allow_zero=True)
        check_order("eta_min", self.eta_min, "lr", self.lr)
        self.total_steps = self.T_max + 1
        self._freeze()

    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        return _cosine(self.lr, self.eta_min, steps, float(self.T_max))

    def lr_range(self) -> tuple[float, float]:
        return self.eta_min, self.lr


class SGDR(Schedule):
    """Cosine annealing with warm restarts, as PyTorch's ``CosineAnnealingWarmRestarts``.

    The ``i``-th period (``i = 0, 1, ...``) lasts ``T_i = T_0 * T_mult**i`` steps and starts at
    step ``T_0 * (T_mult**i - 1) / (T_mult - 1)`` (``T_0 * i`` when ``T_mult == 1``). With ``T_cur``
    the steps since the last restart::

        lr = eta_min + (lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    PyTorch, given an explicit epoch, finds the period with
    ``n = int(log(step / T_0 * (T_mult - 1) + 1, T_mult))``; that floating-point ``log`` can land one
    period off at a restart, so here ``n`` is corrected with exact boundary checks, which agrees
    with PyTorch stepping one step at a time.

    The schedule never ends (``total_steps is None``). Range: ``[eta_min, lr]``; each period restarts
    at ``lr`` and approaches (without reaching) ``eta_min``.

    Args:
        lr: learning rate at each restart, > 0.
        T_0: length of the first period in steps, >= 1.
        T_mult: growth factor of the period, an integer >= 1.
        eta_min: lower bound, in ``[0, lr]``.

    Raises:
        ValueError: on a bad rate, ``T_0 < 1``, ``T_mult < 1`` or ``eta_min > lr``.

    Example:
        >>> s = SGDR(1.0, T_0=2, T_mult=2)
        >>> s([0, 1, 2, 3, 4, 5, 6]).round(6).tolist()
        [1.0, 0.5, 1.0, 0.853553, 0.5, 0.146447, 1.0]
    """

    def __init__(self, lr: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> None:  # noqa: N803
        self.lr = check_positive("lr", lr)
        self.T_0 = check_int("T_0", T_0, minimum=1)
        self.T_mult = check_int("T_mult", T_mult, minimum=1)
        self.eta_min = check_positive("eta_min", eta_min, allow_zero=True)
        check_order("eta_min", self.eta_min, "lr", self.lr)
        self._freeze()

    def _period_start(self, n: NDArray[np.float64]) -> NDArray[np.float64]:
        m = float(self.T_mult)
        return self.T_0 * (m**n - 1) / (m - 1)

    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.T_mult == 1:
            t_cur = np.mod(steps, float(self.T_0))
            return _cosine(self.lr, self.eta_min, t_cur, float(self.T_0))
        m = float(self.T_mult)
        # For astronomically large steps a period start may overflow to +inf, read as "not reached".
        with np.errstate(over="ignore"):
            return self._restart_values(steps, m)

    def _restart_values(self, steps: NDArray[np.float64], m: float) -> NDArray[np.float64]:
        n = np.floor(np.log(steps / self.T_0 * (m - 1) + 1) / np.log(m))
        n = n - (self._period_start(n) > steps)  # the log overshot a restart
        n = n + (self._period_start(n + 1) <= steps)  # or undershot one
        t_cur = steps - self._period_start(n)
        t_i = self.T_0 * m**n
        return _cosine(self.lr, self.eta_min, t_cur, t_i)

    def lr_range(self) -> tuple[float, float]:
        return self.eta_min, self.lr
