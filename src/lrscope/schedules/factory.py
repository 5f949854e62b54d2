"""Build a schedule from range-test bounds (``RangeTestResult.schedule`` calls this)."""

from __future__ import annotations

import math
from typing import Any, Literal

from lrscope.schedules.base import Schedule, check_choice, check_order, check_positive
from lrscope.schedules.cosine import SGDR, Cosine
from lrscope.schedules.cyclic import Cyclic
from lrscope.schedules.decay import Constant, ExponentialDecay, StepDecay
from lrscope.schedules.one_cycle import OneCycle

__all__ = ["ScheduleKind", "from_bounds"]

ScheduleKind = Literal[
    "triangular",
    "triangular2",
    "exp_range",
    "welch",
    "hann",
    "one_cycle",
    "cosine",
    "sgdr",
    "exponential_decay",
    "step_decay",
    "constant",
]
_KINDS: tuple[str, ...] = ScheduleKind.__args__  # type: ignore[attr-defined]


def from_bounds(kind: ScheduleKind, base_lr: float | None, max_lr: float, **kwargs: Any) -> Schedule:
    """A schedule of the given kind between the bounds ``base_lr`` and ``max_lr``.

    ======================================  ==================================================================
    kind                                    schedule
    ======================================  ==================================================================
    ``triangular``, ``triangular2``,        ``Cyclic(base_lr, max_lr, mode=kind, **kwargs)``
    ``exp_range``
    ``welch``, ``hann``                     ``Cyclic(base_lr, max_lr, window=kind, **kwargs)``
    ``one_cycle``                           ``OneCycle(max_lr, div_factor=max_lr / base_lr, **kwargs)``
                                            (PyTorch's default 25 when ``base_lr`` is None); needs ``total_steps``
    ``cosine``                              ``Cosine(max_lr, eta_min=base_lr or 0, **kwargs)``; needs ``T_max``
    ``sgdr``                                ``SGDR(max_lr, eta_min=base_lr or 0, **kwargs)``; needs ``T_0``
    ``exponential_decay``                   ``ExponentialDecay(max_lr, **kwargs)``; needs ``gamma``
    ``step_decay``                          ``StepDecay(max_lr, **kwargs)``; needs ``step_size``
    ``constant``                            ``Constant(max_lr)``
    ======================================  ==================================================================

    Arguments given in ``kwargs`` win over the ones derived from the bounds (e.g. ``div_factor``).

    Args:
        kind: which schedule.
        base_lr: lower bound (required by the cyclical kinds; unused by the decays and constant).
        max_lr: upper bound, the peak of the schedule.
        **kwargs: the schedule's own arguments (``step_size_up``, ``total_steps``, ``T_0`` ...).

    Returns:
        The schedule.

    Raises:
        ValueError: on an unknown ``kind``, a missing ``base_lr`` for a cyclical kind, or a bad
            argument of the schedule itself.
        TypeError: when a required argument of the schedule (``total_steps``, ``T_max`` ...) is missing.

    Example:
        >>> s = from_bounds("triangular", base_lr=1e-3, max_lr=6e-3, step_size_up=4)
        >>> round(s(4), 12)
        0.006
    """
    check_choice("kind", kind, _KINDS)
    check_positive("max_lr", max_lr)
    if base_lr is not None:
        # the bounds are checked here, under their own names, before a schedule derives its own
        # arguments from them (one_cycle's div_factor = max_lr / base_lr, cosine's eta_min = base_lr)
        # 0 is a legal floor where the schedule takes base_lr as such (Cyclic, eta_min); one_cycle
        # divides by it
        check_positive("base_lr", base_lr, allow_zero=kind != "one_cycle")
        check_order("base_lr", base_lr, "max_lr", max_lr)
        if kind == "one_cycle" and not math.isfinite(max_lr / base_lr):
            raise ValueError(
                "Argument `base_lr` is too small for one_cycle: max_lr / base_lr (its div_factor) overflows. "
                f"Received: base_lr={base_lr!r}, max_lr={max_lr!r}"
            )
    if kind in ("triangular", "triangular2", "exp_range", "welch", "hann"):
        if base_lr is None:
            raise ValueError(f"Argument `base_lr` is required for kind={kind!r}. Received: base_lr=None")
        if kind in ("welch", "hann"):
            kwargs.setdefault("window", kind)
        else:
            kwargs.setdefault("mode", kind)
        return Cyclic(base_lr, max_lr, **kwargs)
    if kind == "one_cycle":
        if base_lr is not None:
            kwargs.setdefault("div_factor", max_lr / base_lr)
        return OneCycle(max_lr, **kwargs)
    if kind in ("cosine", "sgdr"):
        kwargs.setdefault("eta_min", 0.0 if base_lr is None else base_lr)
        return (Cosine if kind == "cosine" else SGDR)(max_lr, **kwargs)
    if kind == "exponential_decay":
        return ExponentialDecay(max_lr, **kwargs)
    if kind == "step_decay":
        return StepDecay(max_lr, **kwargs)
    return Constant(max_lr, **kwargs)
