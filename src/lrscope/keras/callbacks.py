"""Keras 3 callbacks that drive the optimizer's learning rate (and momentum) from a core schedule.

* :class:`ScheduleCallback`: any ``step -> lr`` schedule (a :class:`lrscope.schedules.Schedule`),
  applied per batch (or per epoch), optionally with a momentum schedule.
* :class:`CyclicLR`: the CLR paper's callback (Smith 2017; bckenstler's ``clr_callback.py``), per
  batch, ``triangular``/``triangular2``/``exp_range`` (and the Welch/Hann windows), with a
  ``history`` dict of the LR per iteration like the original.
* :class:`OneCycleLR`: the 1cycle policy, cycling SGD's ``momentum`` or the Adam family's ``beta_1``
  inversely to the LR (PyTorch's ``OneCycleLR(cycle_momentum=True)``).
* :class:`ExponentialDecayLR`: the LR times ``gamma`` per epoch (e.g. x0.97).

The callbacks evaluate the numpy core schedule on the host (a callback runs in Python between
steps) and assign the optimizer's learning-rate variable, so they work unchanged on every backend.
The schedule's step is the number of optimizer updates this callback has driven (it persists
across ``fit`` calls, as in the original CLR callback; :meth:`ScheduleCallback.reset` restarts it).

They refuse what they cannot do right, by name:

* an optimizer built with a ``LearningRateSchedule`` (its LR is not settable in Keras 3): use the
  matching :mod:`lrscope.keras.schedules` class as the optimizer's ``learning_rate`` instead;
* ``steps_per_execution > 1`` for the per-batch callbacks (Keras then calls batch hooks once per N
  batches, so the LR could only change every N steps): compile with ``steps_per_execution=1`` or
  use a schedule, which the compiled step evaluates at every step.

``gradient_accumulation_steps=N`` is handled: the schedule counts optimizer updates (N batches each).

Momentum on a compiled backend: Keras reads ``momentum``/``beta_1`` as a Python float at trace time,
so a new value would be ignored by JAX's compiled step. While a momentum-cycling callback trains, it
replaces that attribute with a float32 variable (tracked by the optimizer on JAX, so the compiled
step reads it each step) and puts a float back at the end of training.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, Literal

import keras

from lrscope import schedules as core
from lrscope.schedules.base import check_choice, check_fraction, check_int, check_positive

__all__ = ["CyclicLR", "ExponentialDecayLR", "OneCycleLR", "ScheduleCallback"]

logger = logging.getLogger(__name__)

StepFn = Callable[[int], float]


def _inner(optimizer: Any) -> Any:
    """The optimizer holding the hyperparameters (a LossScaleOptimizer wraps another one)."""
    return getattr(optimizer, "inner_optimizer", optimizer)


class _HyperparameterVariable(keras.Variable):
    """A float32 variable standing in for ``momentum``/``beta_1`` while a callback cycles it.

    Keras' SGD and RMSprop test ``momentum != 0`` / ``momentum > 0`` in Python inside the step; on a
    traced value that raises. Comparisons with a Python number use the host copy of the value,
    which this module keeps in step with every assignment.
    """

    host_value: float

    def set_host(self, value: float) -> None:
        self.host_value = float(value)
        self.assign(value)

    def __ne__(self, other: Any) -> Any:
        if isinstance(other, (int, float)):
            return self.host_value != other
        return super().__ne__(other)

    def __gt__(self, other: Any) -> Any:
        if isinstance(other, (int, float)):
            return self.host_value > other
        return super().__gt__(other)


class ScheduleCallback(keras.callbacks.Callback):
    """Set the optimizer's learning rate from a ``step -> lr`` schedule before every batch (or epoch).

    Args:
        schedule: a :class:`lrscope.schedules.Schedule` or any callable ``step -> lr`` (Python floats).
        momentum: optional ``step -> momentum`` schedule for SGD's/RMSprop's ``momentum`` or the Adam
            family's ``beta_1`` (e.g. ``OneCycle(...).momentum``).
        per: ``"batch"`` (the step counts optimizer updates) or ``"epoch"`` (the step is Keras' epoch
            index, so ``initial_epoch`` is honoured).

    Attributes:
        iterations: optimizer updates driven so far (per-batch mode), across ``fit`` calls.
        history: ``{"lr": [...], "iterations": [...], "momentum": [...]}`` per batch (per epoch), plus
            every key of Keras' ``logs`` (its running means over the epoch), like the original CLR
            callback.

    Raises:
        ValueError: on a bad argument; at the start of training, on an optimizer built with a
            ``LearningRateSchedule``, ``steps_per_execution > 1`` (per batch), or ``momentum`` for an
            optimizer without momentum (or built with momentum 0).
    """

    def __init__(self, schedule: StepFn, momentum: StepFn | None = None, per: Literal["batch", "epoch"] = "batch") -> None:
        super().__init__()
        if not callable(schedule):
            raise ValueError(f"Argument `schedule` must be a Schedule or a callable step -> lr. Received: schedule={schedule!r}")
        if momentum is not None and not callable(momentum):
            raise ValueError(f"Argument `momentum` must be a callable step -> momentum or None. Received: momentum={momentum!r}")
        self.schedule = schedule
        self.momentum = momentum
        self.per = check_choice("per", per, ("batch", "epoch"))
        self.iterations = 0
        self.history: dict[str, list[Any]] = {}
        self._batches = 0  # batches seen this fit (micro-batches under gradient accumulation)
        self._accumulation = 1
        self._last_lr: float | None = None
        self._momentum_var: _HyperparameterVariable | None = None
        self._momentum_attr = ""
        self._last_values: tuple[float, float | None] = (math.nan, None)

    # ------------------------------------------------------------------ the step's values

    def _values_at(self, step: int) -> tuple[float, float | None]:
        lr = float(self.schedule(step))
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"Argument `schedule` must give finite learning rates >= 0. Received: schedule({step})={lr!r}")
        m = None if self.momentum is None else float(self.momentum(step))
        return lr, m

    def _apply(self, step: int) -> None:
        lr, m = self._values_at(step)
        optimizer = self.model.optimizer  # on JAX, self.model syncs the state into the variables first
        if lr != self._last_lr:
            optimizer.learning_rate = lr
            self._last_lr = lr
        if m is not None and self._momentum_var is not None and m != self._momentum_var.host_value:
            self._momentum_var.set_host(m)
        self._last_values = (lr, m)

    # ------------------------------------------------------------------ checks and momentum set-up

    def _check_optimizer(self) -> Any:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None:
            raise ValueError(f"{type(self).__name__} needs a compiled model: call model.compile(optimizer=...) first.")
        lr = getattr(_inner(optimizer), "_learning_rate", None)
        if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule) or (lr is not None and callable(lr)):
            raise ValueError(
                f"{type(self).__name__} sets the optimizer's learning rate, but the optimizer was built with a "
                f"LearningRateSchedule ({type(lr).__name__}), whose learning rate Keras does not let a callback set. "
                "Build the optimizer with a float learning_rate, or drop the callback and pass the matching "
                "lrscope.keras schedule (e.g. lrscope.keras.Cyclic) as learning_rate."
            )
        if self.per == "batch":
            spe = int(getattr(self.model, "steps_per_execution", 1) or 1)
            if spe > 1:
                raise ValueError(
                    f"{type(self).__name__} changes the learning rate every batch, but the model was compiled with "
                    f"steps_per_execution={spe}: Keras then calls batch callbacks once per {spe} batches. Compile with "
                    "steps_per_execution=1, or pass an lrscope.keras schedule as the optimizer's learning_rate "
                    "(it is evaluated inside the compiled step)."
                )
        self._accumulation = int(getattr(_inner(optimizer), "gradient_accumulation_steps", None) or 1)
        return optimizer

    def _install_momentum(self, optimizer: Any) -> None:
        inner = _inner(optimizer)
        name = next((n for n in ("beta_1", "momentum") if isinstance(getattr(inner, n, None), (int, float))), None)
        if name is None:
            raise ValueError(
                f"Argument `momentum` needs an optimizer with a `momentum` (SGD, RMSprop) or `beta_1` (Adam family) "
                f"hyperparameter. Received: {type(inner).__name__}"
            )
        current = float(getattr(inner, name))
        if name == "momentum" and current == 0:
            raise ValueError(
                f"Argument `momentum` cannot cycle {type(inner).__name__}'s momentum: it was built with momentum=0.0, "
                f"so Keras made no momentum slots. Build it with momentum > 0 (e.g. {type(inner).__name__}(momentum=0.9)) "
                "or turn momentum cycling off."
            )
        var = _HyperparameterVariable(initializer=current, dtype="float32", trainable=False, name=f"lrscope_{name}")
        var.host_value = current
        if keras.backend.backend() == "jax":
            # JAX's compiled step only sees the optimizer's tracked variables (the rest are baked in).
            inner._tracker.unlock()
            inner._track_variable(var)
        setattr(inner, name, var)
        self._momentum_var, self._momentum_attr = var, name

    def _remove_momentum(self) -> None:
        var, self._momentum_var = self._momentum_var, None
        if var is None:
            return
        inner = _inner(self.model.optimizer)
        setattr(inner, self._momentum_attr, var.host_value)
        if inner._tracker.is_in_store("variables", var):
            inner._tracker.untrack(var)

    # ------------------------------------------------------------------ Keras hooks

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        optimizer = self._check_optimizer()
        self._batches = 0
        self._last_lr = None
        if self.momentum is not None:
            self._install_momentum(optimizer)
        if self.per == "batch":
            self._apply(self.iterations)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._remove_momentum()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.per == "epoch":
            self._apply(epoch)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.per == "epoch":
            self._record(epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.per == "batch":
            self._apply(self.iterations)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.per != "batch":
            return
        self._record(self.iterations, logs)
        self._batches += 1
        if self._batches % self._accumulation == 0:
            self.iterations += 1

    def _record(self, step: int, logs: dict[str, Any] | None) -> None:
        lr, m = self._last_values
        self.history.setdefault("lr", []).append(lr)
        self.history.setdefault("iterations", []).append(step)
        if m is not None:
            self.history.setdefault("momentum", []).append(m)
        for k, v in (logs or {}).items():
            try:
                v = float(v)
            except (TypeError, ValueError):
                pass
            self.history.setdefault(k, []).append(v)

    def reset(self) -> None:
        """Start the schedule again at step 0 and clear :attr:`history`."""
        self.iterations = 0
        self.history = {}


def _integral(name: str, value: Any) -> int:
    """An integer argument that may come as an integral float (``step_size=2000.`` as in the original)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return check_int(name, value, minimum=1)


