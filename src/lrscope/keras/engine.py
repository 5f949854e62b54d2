"""The Keras 3 range test engine: :func:`range_test` on a compiled ``keras.Model``, every backend.

The sweep runs inside the model's own ``fit`` (so any data ``fit`` takes works: NumPy arrays,
``tf.data``, a ``keras.utils.PyDataset``, a Python generator, a torch ``DataLoader``), driven by one
callback that does only what Keras does per step:

* at each batch's start, assign the point's LR to the optimizer's ``learning_rate`` variable and
  reset the compiled metrics (so the loss Keras reports at the batch's end is *that batch's* loss,
  not the running mean of the epoch that Keras hands callbacks, which smears the curve);
* at its end, hand the batch's loss (and metric) to the shared driver
  (:class:`lrscope.sweep.Sweep`); every ``val_every`` points, evaluate the fixed validation subset
  with ``test_on_batch``; stop ``fit`` when the driver says so.

Everything else (the plan, the checks, the chunked stop rule, the progress bar, the notes and the
result) is the same driver the PyTorch engine uses. Keras hands callbacks Python floats, so the
read-back is free here; the chunking still decides where the sweep stops.

State: every model variable (weights, BatchNorm statistics, seed generators' states), every
optimizer variable (iterations, slots, the LR), every metric variable, the Python, NumPy, torch (on
the torch backend) and Keras global random generators are copied once before the sweep and assigned
back after it, also on an exception or Ctrl-C.
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import keras
import numpy as np

from lrscope.analysis.stop import DEFAULT_DIVERGE_THRESHOLD
from lrscope.result import RangeTestResult
from lrscope.sweep import DataExhausted, Sweep, SweepSpec, check_sweep
from lrscope.sweep.checks import DEFAULT_NUM_STEPS, check_int, fail

__all__ = ["range_test", "KerasState"]


# ----------------------------------------------------------------------------- state


def _backend() -> str:
    return str(keras.backend.backend())


def _global_seed_generator() -> Any:
    from keras.src.backend.common import global_state

    return global_state.get_global_attribute("global_seed_generator")


class KerasState:
    """A host copy of a compiled model's variables, its optimizer's and metrics', and the RNGs."""

    def __init__(self, model: Any) -> None:
        self.model = model
        opt = model.optimizer
        self.variables = list(model.variables) + list(opt.variables) + list(model.metrics_variables)
        seed_gen = _global_seed_generator()
        if seed_gen is not None:
            self.variables.append(seed_gen.state)
        self.values = [np.array(keras.ops.convert_to_numpy(v.value), copy=True) for v in self.variables]
        self.py_rng = random.getstate()
        self.np_rng = np.random.get_state()
        self.torch_rng: Any = None
        if _backend() == "torch":
            import torch

            self.torch_rng = torch.get_rng_state()
        self.attrs = {k: getattr(model, k, None) for k in ("stop_training", "history")}

    def restore(self) -> None:
        model = self.model
        if getattr(model, "_jax_state", None) is not None:
            # a fit interrupted on JAX leaves its last state here; a later sync must not write it back
            model._jax_state = None
            model._jax_state_synced = True
        for v, val in zip(self.variables, self.values):
            v.assign(val)
        random.setstate(self.py_rng)
        np.random.set_state(self.np_rng)
        if self.torch_rng is not None:
            import torch

            torch.set_rng_state(self.torch_rng)
        for k, value in self.attrs.items():
            setattr(model, k, value)


@contextmanager
def preserve_state(model: Any, *, restore: bool = True) -> Iterator[None]:
    """Copy the model's, optimizer's and metrics' variables and the RNGs; put them back on any exit."""
    snap = KerasState(model) if restore else None
    try:
        yield
    finally:
        if snap is not None:
            snap.restore()


# ----------------------------------------------------------------------------- checks


