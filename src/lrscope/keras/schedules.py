"""Keras 3 ``LearningRateSchedule`` classes over the core schedules, written with ``keras.ops``.

Every class here wraps one core schedule of :mod:`lrscope.schedules`: the constructor takes the
core schedule's arguments under the same names (PyTorch's, where PyTorch has the concept: ``max_lr``,
``base_lr``, ``step_size_up``, ``pct_start``, ``div_factor``, ``final_div_factor``, ``total_steps``,
``warmup_steps``), builds the core schedule (which validates them and raises a ``ValueError`` naming
the argument, the rule and the value) and keeps it as :attr:`KerasSchedule.core`.

``__call__(step)`` evaluates the same formula with ``keras.ops`` on the backend tensor the optimizer
passes (its ``iterations``), so the schedule runs inside a compiled train step on every backend
(torch, JAX, TensorFlow). The arithmetic is float32 (the LR variable's dtype); it agrees with the
core's float64 value to float32 rounding. The formulas are those documented on the core classes;
``tests/keras_engine/test_schedules.py`` checks every one against the core over many steps.

Each class is registered with ``keras.saving.register_keras_serializable(package="lrscope")`` and
has a ``get_config``, so an optimizer using it survives ``model.save("m.keras")`` and
``keras.models.load_model``.

Note:
    With ``gradient_accumulation_steps=N`` Keras passes the count of micro-batches to a schedule
    (its "real" iterations), so give step sizes in micro-batches there.

Example:
    >>> import keras                                                         # doctest: +SKIP
    >>> from lrscope.keras import Cyclic                                     # doctest: +SKIP
    >>> opt = keras.optimizers.SGD(Cyclic(1e-3, 6e-3, step_size_up=500))     # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import keras
from keras import ops

from lrscope import schedules as core
from lrscope.schedules.factory import ScheduleKind, from_bounds

__all__ = [
    "SGDR",
    "Constant",
    "Cosine",
    "Cyclic",
    "ExponentialDecay",
    "ExponentialSweep",
    "Join",
    "KerasSchedule",
    "LinearSweep",
    "LinearWarmup",
    "OneCycle",
    "StepDecay",
    "from_schedule",
    "schedule_from",
    "warmup",
]

_register = keras.saving.register_keras_serializable(package="lrscope")
_PI = math.pi


class KerasSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Base class: a core schedule (:attr:`core`) evaluated with ``keras.ops``.

    Subclasses build :attr:`core` and :attr:`_config` in their constructor and implement
    :meth:`_ops_values` on a float32 tensor of steps that is already >= 0 and clamped to
    ``total_steps - 1`` when the schedule is finite (the core's convention: a finite schedule holds
    its final value past its end).
    """

    core: core.Schedule
    _config: dict[str, Any]

    def __call__(self, step: Any) -> Any:
        s = ops.maximum(ops.cast(step, "float32"), 0.0)
        if self.core.total_steps is not None:
            s = ops.minimum(s, float(self.core.total_steps - 1))
        return self._ops_values(s)

    def _ops_values(self, s: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def total_steps(self) -> int | None:
        """Steps the schedule is defined for (None: it never ends), as the core schedule."""
        return self.core.total_steps

    def get_config(self) -> dict[str, Any]:
        return dict(self._config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._config.items())
        return f"{type(self).__name__}({args})"


def _f32(value: float) -> Any:
    return ops.convert_to_tensor(value, dtype="float32")


@_register
class Cyclic(KerasSchedule):
    """Cyclical learning rate (CLR, Smith 2017): :class:`lrscope.schedules.Cyclic` in ``keras.ops``.

    ``mode`` is ``"triangular"``, ``"triangular2"`` or ``"exp_range"``; ``window`` the shape of the
    cycle, ``"triangular"``, ``"welch"`` (parabolic) or ``"hann"`` (sinusoidal). The formula is the
    core class's (PyTorch ``CyclicLR``'s arithmetic). A custom ``scale_fn`` is not supported here (a
    Python callable cannot be serialized or compiled reliably); use the :class:`~lrscope.keras.CyclicLR`
    callback for that.

    Args:
        base_lr: lower bound, >= 0.
        max_lr: upper bound, >= ``base_lr``.
        step_size_up: steps from the bottom to the top of a cycle, >= 1.
        step_size_down: steps back down, >= 1 (default ``step_size_up``).
        mode: amplitude policy.
        gamma: per-step decay of the amplitude for ``"exp_range"``, in ``(0, 1]``.
        window: shape of each half-cycle.

    Raises:
        ValueError: on a bad argument (naming it, the rule and the value).
    """

    def __init__(
        self,
        base_lr: float,
        max_lr: float,
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: core.cyclic.CyclicMode = "triangular",
        gamma: float = 1.0,
        window: core.cyclic.Window = "triangular",
    ) -> None:
        c = core.Cyclic(base_lr, max_lr, step_size_up, step_size_down, mode=mode, gamma=gamma, window=window)
        self.core = c
        self._config = {
            "base_lr": c.base_lr,
            "max_lr": c.max_lr,
            "step_size_up": c.step_size_up,
            "step_size_down": c.step_size_down,
            "mode": c.mode,
            "gamma": c.gamma,
            "window": c.window,
        }

    def _ops_values(self, s: Any) -> Any:
        c = self.core
        assert isinstance(c, core.Cyclic)
        total = float(c.step_size_up + c.step_size_down)
        r = c.step_size_up / total
        completed = ops.floor(s / total)
        cycle = completed + 1.0
        # x = 1 + s / total - cycle of the core, from the exact remainder (float32 keeps integer steps
        # exact, but 1 + s / total would lose the fraction's low digits as cycles accumulate)
        x = (s - total * completed) / total
        h = ops.where(x <= r, x / r, (x - 1.0) / (r - 1.0))
        if c.window == "welch":
            h = 1.0 - ops.square(1.0 - h)
        elif c.window == "hann":
            h = ops.square(ops.sin((_PI / 2.0) * h))
        if c.mode == "triangular2":
            scale = ops.power(_f32(2.0), -(cycle - 1.0))
        elif c.mode == "exp_range":
            scale = ops.power(_f32(c.gamma), s)
        else:
            scale = ops.ones_like(s)
        return c.base_lr + (c.max_lr - c.base_lr) * h * scale


@_register
class OneCycle(KerasSchedule):
    """The 1cycle policy (Smith & Topin 2019): :class:`lrscope.schedules.OneCycle` in ``keras.ops``.

    Warm up from ``max_lr / div_factor`` to ``max_lr`` over ``pct_start * total_steps`` steps, then
    anneal to ``max_lr / div_factor / final_div_factor`` at step ``total_steps - 1`` (PyTorch's
    ``OneCycleLR`` values; later steps hold the final value). For the momentum half of the policy use
    the :class:`~lrscope.keras.OneCycleLR` callback.

    Args:
        max_lr: peak learning rate, > 0.
        total_steps: length of the cycle, >= 2.
        pct_start: fraction of the steps spent warming up, in ``(0, 1)``.
        anneal_strategy: ``"cos"`` or ``"linear"``.
        div_factor: ``initial_lr = max_lr / div_factor``, >= 1.
        final_div_factor: ``min_lr = initial_lr / final_div_factor``, >= 1.
        three_phase: the paper's symmetric three-phase shape.

    Raises:
        ValueError: on a bad argument (naming it, the rule and the value).
    """

    def __init__(
        self,
        max_lr: float,
        total_steps: int,
        pct_start: float = 0.3,
        anneal_strategy: core.one_cycle.AnnealStrategy = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
    ) -> None:
        c = core.OneCycle(
            max_lr,
            total_steps,
            pct_start=pct_start,
            anneal_strategy=anneal_strategy,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            three_phase=three_phase,
        )
        self.core = c
        self._config = {
            "max_lr": c.max_lr,
            "total_steps": c.total_steps,
            "pct_start": c.pct_start,
            "anneal_strategy": c.anneal_strategy,
            "div_factor": c.div_factor,
            "final_div_factor": c.final_div_factor,
            "three_phase": c.three_phase,
        }

    def _ops_values(self, s: Any) -> Any:
        c = self.core
        assert isinstance(c, core.OneCycle)
        values = []
        start = 0.0
        for end, a, b, _, _ in c._phases:  # (end_step, start_lr, end_lr, ...), the core's phases
            pct = (s - start) / (end - start)
            if c.anneal_strategy == "cos":
                values.append(b + (a - b) / 2.0 * (ops.cos(_PI * pct) + 1.0))
            else:
                values.append((b - a) * pct + a)
            start = end
        # the first phase whose end is >= step, as OneCycleLR.get_lr (the last one past all ends)
        out = values[-1]
        for (end, *_), value in zip(reversed(c._phases[:-1]), reversed(values[:-1])):
            out = ops.where(s <= end, value, out)
        return out


def _cosine(lr: float, eta_min: float, t_cur: Any, t_i: Any) -> Any:
    return eta_min + (lr - eta_min) * (1.0 + ops.cos(_PI * t_cur / t_i)) / 2.0


@_register
class Cosine(KerasSchedule):
    """Cosine annealing from ``lr`` to ``eta_min`` over ``T_max`` steps, then flat (core :class:`~lrscope.schedules.Cosine`).

    Args:
        lr: starting learning rate, > 0.
        T_max: steps down to ``eta_min``, >= 1.
        eta_min: final learning rate, in ``[0, lr]``.

    Raises:
        ValueError: on a bad argument (naming it, the rule and the value).
    """

    def __init__(self, lr: float, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803 (PyTorch's name)
        c = core.Cosine(lr, T_max, eta_min=eta_min)
        self.core = c
        self._config = {"lr": c.lr, "T_max": c.T_max, "eta_min": c.eta_min}

    def _ops_values(self, s: Any) -> Any:
        c = self.core
        assert isinstance(c, core.Cosine)
        return _cosine(c.lr, c.eta_min, s, float(c.T_max))


@_register
class SGDR(KerasSchedule):
    """Cosine annealing with warm restarts (Loshchilov & Hutter 2017), core :class:`~lrscope.schedules.SGDR`.

    Args:
        lr: learning rate at each restart, > 0.
        T_0: length of the first period, >= 1.
        T_mult: growth factor of the period, an integer >= 1.
        eta_min: lower bound, in ``[0, lr]``.

    Raises:
        ValueError: on a bad argument (naming it, the rule and the value).
    """

    def __init__(self, lr: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> None:  # noqa: N803
        c = core.SGDR(lr, T_0, T_mult=T_mult, eta_min=eta_min)
        self.core = c
        self._config = {"lr": c.lr, "T_0": c.T_0, "T_mult": c.T_mult, "eta_min": c.eta_min}

    def _ops_values(self, s: Any) -> Any:
        c = self.core
        assert isinstance(c, core.SGDR)
        t0 = float(c.T_0)
        if c.T_mult == 1:
            return _cosine(c.lr, c.eta_min, s - t0 * ops.floor(s / t0), t0)
        m = float(c.T_mult)

        def period_start(n: Any) -> Any:
            power = ops.power(_f32(m), n)
            if m.is_integer():  # exact integer powers: TensorFlow's float32 pow is off by an ulp at restarts
                power = ops.round(power)
            return t0 * (power - 1.0) / (m - 1.0)

        n = ops.floor(ops.log(s / t0 * (m - 1.0) + 1.0) / math.log(m))
        # the float log can land one period off at a restart: correct with exact boundary checks
        n = n - ops.cast(period_start(n) > s, "float32")
        n = n + ops.cast(period_start(n + 1.0) <= s, "float32")
        length = ops.power(_f32(m), n)
        return _cosine(c.lr, c.eta_min, s - period_start(n), t0 * (ops.round(length) if m.is_integer() else length))


@_register
class ExponentialDecay(KerasSchedule):
    """``lr * gamma ** (step / steps_per_epoch)`` (floored with ``staircase``), core :class:`~lrscope.schedules.ExponentialDecay`.

    E.g. ``ExponentialDecay(1e-2, gamma=0.97, steps_per_epoch=len(train_ds))`` loses 3 % per epoch.

    Args:
        lr: initial learning rate, > 0.
        gamma: factor per epoch, in ``(0, 1]``.
        steps_per_epoch: steps in one epoch, >= 1.
        staircase: decay once per epoch (True) or continuously (False).

    Raises:
        ValueError: on a bad argument (naming it, the rule and the value).
    """

    def __init__(self, lr: float, gamma: float, steps_per_epoch: int = 1, staircase: bool = True) -> None:
        c = core.ExponentialDecay(lr, gamma, steps_per_epoch=steps_per_epoch, staircase=staircase)
        self.core = c
        self._config = {"lr": c.lr, "gamma": c.gamma, "steps_per_epoch": c.steps_per_epoch, "staircase": c.staircase}

    def _ops_values(self, s: Any) -> Any:
        c = self.core
        assert isinstance(c, core.ExponentialDecay)
        epochs = s / float(c.steps_per_epoch)
        if c.staircase:
            epochs = ops.floor(epochs)
        return c.lr * ops.power(_f32(c.gamma), epochs)


@_register
class StepDecay(KerasSchedule):
    """``lr * gamma ** floor(step / step_size)`` (PyTorch's ``StepLR``), core :class:`~lrscope.schedules.StepDecay`.

    Raises:
        ValueError: on a bad argument (naming it, the rule and the value).
    """

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1) -> None:
        c = core.StepDecay(lr, step_size, gamma=gamma)
        self.core = c
        self._config = {"lr": c.lr, "step_size": c.step_size, "gamma": c.gamma}

    def _ops_values(self, s: Any) -> Any:
        c = self.core
        assert isinstance(c, core.StepDecay)
        return c.lr * ops.power(_f32(c.gamma), ops.floor(s / float(c.step_size)))


@_register
class Constant(KerasSchedule):
    """The same learning rate at every step, core :class:`~lrscope.schedules.Constant`."""

    def __init__(self, lr: float) -> None:
        c = core.Constant(lr)
        self.core = c
        self._config = {"lr": c.lr}

    def _ops_values(self, s: Any) -> Any:
        c = self.core
        assert isinstance(c, core.Constant)
        return ops.ones_like(s) * c.lr


@_register
class LinearWarmup(KerasSchedule):
    """Linear ramp from ``start_lr`` to ``end_lr`` over ``warmup_steps``, core :class:`~lrscope.schedules.LinearWarmup`."""

    def __init__(self, start_lr: float, end_lr: float, warmup_steps: int) -> None:
        c = core.LinearWarmup(start_lr, end_lr, warmup_steps)
        self.core = c
        self._config = {"start_lr": c.start_lr, "end_lr": c.end_lr, "warmup_steps": c.warmup_steps}

    def _ops_values(self, s: Any) -> Any:
        c = self.core
        assert isinstance(c, core.LinearWarmup)
        f = s / float(c.warmup_steps)
        return (1.0 - f) * c.start_lr + f * c.end_lr


@_register
class ExponentialSweep(KerasSchedule):
    """The range test's geometric sweep, core :class:`~lrscope.schedules.ExponentialSweep`."""

    def __init__(self, start_lr: float, end_lr: float, num_steps: int) -> None:
        c = core.ExponentialSweep(start_lr, end_lr, num_steps)
        self.core = c
        self._config = {"start_lr": c.start_lr, "end_lr": c.end_lr, "num_steps": c.num_steps}

    def _ops_values(self, s: Any) -> Any:
        c = self.core
        assert isinstance(c, core.ExponentialSweep)
        last = float(c.num_steps - 1)
        values = c.start_lr * ops.exp(math.log(c.end_lr / c.start_lr) * (s / last))
        return ops.where(s >= last, c.end_lr, values)


@_register
class LinearSweep(KerasSchedule):
    """The range test's linear sweep, core :class:`~lrscope.schedules.LinearSweep`."""

    def __init__(self, start_lr: float, end_lr: float, num_steps: int) -> None:
        c = core.LinearSweep(start_lr, end_lr, num_steps)
        self.core = c
        self._config = {"start_lr": c.start_lr, "end_lr": c.end_lr, "num_steps": c.num_steps}

    def _ops_values(self, s: Any) -> Any:
        c = self.core
        assert isinstance(c, core.LinearSweep)
        f = s / float(c.num_steps - 1)
        return (1.0 - f) * c.start_lr + f * c.end_lr


@_register
class Join(KerasSchedule):
    """Schedules played one after another, switching at ``boundaries`` (core :class:`~lrscope.schedules.Sequence`).

    Step ``t`` with ``b_k <= t < b_(k+1)`` gives ``schedules[k](t - b_k)``.

    Args:
        schedules: two or more schedules of this module.
        boundaries: ``len(schedules) - 1`` strictly increasing integer steps, the first >= 1.

    Raises:
        ValueError: when a piece is not a schedule of this module or the boundaries do not fit.
    """

    def __init__(self, schedules: Iterable[KerasSchedule], boundaries: Iterable[int]) -> None:
        pieces = tuple(schedules)
        for i, p in enumerate(pieces):
            if not isinstance(p, KerasSchedule):
                raise ValueError(
                    "Argument `schedules` must hold lrscope.keras schedules (KerasSchedule). "
                    f"Received: schedules[{i}]={p!r}"
                )
        c = core.join([p.core for p in pieces], list(boundaries))
        self.core = c
        self.schedules = pieces
        self._config = {"schedules": list(pieces), "boundaries": list(c.boundaries)}

    def _ops_values(self, s: Any) -> Any:
        c = self.core
        assert isinstance(c, core.Sequence)
        out = self.schedules[0](s)
        for b, piece in zip(c.boundaries, self.schedules[1:]):
            out = ops.where(s >= float(b), piece(ops.maximum(s - float(b), 0.0)), out)
        return out

    def get_config(self) -> dict[str, Any]:
        return {
            "schedules": [keras.saving.serialize_keras_object(p) for p in self.schedules],
            "boundaries": list(self._config["boundaries"]),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Join:
        pieces = [keras.saving.deserialize_keras_object(p) for p in config["schedules"]]
        return cls(pieces, config["boundaries"])


def warmup(schedule: KerasSchedule, warmup_steps: int, start_lr: float = 0.0) -> Join:
    """A linear warm-up from ``start_lr`` to ``schedule``'s first value, then ``schedule`` (core :func:`~lrscope.schedules.warmup`).

    Raises:
        ValueError: on a bad ``warmup_steps`` or a ``start_lr`` not below the schedule's first value.
    """
    if not isinstance(schedule, KerasSchedule):
        raise ValueError(f"Argument `schedule` must be an lrscope.keras schedule. Received: schedule={schedule!r}")
    return from_schedule(core.warmup(schedule.core, warmup_steps, start_lr))


def from_schedule(schedule: core.Schedule) -> KerasSchedule:
    """The Keras counterpart of a core schedule (same values, evaluated with ``keras.ops``).

    Args:
        schedule: a core schedule: ``Cyclic`` (without ``scale_fn``), ``OneCycle``, ``Cosine``, ``SGDR``,
            ``ExponentialDecay``, ``StepDecay``, ``Constant``, ``LinearWarmup``, the sweeps, or a
            ``join``/``sequence``/``warmup`` of those.

    Returns:
        The :class:`KerasSchedule`.

    Raises:
        ValueError: for a schedule with no ``keras.ops`` form here (a custom ``scale_fn``, a momentum
            schedule, a user subclass).
    """
    s = schedule
    if isinstance(s, core.Cyclic):
        if s.scale_fn is not None:
            raise ValueError(
                "Argument `schedule` has a custom `scale_fn`, which has no keras.ops form: use mode= "
                "('triangular', 'triangular2', 'exp_range'), or the lrscope.keras.CyclicLR callback. "
                f"Received: schedule={s!r}"
            )
        return Cyclic(s.base_lr, s.max_lr, s.step_size_up, s.step_size_down, s.mode, s.gamma, s.window)  # type: ignore[arg-type]
    if isinstance(s, core.OneCycle):
        return OneCycle(
            s.max_lr, s.total_steps, s.pct_start, s.anneal_strategy, s.div_factor, s.final_div_factor, s.three_phase  # type: ignore[arg-type]
        )
    if isinstance(s, core.Cosine):
        return Cosine(s.lr, s.T_max, s.eta_min)
    if isinstance(s, core.SGDR):
        return SGDR(s.lr, s.T_0, s.T_mult, s.eta_min)
    if isinstance(s, core.ExponentialDecay):
        return ExponentialDecay(s.lr, s.gamma, s.steps_per_epoch, s.staircase)
    if isinstance(s, core.StepDecay):
        return StepDecay(s.lr, s.step_size, s.gamma)
    if isinstance(s, core.Constant):
        return Constant(s.lr)
    if isinstance(s, core.LinearWarmup):
        return LinearWarmup(s.start_lr, s.end_lr, s.warmup_steps)
    if isinstance(s, core.ExponentialSweep):
        return ExponentialSweep(s.start_lr, s.end_lr, s.num_steps)
    if isinstance(s, core.LinearSweep):
        return LinearSweep(s.start_lr, s.end_lr, s.num_steps)
    if isinstance(s, core.Sequence):
        return Join([from_schedule(p) for p in s.schedules], s.boundaries)
    raise ValueError(
        "Argument `schedule` must be one of lrscope's built-in schedules (Cyclic, OneCycle, Cosine, SGDR, "
        "ExponentialDecay, StepDecay, Constant, LinearWarmup, the sweeps, or a join of them). "
        f"Received: schedule={schedule!r}"
    )


def schedule_from(kind: ScheduleKind, base_lr: float | None, max_lr: float, **kwargs: Any) -> KerasSchedule:
    """A Keras schedule of the given kind between ``base_lr`` and ``max_lr`` (:func:`lrscope.schedules.from_bounds`).

    ``from_schedule(from_bounds(kind, base_lr, max_lr, **kwargs))``: the same kinds, arguments and
    errors as the core factory, e.g. ``schedule_from("one_cycle", 1e-4, 1e-2, total_steps=1000)``.

    Args:
        kind: ``"triangular"``, ``"triangular2"``, ``"exp_range"``, ``"welch"``, ``"hann"``,
            ``"one_cycle"``, ``"cosine"``, ``"sgdr"``, ``"exponential_decay"``, ``"step_decay"``,
            ``"constant"``.
        base_lr: lower bound (required by the cyclical kinds).
        max_lr: upper bound, the peak.
        **kwargs: the schedule's own arguments (``step_size_up``, ``total_steps``, ``T_0``, ``gamma`` ...).

    Returns:
        The :class:`KerasSchedule`.

    Raises:
        ValueError: as :func:`lrscope.schedules.from_bounds`.
    """
    if "scale_fn" in kwargs:
        raise ValueError(
            "Argument `scale_fn` has no keras.ops form: use mode= or the lrscope.keras.CyclicLR callback. "
            f"Received: scale_fn={kwargs['scale_fn']!r}"
        )
    return from_schedule(from_bounds(kind, base_lr, max_lr, **kwargs))
