"""``torch.optim.lr_scheduler.LRScheduler`` adapters for lrscope schedules.

* :class:`ScheduleLR` turns any :class:`lrscope.schedules.Schedule` (a pure ``step -> lr``
  function) into a real PyTorch scheduler. Convention: **the schedule gives the absolute LR of
  param group 0; every other group keeps its ratio to group 0** as it was when the scheduler was
  created (``lr_g(t) = schedule(t) * base_lr_g / base_lr_0``, with ``base_lr`` the groups'
  ``initial_lr``, as every PyTorch scheduler records it). A single-group optimizer simply follows
  the schedule. Optionally a second schedule drives the momentum (SGD's ``momentum``, Adam's
  ``beta1``) — e.g. :attr:`lrscope.schedules.OneCycle.momentum`.
* :class:`SweepLR` is the range-test sweep as a scheduler, for users who drive their own loop
  (the classic ``FindLR(optimizer, max_lr, num_iter)``): call ``scheduler.step()`` after each
  ``optimizer.step()``, record the loss yourself.

``get_lr`` evaluates the schedule at ``last_epoch`` (the number of ``step()`` calls so far), so the
LR before the first ``step()`` is ``schedule(0)``, exactly like PyTorch's own schedulers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import torch
from torch.optim.lr_scheduler import LRScheduler

__all__ = ["LambdaScheduler", "ScheduleLR", "SweepLR"]

ScheduleLike = Callable[[int], float]


def _set_momentum(group: dict[str, Any], value: float) -> None:
    if "betas" in group:
        group["betas"] = (value, *tuple(group["betas"])[1:])
    elif "momentum" in group:
        group["momentum"] = value
    else:
        raise ValueError(
            "Argument `momentum` needs an optimizer with a `momentum` or `betas` hyperparameter. "
            f"Received: a param group with keys {sorted(k for k in group if k != 'params')}"
        )


class ScheduleLR(LRScheduler):
    """A PyTorch LR scheduler that follows an lrscope schedule (see the module docstring).

    Args:
        optimizer: the optimizer to drive.
        schedule: a :class:`lrscope.schedules.Schedule` or any ``step -> lr`` callable; its value is the
            absolute LR of param group 0.
        momentum: optional ``step -> momentum`` schedule applied to every group (``momentum`` or
            ``betas[0]``), e.g. ``OneCycle(...).momentum``.
        last_epoch: the index of the last step, -1 to start (PyTorch's convention for resuming).

    Raises:
        ValueError: when the schedule is not callable, when group 0's initial LR is not > 0 while
            there are several groups (the ratios would be undefined), or when ``momentum`` is given for
            an optimizer without momentum.

    Example:
        >>> from lrscope.schedules import OneCycle                          # doctest: +SKIP
        >>> cycle = OneCycle(max_lr=0.1, total_steps=1000)                  # doctest: +SKIP
        >>> sched = ScheduleLR(opt, cycle, momentum=cycle.momentum)         # doctest: +SKIP
        >>> for batch in loader:
        ...     train_step(batch); opt.step(); sched.step()                 # doctest: +SKIP
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        schedule: ScheduleLike,
        *,
        momentum: ScheduleLike | None = None,
        last_epoch: int = -1,
    ) -> None:
        if not callable(schedule):
            raise ValueError(f"Argument `schedule` must be a Schedule or a callable step -> lr. Received: schedule={schedule!r}")
        if momentum is not None and not callable(momentum):
            raise ValueError(f"Argument `momentum` must be a callable step -> momentum or None. Received: momentum={momentum!r}")
        self.schedule = schedule
        self.momentum = momentum
        if momentum is not None:
            for g in optimizer.param_groups:  # validate before anything is changed
                if "betas" not in g and "momentum" not in g:
                    _set_momentum(g, 0.0)
        base0 = float(optimizer.param_groups[0].get("initial_lr", optimizer.param_groups[0]["lr"]))
        if len(optimizer.param_groups) > 1 and not (math.isfinite(base0) and base0 > 0):
            raise ValueError(
                "Argument `optimizer` has several param groups and group 0's initial lr is not > 0, so the "
                f"groups' ratios are undefined. Received: group 0 lr={base0!r}"
            )
        super().__init__(optimizer, last_epoch)

    def _ratios(self) -> list[float]:
        b0 = float(self.base_lrs[0])
        return [1.0] + [float(b) / b0 for b in self.base_lrs[1:]]

    def get_lr(self) -> list[float]:  # type: ignore[override]
        """LRs of every group at ``last_epoch``: ``schedule(last_epoch) * base_lr_g / base_lr_0``."""
        value = float(self.schedule(max(self.last_epoch, 0)))
        return [value * r for r in self._ratios()]

    def _get_closed_form_lr(self) -> list[float]:
        return self.get_lr()

    def step(self, epoch: int | None = None) -> None:
        """Advance one step (PyTorch's signature; passing ``epoch`` is deprecated upstream too)."""
        if epoch is None:
            super().step()
        else:  # pragma: no cover - deprecated path, kept for signature compatibility
            super().step(epoch)
        if self.momentum is not None:
            m = float(self.momentum(max(self.last_epoch, 0)))
            for g in self.optimizer.param_groups:
                _set_momentum(g, m)


#: Alias of :class:`ScheduleLR` (the name ``lrscope.schedules`` documents for the torch adapter).
LambdaScheduler = ScheduleLR


class SweepLR(ScheduleLR):
    """The range-test sweep as a PyTorch scheduler (the classic ``FindLR``).

    ``lr_0(t) = start_lr * (end_lr / start_lr) ** (t / (num_steps - 1))`` for ``mode="exp"``, or the
    linear interpolation for ``mode="linear"``, held at ``end_lr`` after the end; other groups keep
    their ratio to group 0 (see :class:`ScheduleLR`).

    Args:
        optimizer: the optimizer to drive.
        end_lr: the last LR of the sweep (PyTorch-style ``max_lr`` of ``FindLR``).
        num_steps: steps of the sweep (>= 2), the ``num_iter`` of ``FindLR``.
        start_lr: first LR; default group 0's current (initial) LR.
        mode: ``"exp"`` or ``"linear"``.
        last_epoch: PyTorch's resume index.

    Raises:
        ValueError: as :func:`lrscope.schedules.sweep` (naming the argument and value).

    Example:
        >>> opt = torch.optim.SGD(model.parameters(), lr=1e-6)            # doctest: +SKIP
        >>> sched = SweepLR(opt, end_lr=10.0, num_steps=100)             # doctest: +SKIP
        >>> for x, y in loader:                                          # doctest: +SKIP
        ...     loss = step(x, y); sched.step(); losses.append(loss.item())
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        end_lr: float,
        num_steps: int,
        *,
        start_lr: float | None = None,
        mode: Literal["exp", "linear"] = "exp",
        last_epoch: int = -1,
    ) -> None:
        from lrscope.schedules.sweeps import sweep

        if start_lr is None:
            start_lr = float(optimizer.param_groups[0].get("initial_lr", optimizer.param_groups[0]["lr"]))
        self.start_lr = start_lr
        self.end_lr = end_lr
        self.num_steps = num_steps
        self.mode = mode
        super().__init__(optimizer, sweep(start_lr, end_lr, num_steps, mode), last_epoch=last_epoch)