class CyclicLR(ScheduleCallback):
    """Cyclical learning rate per batch (Smith 2017), the Keras 3 successor of bckenstler's ``CyclicLR``.

    The LR of update ``i`` is :class:`lrscope.schedules.Cyclic`\\ ``(base_lr, max_lr, step_size_up,
    step_size_down, mode, gamma, scale_fn, scale_mode, window)(i)`` (PyTorch ``CyclicLR``'s values).
    ``history["lr"]`` and ``history["iterations"]`` list it per batch.

    Args:
        base_lr: lower bound, >= 0.
        max_lr: upper bound, >= ``base_lr``.
        step_size_up: updates from the bottom to the top of a cycle, >= 1 (2-8 epochs' worth, says the paper).
        step_size_down: updates back down (default ``step_size_up``).
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: per-update amplitude decay for ``"exp_range"``, in ``(0, 1]``.
        scale_fn: custom amplitude ``f(x) -> [0, 1]`` (then ``mode`` and ``gamma`` are ignored).
        scale_mode: what ``scale_fn`` receives, ``"cycle"`` or ``"iterations"``.
        window: ``"triangular"``, ``"welch"`` or ``"hann"`` (CLR paper, section 3.1).
        step_size: the original callback's name for ``step_size_up`` (an integral float is accepted).
        cycle_momentum: also cycle the momentum / ``beta_1`` inversely, between ``base_momentum`` and
            ``max_momentum`` (PyTorch's ``CyclicLR(cycle_momentum=True)``). Off by default, as in the original.
        base_momentum: momentum at the LR's peak.
        max_momentum: momentum at ``base_lr``.

    Raises:
        ValueError: on a bad argument (naming it, the rule and the value), and at the start of training as
            :class:`ScheduleCallback`.

    Example:
        >>> clr = CyclicLR(base_lr=1e-3, max_lr=6e-3, step_size_up=2000, mode="triangular")  # doctest: +SKIP
        >>> model.fit(x, y, callbacks=[clr])                                                   # doctest: +SKIP
        >>> clr.history["lr"][:3]                                                              # doctest: +SKIP
    """

    def __init__(
        self,
        base_lr: float = 0.001,
        max_lr: float = 0.006,
        step_size_up: int | None = None,
        step_size_down: int | None = None,
        mode: core.cyclic.CyclicMode = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: core.cyclic.ScaleMode | None = None,
        window: core.cyclic.Window = "triangular",
        *,
        step_size: float | None = None,
        cycle_momentum: bool = False,
        base_momentum: float = 0.8,
        max_momentum: float = 0.9,
    ) -> None:
        if step_size is not None and step_size_up is not None:
            raise ValueError(
                "Arguments `step_size` (the original callback's name) and `step_size_up` mean the same: give one. "
                f"Received: step_size={step_size!r}, step_size_up={step_size_up!r}"
            )
        if step_size is not None:
            up = _integral("step_size", step_size)
        else:
            up = 2000 if step_size_up is None else _integral("step_size_up", step_size_up)
        down = None if step_size_down is None else _integral("step_size_down", step_size_down)
        clr = core.Cyclic(base_lr, max_lr, up, down, mode, gamma, scale_fn, scale_mode, window)
        self.clr = clr
        momentum = clr.momentum_schedule(base_momentum, max_momentum) if cycle_momentum else None
        super().__init__(clr, momentum=momentum, per="batch")

    @property
    def base_lr(self) -> float:
        return self.clr.base_lr

    @property
    def max_lr(self) -> float:
        return self.clr.max_lr

    def reset(
        self, base_lr: float | None = None, max_lr: float | None = None, step_size_up: int | None = None
    ) -> None:
        """Restart the cycle at update 0, optionally with new bounds or step size (the original's ``_reset``)."""
        c = self.clr
        self.clr = core.Cyclic(
            c.base_lr if base_lr is None else base_lr,
            c.max_lr if max_lr is None else max_lr,
            c.step_size_up if step_size_up is None else step_size_up,
            c.step_size_down if step_size_up is None else None,
            c.mode,  # type: ignore[arg-type]
            c.gamma,
            c.scale_fn,
            c.scale_mode if c.scale_fn is not None else None,  # type: ignore[arg-type]
            c.window,  # type: ignore[arg-type]
        )
        self.schedule = self.clr
        if isinstance(self.momentum, core.Schedule):
            lo, hi = self.momentum.lr_range()
            self.momentum = self.clr.momentum_schedule(lo, hi)
        super().reset()


