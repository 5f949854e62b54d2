"""Composing schedules at step boundaries (optax's ``join_schedules``)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from lrscope.schedules.base import Schedule, check_int, check_positive
from lrscope.schedules.decay import LinearWarmup

__all__ = ["Sequence", "join", "sequence", "warmup"]


class Sequence(Schedule):
    """Schedules played one after another, switching at ``boundaries``.

    With boundaries ``b_1 < b_2 < ...`` (and ``b_0 = 0``), step ``t`` with ``b_k <= t < b_(k+1)`` is
    given by ``schedules[k](t - b_k)``: each schedule restarts its own step count at its boundary.
    A finite schedule whose segment is longer than it holds its final value until the next
    boundary; one whose segment is shorter is cut off.

    Continuity is the caller's choice: the joined schedule is continuous at ``b_k`` exactly when
    ``schedules[k](0)`` equals ``schedules[k-1]`` evaluated at ``b_k - b_(k-1)``.

    ``total_steps`` is ``b_last + schedules[-1].total_steps`` when the last schedule is finite (the
    joined schedule then ends with it), else None. Range: the union of the pieces' ranges.

    Args:
        schedules: two or more schedules.
        boundaries: ``len(schedules) - 1`` strictly increasing integer steps, the first >= 1.

    Raises:
        ValueError: when a piece is not a Schedule or the boundaries do not fit the schedules.
    """

    def __init__(self, schedules: Iterable[Schedule], boundaries: Iterable[int]) -> None:
        self.schedules = tuple(schedules)
        self.boundaries = tuple(boundaries)
        for i, s in enumerate(self.schedules):
            if not isinstance(s, Schedule):
                raise ValueError(f"Argument `schedules` must hold Schedule objects. Received: schedules[{i}]={s!r}")
        if len(self.schedules) < 2 or len(self.boundaries) != len(self.schedules) - 1:
            raise ValueError(
                "Argument `boundaries` must have one entry fewer than `schedules` (at least two schedules). "
                f"Received: {len(self.schedules)} schedules, boundaries={list(self.boundaries)!r}"
            )
        previous = 0
        for b in self.boundaries:
            if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b <= previous:
                raise ValueError(
                    "Argument `boundaries` must be strictly increasing integers >= 1. "
                    f"Received: boundaries={list(self.boundaries)!r}"
                )
            previous = int(b)
        self.boundaries = tuple(int(b) for b in self.boundaries)
        last = self.schedules[-1].total_steps
        self.total_steps = None if last is None else self.boundaries[-1] + last
        self._freeze()

    def _values(self, steps: NDArray[np.float64]) -> NDArray[np.float64]:
        piece = np.searchsorted(np.asarray(self.boundaries, dtype=np.float64), steps, side="right")
        offsets = (0, *self.boundaries)
        out = np.empty_like(steps)
        for k, schedule in enumerate(self.schedules):
            sel = piece == k
            if np.any(sel):
                out[sel] = schedule(steps[sel] - offsets[k])
        return out

    def lr_range(self) -> tuple[float, float]:
        ranges = [s.lr_range() for s in self.schedules]
        return min(r[0] for r in ranges), max(r[1] for r in ranges)


def join(schedules: Iterable[Schedule], boundaries: Iterable[int]) -> Sequence:
    """Join schedules at step boundaries (optax-style); see :class:`Sequence`.

    Example:
        >>> from lrscope.schedules import Constant, Cosine
        >>> s = join([Constant(0.1), Cosine(0.1, T_max=10)], boundaries=[5])
        >>> s(4), s(5), round(s(10), 6)
        (0.1, 0.1, 0.05)
    """
    return Sequence(schedules, boundaries)


def sequence(schedules: Iterable[Schedule]) -> Sequence:
    """Concatenate schedules back to back: each finite one plays all its ``total_steps`` values.

    The boundaries are the running sums of the ``total_steps`` of every schedule but the last
    (which may be infinite).

    Raises:
        ValueError: when a schedule other than the last has no end (``total_steps is None``).
    """
    pieces = tuple(schedules)
    boundaries, at = [], 0
    for i, s in enumerate(pieces[:-1]):
        if not isinstance(s, Schedule) or s.total_steps is None:
            raise ValueError(
                "Argument `schedules` must be finite (total_steps set) except for the last one. "
                f"Received: schedules[{i}]={s!r}"
            )
        at += s.total_steps
        boundaries.append(at)
    return Sequence(pieces, boundaries)


def warmup(schedule: Schedule, warmup_steps: int, start_lr: float = 0.0) -> Sequence:
    """Prepend a linear warm-up from ``start_lr`` to ``schedule(0)``, continuously.

    Steps ``0 .. warmup_steps - 1`` ramp linearly (:class:`LinearWarmup`); from step ``warmup_steps``
    on, the value is ``schedule(step - warmup_steps)``, so ``schedule`` starts at its own step 0.

    Args:
        schedule: the schedule after the warm-up.
        warmup_steps: length of the warm-up, >= 1.
        start_lr: learning rate at step 0, in ``[0, schedule(0))``.

    Raises:
        ValueError: on a bad ``warmup_steps`` or a ``start_lr`` not below ``schedule(0)``.

    Example:
        >>> from lrscope.schedules import Cosine
        >>> s = warmup(Cosine(1.0, T_max=10), warmup_steps=4)
        >>> s([0, 2, 4, 9, 14]).round(6).tolist()
        [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    if not isinstance(schedule, Schedule):
        raise ValueError(f"Argument `schedule` must be a Schedule. Received: schedule={schedule!r}")
    check_int("warmup_steps", warmup_steps, minimum=1)
    check_positive("start_lr", start_lr, allow_zero=True)
    peak = schedule(0)
    if not start_lr < peak:
        raise ValueError(
            f"Argument `start_lr` must be below the schedule's first value schedule(0)={peak!r}. "
            f"Received: start_lr={start_lr!r}"
        )
    return Sequence([LinearWarmup(start_lr, peak, warmup_steps), schedule], [warmup_steps])