def _check_model(model: Any) -> Any:
    if not isinstance(model, keras.Model):
        raise fail("model", "must be a keras.Model", type(model).__name__)
    opt = getattr(model, "optimizer", None)
    if opt is None or not getattr(model, "compiled", False):
        raise ValueError(
            "Argument `model` must be compiled with an optimizer and a loss (model.compile(optimizer=..., "
            "loss=...)). Received: an uncompiled model"
        )
    if isinstance(opt._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        raise ValueError(
            "Argument `model` has an optimizer built with a LearningRateSchedule, whose LR cannot be set per "
            "batch (and assigning a float would drop the schedule for good). Compile the model with the same "
            "optimizer built with a float learning_rate for the range test, e.g. keras.optimizers.SGD("
            "learning_rate=1e-3, momentum=0.9), then recompile with your schedule. Received: learning_rate="
            f"{type(opt._learning_rate).__name__}"
        )
    spe = getattr(model, "steps_per_execution", 1)
    if spe not in (None, 1):
        raise ValueError(
            "Argument `model` was compiled with `steps_per_execution` > 1: Keras then runs several batches per "
            "callback, so the LR cannot change every batch. Compile with steps_per_execution=1 for the range "
            f"test. Received: steps_per_execution={spe}"
        )
    gas = getattr(opt, "gradient_accumulation_steps", None)
    if gas not in (None, 1):
        raise ValueError(
            "Argument `model` has an optimizer with `gradient_accumulation_steps` > 1: its LR applies per "
            "accumulated step while callbacks count micro-batches. Use an optimizer without accumulation for "
            f"the range test. Received: gradient_accumulation_steps={gas}"
        )
    return opt


def _metric_key(model: Any, metric: Any) -> str | None:
    """The key of the compiled metric in ``fit``'s logs, or None."""
    if metric is None:
        return None
    if not isinstance(metric, str) or not metric:
        raise fail("metric", "must be the name of a metric the model was compiled with (e.g. 'accuracy'), or None", metric)
    return metric


# ----------------------------------------------------------------------------- validation subset


def _val_subset(validation_data: Any, batch_size: int | None, val_batches: int) -> list[tuple[Any, ...]]:
    """The first ``val_batches`` batches of the validation data, taken once."""
    if isinstance(validation_data, tuple):
        if not 2 <= len(validation_data) <= 3:
            raise fail("validation_data", "must be (x, y), (x, y, sample_weight) or an iterable of batches", f"a tuple of {len(validation_data)}")
        bs = batch_size or 32
        n = len(validation_data[0])
        return [tuple(a[i : i + bs] for a in validation_data) for i in range(0, min(n, bs * val_batches), bs)]
    if isinstance(validation_data, keras.utils.PyDataset):
        out = [tuple(validation_data[i]) for i in range(min(len(validation_data), val_batches))]
    elif isinstance(validation_data, Iterable):
        out = []
        for b in validation_data:
            out.append(tuple(b) if isinstance(b, (tuple, list)) else (b,))
            if len(out) >= val_batches:
                break
    else:
        raise fail("validation_data", "must be (x, y), (x, y, sample_weight) or an iterable of batches", type(validation_data).__name__)
    return out


# ----------------------------------------------------------------------------- the engine


class _RawLogs(keras.callbacks.CallbackList):
    """fit's callback list, handing each batch's logs to the callbacks as the backend's arrays. The
    default list first converts them to Python floats, which waits for every step to finish on the
    device: a host sync per step that plain ``fit`` (no callbacks) does not pay. The sweep keeps the
    arrays and reads them back once per chunk."""

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        for callback in self.callbacks:
            callback.on_train_batch_end(batch, logs=logs)


class _SweepCallback(keras.callbacks.Callback):
    """What one sweep step is in Keras: the LR in, the metrics reset, the batch's loss out."""

    def __init__(self, sweep: Sweep, spec: SweepSpec, metric: str | None, metric_on: str | None, val: list[Any]) -> None:
        super().__init__()
        self.sweep, self.spec, self.metric, self.metric_on, self.val = sweep, spec, metric, metric_on, val
        self.batches = 0  # batches run
        self.point = 0  # the current point
        self.passes = 0  # epochs that ran at least one batch
        self._in_epoch = 0
        # JAX: fit's own compiled step, wrapped (see _step); the LR variable's place among the optimizer's
        # variables and the metric variables' reset values; what the next step must set
        self._step_fn: Any = None
        self._slots: tuple[int, int, list[Any]] | None = None  # LR's index, optimizer variables, metric resets
        self._next_lr: float | None = None

    def on_train_begin(self, logs: Any = None) -> None:
        model = self._model  # not .model: on JAX that property syncs the whole state
        if _backend() == "jax" and callable(getattr(model, "train_function", None)) and callable(getattr(model, "_get_jax_state", None)):
            self._slots = _jax_slots(model)
            # the state fit is about to build, read without side effects: where it is laid out as this
            # expects, _step sets the LR and the metrics in it; otherwise each batch goes through the variables
            if self._slots is not None and self._known_layout(model._get_jax_state(
                    trainable_variables=True, non_trainable_variables=True, optimizer_variables=True, metrics_variables=True)):
                self._step_fn = model.train_function
                model.train_function = self._step

    def on_train_end(self, logs: Any = None) -> None:
        self.release()

    def release(self) -> None:
        """Give fit's compiled step back to the model (at the end of fit, and on any exit)."""
        if self._step_fn is not None:
            self._model.train_function = self._step_fn
            self._step_fn = None

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._in_epoch = 0

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        if self._in_epoch == 0:
            self.passes += 1
        due = self.batches % self.spec.steps_per_lr == 0
        if self._step_fn is not None:  # JAX: _step puts them into the state it passes on
            self._next_lr = float(self.sweep.lrs[self.point]) if due else None
            return
        model = self.model  # on JAX this property syncs the state, so the assignments below are seen
        if due:
            model.optimizer.learning_rate.assign(self.sweep.lrs[self.point])
        for m in model.metrics:
            m.reset_state()

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        logs = logs or {}
        self._in_epoch += 1
        self.batches += 1
        self.sweep.record_loss(logs["loss"])
        if self.metric is not None and self.metric not in logs:
            raise ValueError(
                f"Argument `metric` must name a metric the model was compiled with (model.compile(..., "
                f"metrics=[{self.metric!r}])): it is read per batch from fit's logs. Received: metric="
                f"{self.metric!r}, logs {sorted(logs)}"
            )
        if self.metric is not None and self.metric_on == "train":
            self.sweep.record_metric(logs[self.metric])
        if self.batches % self.spec.steps_per_lr:
            return
        i = self.point
        if self.sweep.val_due(i):
            self.sweep.record_val(i, *self._evaluate())
        self.point += 1
        if self.sweep.point_done() or self.point >= self.spec.num_steps:
            self.model.stop_training = True

    def _known_layout(self, state: Any) -> bool:
        """Whether ``state`` is (trainable, non-trainable, optimizer, metric variables) as Keras 3's JAX
        trainer lays it out, with as many optimizer and metric values as the model has."""
        assert self._slots is not None
        _, n_opt, resets = self._slots
        return (isinstance(state, (tuple, list)) and len(state) == 4 and all(isinstance(p, (tuple, list)) for p in state)
                and len(state[2]) == n_opt and len(state[3]) == len(resets))

    def _step(self, state: Any, data: Any) -> Any:
        """fit's compiled JAX step, with this batch's LR and the metrics' reset values put into the state
        it is given. Keras' JAX fit passes the state from step to step as arrays and writes it back to
        the variables only when something asks; assigning to the variables (the other backends' way)
        would cost a full write-back and re-read of every variable each step. The compiled function is
        fit's own, unchanged: nothing is traced again."""
        assert self._slots is not None and self._step_fn is not None
        i_lr, _, resets = self._slots
        if not self._known_layout(state):  # on_train_begin saw this layout in the state fit builds
            raise RuntimeError(f"lrscope: Keras' JAX fit passed a training state laid out otherwise than at its start "
                               f"(keras {keras.__version__}); please report it")
        import jax.numpy as jnp

        opt_vars = list(state[2])
        if self._next_lr is not None:
            opt_vars[i_lr] = jnp.asarray(self._next_lr, dtype=opt_vars[i_lr].dtype)
        # fresh arrays each step: the compiled step donates the buffers it is given
        state = (state[0], state[1], opt_vars, [jnp.array(v) for v in resets])
        self._next_lr = None
        return self._step_fn(state, data)

    def _evaluate(self) -> tuple[float, float | None]:
        model = self.model
        model.reset_metrics()
        logs: dict[str, Any] = {}
        for b in self.val:
            logs = model.test_on_batch(*b, return_dict=True)
        model.reset_metrics()
        m = logs.get(self.metric) if self.metric is not None and self.metric_on == "val" else None
        return float(logs["loss"]), None if m is None else float(m)


def _jax_slots(model: Any) -> tuple[int, int, list[Any]] | None:
    """Where the LR variable sits among the optimizer's variables, how many those are, and every metric
    variable's value after ``reset_state`` (read at the start of fit, which resets the metrics then
    anyway); None where the LR is not one of the optimizer's variables."""
    opt = model.optimizer
    lr = getattr(opt, "_learning_rate", None)
    i_lr = next((i for i, v in enumerate(opt.variables) if v is lr), None)
    if i_lr is None:
        return None
    for m in model.metrics:
        m.reset_state()
    return i_lr, len(opt.variables), [np.array(keras.ops.convert_to_numpy(v.value), copy=True) for v in model.metrics_variables]


def _to_host(values: Any) -> np.ndarray:
    return np.asarray([float(keras.ops.convert_to_numpy(v)) for v in values], dtype=np.float64)


def _is_array(x: Any) -> bool:
    """Arrays (NumPy, backend tensors, a dict or list of them) as opposed to batch iterables."""
    if isinstance(x, dict):
        return all(_is_array(v) for v in x.values()) and bool(x)
    if isinstance(x, (list, tuple)):
        return all(_is_array(v) for v in x) and bool(x)
    return hasattr(x, "shape") and hasattr(x, "__len__") and not isinstance(x, Iterator)


def _fit_plan(x: Any, y: Any, batch_size: int | None, num_batches: int) -> tuple[int, int | None]:
    """``fit``'s epochs (an upper bound: the callback stops it) and steps_per_epoch for the data."""
    if _is_array(x):
        first = next(iter(x.values())) if isinstance(x, dict) else x[0] if isinstance(x, (list, tuple)) else x
        per_epoch = math.ceil(len(first) / (batch_size or 32))
        return math.ceil(num_batches / max(per_epoch, 1)), None
    if isinstance(x, Iterator):  # a one-shot generator: one pass, as many batches as it yields
        return 1, num_batches
    return num_batches, None  # re-iterable data of unknown length: each epoch is one pass


def range_test(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    batch_size: int | None = None,
    validation_data: Any = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = DEFAULT_NUM_STEPS,
    mode: Literal["exp", "linear"] = "exp",
    steps_per_lr: int = 1,
    val_batches: int = 4,
    val_every: int = 1,
    metric: str | None = None,
    metric_on: Literal["auto", "train", "val"] = "auto",
    diverge_threshold: float | None = DEFAULT_DIVERGE_THRESHOLD,
    smooth_beta: float = 0.98,
    chunk_size: int = 16,
    shuffle: bool | None = None,
    sample_weight: Any = None,
    restore: bool = True,
    progress: bool | None = None,
    on_interrupt: Literal["raise", "return"] = "raise",
) -> RangeTestResult:
    """Run an LR range test (Smith 2017, §3.3) on a compiled Keras 3 model, on any backend.

    The LR grows from ``start_lr`` to ``end_lr`` over ``num_steps`` batches (geometrically or
    linearly) while ``model.fit`` trains on ``x``/``y`` with the model's own optimizer, loss and
    metrics; each batch's own loss is recorded (not the epoch's running mean). The sweep stops on
    divergence (smoothed loss > ``diverge_threshold`` x its best) or a NaN/inf loss. Afterwards
    every model, optimizer and metric variable and the RNGs are restored bit for bit, also on an
    exception or Ctrl-C.

    Args:
        model: a compiled ``keras.Model`` (``model.compile(optimizer, loss, metrics)``). Its optimizer
            must have a float learning rate, ``steps_per_execution=1`` and no gradient accumulation
            (each is refused with what to do otherwise).
        x: anything ``model.fit`` takes: NumPy arrays, a ``tf.data.Dataset``, a
            ``keras.utils.PyDataset``, a Python generator, a torch ``DataLoader``. Data shorter than the
            sweep is cycled (a note in the result); a one-shot generator that runs dry ends the test
            with stop reason ``"data exhausted"``.
        y: targets when ``x`` is an array.
        batch_size: for arrays (``fit``'s default 32 otherwise).
        validation_data: ``(x_val, y_val)`` or an iterable of batches. Only its first ``val_batches``
            batches are used, a fixed subset taken once, evaluated with ``test_on_batch`` after every
            ``val_every``-th point into ``result.val_losses`` (NaN where not evaluated): the more honest
            curve, as the Keras LR-finder article reads it.
        start_lr, end_lr, num_steps, mode: the sweep (``num_steps`` default 100).
        steps_per_lr: batches each LR is held for; the point's loss is their mean.
        val_batches, val_every: the validation subset's size (batches) and cadence (points).
        metric: the name of a compiled metric (e.g. ``"accuracy"``) to record per point in
            ``result.metrics`` (the accuracy-vs-LR test that bounds a cyclical schedule).
        metric_on: ``"train"``, ``"val"`` or ``"auto"`` (``"val"`` when ``validation_data`` is given).
        diverge_threshold, smooth_beta, chunk_size: the stop rule, as in ``lrscope.torch.range_test``.
        shuffle: passed to ``fit``; None (default) shuffles arrays as ``fit`` does and leaves other data
            in its own order (fit warns that it ignores ``shuffle`` for generators). The RNGs are restored after.
        sample_weight: passed to ``fit``.
        restore: False leaves the model as the sweep left it.
        progress: a tqdm bar on stderr (None: only when a person watches).
        on_interrupt: on Ctrl-C, ``"raise"`` (restore, re-raise) or ``"return"`` (restore, return the
            points so far with stop reason ``"interrupted"``).

    Returns:
        A :class:`~lrscope.result.RangeTestResult` (``config["engine"] == "keras"``): suggestions,
        plots, JSON, the report and the CLI are shared with the PyTorch engine.

    Raises:
        ValueError: a bad argument, named with the rule and the value, before anything is touched.
        KeyboardInterrupt: re-raised after restoring unless ``on_interrupt="return"``.
        Exception: anything the model, loss or data raises, after restoring.

    Example:
        >>> result = lrscope.keras.range_test(model, x_train, y_train, batch_size=64,  # doctest: +SKIP
        ...                                   validation_data=(x_val, y_val), end_lr=1.0)
        >>> result.suggest(source="val").lr                                         # doctest: +SKIP
    """
    opt = _check_model(model)
    spec = check_sweep(
        start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode, steps_per_lr=steps_per_lr,
        diverge_threshold=diverge_threshold, smooth_beta=smooth_beta, chunk_size=chunk_size,
        val_batches=val_batches, val_every=val_every, progress=progress, on_interrupt=on_interrupt,
    )  # fmt: skip
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, 1)
    key = _metric_key(model, metric)
    if metric_on not in ("auto", "train", "val"):
        raise fail("metric_on", "must be 'auto', 'train' or 'val'", metric_on)
    if metric_on == "val" and validation_data is None:
        raise ValueError("Argument `metric_on` is 'val' but no `validation_data` was given. Received: metric_on='val', validation_data=None")
    on = None if key is None else (("val" if validation_data is not None else "train") if metric_on == "auto" else metric_on)
    if not opt.built:
        opt.build(model.trainable_variables)  # as fit would on its first step: slots start at zero
    sweep = Sweep(spec, to_host=_to_host, has_val=validation_data is not None, metric_name=key, data_name="x")
    epochs, steps_per_epoch = _fit_plan(x, y, batch_size, spec.num_steps * spec.steps_per_lr)
    if shuffle is None:
        shuffle = _is_array(x)
    with preserve_state(model, restore=restore):
        val = _val_subset(validation_data, batch_size, spec.val_batches) if validation_data is not None else []
        if validation_data is not None and not val:
            raise ValueError("Argument `validation_data` yielded no batches. Received: an empty validation_data")
        cb = _SweepCallback(sweep, spec, key, on, val)
        with sweep.running(lambda: cb.batches), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*ran out of data.*")
            try:
                callbacks = _RawLogs([cb], add_history=True, model=model, verbose=0, epochs=epochs)
                model.fit(x, y, batch_size=batch_size, epochs=epochs, steps_per_epoch=steps_per_epoch, shuffle=shuffle,
                          sample_weight=sample_weight, callbacks=callbacks, verbose=0)  # fmt: skip
            finally:
                cb.release()
            if cb.point < spec.num_steps and not model.stop_training:
                raise DataExhausted  # fit ended on its own: a one-shot generator ran dry
    if sweep.interrupt is not None:
        raise sweep.interrupt
    sweep.check_ran(cb.batches, spec.steps_per_lr)
    config = {
        "engine": "keras",
        "keras_version": keras.__version__,
        "backend": _backend(),
        "optimizer": type(opt).__name__,
        # SGD's momentum and Nesterov flag: the learned reader's optimizer family needs them
        "momentum": float(opt.momentum) if isinstance(getattr(opt, "momentum", None), (int, float)) else None,
        "nesterov": opt.nesterov if isinstance(getattr(opt, "nesterov", None), bool) else None,
        "batch_size": batch_size or (32 if _is_array(x) else None),
        "metric": key,
        "metric_on": on,
        "shuffle": bool(shuffle),
    }
    return sweep.result(config, (), batches=cb.batches, passes=cb.passes, restored=restore)