class OneCycleLR(ScheduleCallback):
    """The 1cycle policy per batch (Smith & Topin 2019), with the momentum or ``beta_1`` cycled inversely.

    The LR of update ``i`` is :class:`lrscope.schedules.OneCycle`\\ ``(max_lr, total_steps, ...)(i)``
    (PyTorch ``OneCycleLR``'s values; after ``total_steps`` it holds the final value). With
    ``cycle_momentum`` SGD's/RMSprop's ``momentum`` or the Adam family's ``beta_1`` follows
    ``OneCycle(...).momentum``: ``max_momentum`` at the start, ``base_momentum`` at the peak.

    Args:
        max_lr: peak learning rate, > 0.
        total_steps: updates in the cycle, >= 2; default ``epochs * steps`` of the ``fit`` call that
            starts it (Keras' ``params``).
        pct_start: fraction of the cycle spent warming up, in ``(0, 1)``.
        anneal_strategy: ``"cos"`` or ``"linear"``.
        div_factor: initial LR = ``max_lr / div_factor``, >= 1.
        final_div_factor: final LR = initial LR / ``final_div_factor``, >= 1.
        three_phase: the paper's symmetric three-phase shape.
        cycle_momentum: also cycle the momentum / ``beta_1``.
        base_momentum: momentum at the LR's peak, in ``[0, 1]``.
        max_momentum: momentum at the ends, in ``[base_momentum, 1]``.

    Raises:
        ValueError: on a bad argument (naming it, the rule and the value); at the start of training when
            ``total_steps`` is None and Keras does not know the number of steps, and as
            :class:`ScheduleCallback`.
    """

    def __init__(
        self,
        max_lr: float,
        total_steps: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: core.one_cycle.AnnealStrategy = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        *,
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
    ) -> None:
        self._kwargs: dict[str, Any] = {
            "max_lr": max_lr,
            "pct_start": pct_start,
            "anneal_strategy": anneal_strategy,
            "div_factor": div_factor,
            "final_div_factor": final_div_factor,
            "three_phase": three_phase,
            "base_momentum": base_momentum,
            "max_momentum": max_momentum,
        }
        self.cycle_momentum = bool(cycle_momentum)
        # Validate every argument now; without total_steps, against a long cycle (its own rule is
        # checked again when fit tells the length).
        cycle = core.OneCycle(total_steps=10**9 if total_steps is None else total_steps, **self._kwargs)
        self.total_steps = total_steps
        super().__init__(cycle, momentum=cycle.momentum if self.cycle_momentum else None, per="batch")

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.total_steps is None:
            params = self.params or {}
            steps, epochs = params.get("steps"), params.get("epochs")
            if not steps or not epochs:
                raise ValueError(
                    "OneCycleLR needs `total_steps`: Keras does not know the steps of this fit "
                    f"(params steps={steps!r}, epochs={epochs!r}). Pass total_steps=, or steps_per_epoch= to fit."
                )
            cycle = core.OneCycle(total_steps=int(steps) * int(epochs), **self._kwargs)
            self.schedule = cycle
            self.momentum = cycle.momentum if self.cycle_momentum else None
        super().on_train_begin(logs)


