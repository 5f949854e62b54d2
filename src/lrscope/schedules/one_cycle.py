"""The 1cycle policy (Smith & Topin, 2019, "Super-Convergence: Very Fast Training of Neural Networks
Using Large Learning Rates"; Smith, 2018, "A disciplined approach to neural network
hyper-parameters: Part 1"), value for value as ``torch.optim.lr_scheduler.OneCycleLR``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from lrscope.schedules.base import (
    Schedule,
    check_choice,
    check_fraction,
    check_int,
    check_order,
    check_positive,
)

__all__ = ["OneCycle"]

AnnealStrategy = Literal["cos", "linear"]


def _anneal(strategy: str, start: float, end: float, pct: NDArray[np.float64]) -> NDArray[np.float64]:
    # PyTorch's _annealing_cos / _annealing_linear, same association.
    if strategy == "cos":
        return end + (start - end) / 2.0 * (np.cos(np.pi * pct) + 1)
    return (end - start) * pct + start


def _check_at_least_one(name: str, value: float) -> float:
    v = check_positive(name, value)
    if v < 1:
        raise ValueError(f"Argument `{name}` must be >= 1. Received: {name}={value!r}")
    return v


class OneCycle(Schedule):
    """One cycle: warm up to ``max_lr``, then anneal far below the start (PyTorch's ``OneCycleLR``).

    With ``initial_lr = max_lr / div_factor`` and ``min_lr = initial_lr / final_div_factor``, the
    phases and their end steps are PyTorch's (``T = total_steps``, ``p = pct_start``):

    - two phases (default): ``initial_lr -> max_lr`` until step ``p*T - 1``, then
      ``max_lr -> min_lr`` until step ``T - 1``;
    - ``three_phase=True``: ``initial_lr -> max_lr`` until ``p*T - 1``, ``max_lr -> initial_lr``
      until ``2*p*T - 2``, then ``initial_lr -> min_lr`` until ``T - 1``.

    Within a phase from ``a`` (ending at step ``e0``, 0 for the first) to ``b`` (ending at ``e1``),
    ``pct = (step - e0) / (e1 - e0)`` and

    - ``anneal_strategy="cos"``: ``lr = b + (a - b) / 2 * (1 + cos(pi * pct))``;
    - ``anneal_strategy="linear"``: ``lr = a + (b - a) * pct``.

    The end is step ``total_steps - 1`` (``min_lr``); later steps hold ``min_lr`` (PyTorch raises
    past ``total_steps`` and extrapolates at ``total_steps`` itself). Range: ``[min_lr, max_lr]``.
    :attr:`momentum` is the matching inverse momentum cycle.

    Args:
        max_lr: peak learning rate, > 0.
        total_steps: number of steps in the cycle, >= 2.
        pct_start: fraction of the steps spent warming up, in ``(0, 1)``; ``pct_start * total_steps``
            must exceed 1 (and, with ``three_phase``, ``2 * pct_start * total_steps - 2`` must be
            below ``total_steps - 1``) so that no phase is empty.
        anneal_strategy: ``"cos"`` or ``"linear"``.
        div_factor: ``initial_lr = max_lr / div_factor``, >= 1.
        final_div_factor: ``min_lr = initial_lr / final_div_factor``, >= 1.
        three_phase: add a symmetric annealing phase back to ``initial_lr`` before the final one
            (fastai's shape when False, the paper's when True).
        base_momentum: momentum at the peak learning rate, in ``[0, 1]``.
        max_momentum: momentum at the start (and end) of the cycle, in ``[base_momentum, 1]``.

    Raises:
        ValueError: on an argument outside the ranges above, naming it and the value received.

    Example:
        >>> s = OneCycle(max_lr=0.1, total_steps=100)
        >>> [round(s(i), 12) for i in (0, 29, 99)]
        [0.004, 0.1, 4e-07]
    """

    def __init__(
        self,
        max_lr: float,
        total_steps: int,
        pct_start: float = 0.3,
        anneal_strategy: AnnealStrategy = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
    ) -> None:
        self.max_lr = check_positive("max_lr", max_lr)
        self.total_steps = check_int("total_steps", total_steps, minimum=2)
        self.pct_start = check_fraction("pct_start", pct_start)
        self.anneal_strategy = check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
        self.div_factor = _check_at_least_one("div_factor", div_factor)
        self.final_div_factor = _check_at_least_one("final_div_factor", final_div_factor)
        if not isinstance(three_phase, (bool, np.bool_)):
            raise ValueError(f"Argument `three_phase` must be a bool. Received: three_phase={three_phase!r}")
        self.three_phase = bool(three_phase)
        self.base_momentum = check_fraction("base_momentum", base_momentum, closed=True)
        self.max_momentum = check_fraction("max_momentum", max_momentum, closed=True)
        check_order("base_momentum", self.base_momentum, "max_momentum", self.max_momentum)

        T, p = self.total_steps, self.pct_start
        warmup_end = float(p * T) - 1
        if warmup_end <= 0:
            raise ValueError(
                "Argument `pct_start` leaves no warm-up: pct_start * total_steps must be > 1. "
                f"Received: pct_start={pct_start!r}, total_steps={total_steps!r}"
            )
        self.initial_lr = self.max_lr / self.div_factor
        self.min_lr = self.initial_lr / self.final_div_factor
        hi_m, lo_m = self.max_momentum, self.base_momentum
        # (end_step, start_lr, end_lr, start_momentum, end_momentum), as in OneCycleLR.
        phases: list[tuple[float, float, float, float, float]]
        if self.three_phase:
            middle_end = float(2 * p * T) - 2
            if middle_end >= T - 1:
                raise ValueError(
                    "Argument `pct_start` leaves no final phase with three_phase=True: "
                    "2 * pct_start * total_steps - 2 must be < total_steps - 1. "
                    f"Received: pct_start={pct_start!r}, total_steps={total_steps!r}"
                )
            phases = [
                (warmup_end, self.initial_lr, self.max_lr, hi_m, lo_m),
                (middle_end, self.max_lr, self.initial_lr, lo_m, hi_m),
                (float(T - 1), self.initial_lr, self.min_lr, hi_m, hi_m),
            ]
        else:
            phases = [
                (warmup_end, self.initial_lr, self.max_lr, hi_m, lo_m),
                (float(T - 1), self.max_lr, self.min_lr, lo_m, hi_m),
            ]
        self._phases = tuple(phases)
        self._freeze()

    def _phase_values(self, steps: NDArray[np.float64], lr: bool) -> NDArray[np.float64]:
        ends = np.array([ph[0] for ph in self._phases])
        starts = np.concatenate([[0.0], ends[:-1]])
        # The first phase whose end is >= step (the last one past all ends), as OneCycleLR.get_lr.
        idx = np.minimum(np.searchsorted(ends, steps, side="left"), len(ends) - 1)
        out = np.empty_like(steps)
        for i, (end, a_lr, b_lr, a_m, b_m) in enumerate(self._phases):
            sel = idx == i
            if np.any(sel):
                pct = (steps[sel] - starts[i]) / (end - starts[i])
                a, b = (a_lr, b_lr) if lr else (a_m, b_m)
                out[sel] = _anneal(self.anneal_strategy, a, b, pct)
        return out

    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        return self._phase_values(steps, lr=True)

    def lr_range(self) -> tuple[float, float]:
        return self.min_lr, self.max_lr

    @property
    def momentum(self) -> Schedule:
        """The momentum (or Adam's ``beta1``) cycled inversely to the learning rate.

        Same phases and annealing as the learning rate, from ``max_momentum`` down to
        ``base_momentum`` at the peak and back up (and flat at ``max_momentum`` in the final phase
        of ``three_phase``), matching ``OneCycleLR(cycle_momentum=True)``.
        Range: ``[base_momentum, max_momentum]``.
        """
        return _OneCycleMomentum(self)


class _OneCycleMomentum(Schedule):
    def __init__(self, cycle: OneCycle) -> None:
        self.cycle = cycle
        self.total_steps = cycle.total_steps
        self._freeze()

    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.cycle._phase_values(steps, lr=False)

    def lr_range(self) -> tuple[float, float]:
        return self.cycle.base_momentum, self.cycle.max_momentum