class ExponentialDecayLR(ScheduleCallback):
    """Multiply the learning rate by ``gamma`` every epoch (``lr_e = lr * gamma ** e``), e.g. x0.97.

    The schedule is :class:`lrscope.schedules.ExponentialDecay`\\ ``(lr, gamma)`` at Keras' epoch index,
    set at the start of each epoch (so it also works with ``steps_per_execution > 1``).

    Args:
        gamma: factor per epoch, in ``(0, 1]``.
        lr: the LR of epoch 0; default the optimizer's LR when training first starts.

    Raises:
        ValueError: on a bad ``gamma`` or ``lr``, and at the start of training as :class:`ScheduleCallback`.
    """

    def __init__(self, gamma: float = 0.97, lr: float | None = None) -> None:
        self.gamma = check_fraction("gamma", gamma, closed="high")
        self.lr = None if lr is None else check_positive("lr", lr)
        schedule = core.ExponentialDecay(self.lr if self.lr is not None else 1.0, self.gamma)
        super().__init__(schedule, per="epoch")

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.lr is None:
            optimizer = self._check_optimizer()
            self.lr = check_positive("lr", float(keras.ops.convert_to_numpy(optimizer.learning_rate)))
            self.schedule = core.ExponentialDecay(self.lr, self.gamma)
        super().on_train_begin(logs)
